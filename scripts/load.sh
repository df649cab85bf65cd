#!/usr/bin/env bash
# The wire figures of docs/BENCHMARKS.md: REST totp-code against a direct
# GET of the same item from the same reference service, and the metadata
# GET against /healthz, at one connection and at CONNS (64), for one
# organization and for ORGS (1,000) organizations each on its own service
# port; req/s, p50, p99, upstream connections per 1,000 requests, each
# ratio with its goal. Builds credvault, runs it on a throw-away database
# of the README's PostgreSQL, and removes everything it made. Exits 1 when
# a goal is missed. Extra flags go to the program (go run ./e2e/load -h).
#   scripts/load.sh [-rounds 3] [-duration 4s] [-orgs 1000] [-cpuprofile FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./e2e/load "$@"
