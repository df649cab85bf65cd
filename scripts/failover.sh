#!/usr/bin/env bash
# The proof that credvault survives its faults with real processes, in
# about three minutes, on loopback only: a PostgreSQL primary and a
# pg_basebackup -R standby (Debian's server binaries, temporary
# directories, free ports), the reference credential service behind a Go
# TCP proxy, and two `credvault serve` processes on the multi-host URL,
# under 48 requests/s of mixed load (e2e/failover, on vegeta) across
# 20 organizations. Faults, one after another: kill -9 of credvault with
# creates in flight (then a restart), pg_ctl stop -m immediate of the
# primary (then promote), kill -9 of the reference service (then a
# restart), and a 10-second cut of the service. Then, with no reconcile,
# it waits up to 2 minutes for the outbox and the create recovery and
# checks every acknowledged write. It prints
#   failover: acked N, lost 0, orphans 0, dangling 0, bad_5xx 0, recovery_s X
# and exits 1 on any loss. It stops what it started by PID and removes its
# directories (FAILOVER_KEEP=1 keeps them, with the processes' logs).
# --tls runs it over HTTPS: a CA made for the run, credvault serving TLS,
# mTLS to the service, and both kinds of process rotating their
# certificate by SIGHUP under the load (docs/RELIABILITY.md).
#   scripts/failover.sh [--tls]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./e2e/failover "$@"
