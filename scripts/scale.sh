#!/usr/bin/env bash
# Scale measurements: builds an organization of ROWS credentials (default
# 1,000,000) and one of 10,000 in a throw-away PostgreSQL schema with SQL
# generate_series, measures list, search and paging through the REST API
# at both sizes (interleaved, 3 rounds of 200 requests), prints p50/p99 and
# the ratio, and drops the schema. Needs the PostgreSQL of the README's test
# section.
#   scripts/scale.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
CREDVAULT_SCALE_ROWS="${1:-1000000}" go test -run '^TestScale$' -count=1 -v -timeout 60m ./e2e 2>&1 \
  | grep -v '^=== RUN' | sed -e 's/^ *scale_test.go:[0-9]*: //'
