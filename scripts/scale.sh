#!/usr/bin/env bash
# Scale measurements, each figure against its reference in the same run:
#   1. list, search and paging through the REST API in an organization of
#      ROWS credentials (default 1,000,000) against one of 10,000, built
#      with SQL generate_series in a throw-away schema (interleaved, 3
#      rounds of 200 requests; p50/p99 and their ratios, goals, and
#      EXPLAIN (ANALYZE, BUFFERS) of both searches at both sizes);
#   2. credvault serve's resident memory at ORGS organizations (default
#      10000,100000), every one used once, then after ROTATE (3m) and, for
#      the first count, ROTATE_LONG (10m) of rotating traffic; and its
#      start-up time against the same on an empty database.
# Needs the PostgreSQL of the README's test section. Exits 1 when a goal is
# missed. About 20 minutes with the defaults.
#   scripts/scale.sh [ROWS]     (ORGS=... ROTATE=... ROTATE_LONG=...; ORGS= skips part 2)
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
CREDVAULT_SCALE_ROWS="${1:-1000000}" go test -run '^TestScale$' -count=1 -v -timeout 60m ./e2e 2>&1 \
  | grep -v '^=== RUN' | sed -e 's/^ *scale_test.go:[0-9]*: //'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
orgs="${ORGS-10000,100000}"
if [ -n "$orgs" ]; then
  go run ./e2e/load -rss "$orgs" -rotate "${ROTATE:-3m}" -rotate-long "${ROTATE_LONG:-10m}" || status=1
fi
exit $status
