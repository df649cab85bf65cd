#!/usr/bin/env bash
# Test coverage of each package (needs the README's PostgreSQL and, for the
# browser tests, Chromium). Prints one line per package and the total.
#   scripts/cover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -count=1 -coverpkg=./... -coverprofile="$out" ./... | grep -v 'no test files' || true
go tool cover -func="$out" | awk -F'\t+' '
  /^total:/ { total = $NF; next }
  { split($1, a, ":"); file = a[1]; n = split(file, parts, "/"); pkg = file; sub("/[^/]*$", "", pkg)
    gsub("%", "", $NF); sum[pkg] += $NF; cnt[pkg]++ }
  END { for (p in sum) printf "%-55s %6.1f%%\n", p, sum[p] / cnt[p]; printf "%-55s %7s\n", "total (statements)", total }' | sort
