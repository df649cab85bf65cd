#!/usr/bin/env bash
# The hot-path benchmarks of docs/BENCHMARKS.md, as ratios to their
# reference measured in the same process: the direct keep-alive GET of the
# same item from the same service, GetWithSecret through the Go API, and the
# whole REST totp-code request. ROUNDS (default 5) separate runs interleave
# the three; the medians and ratios are printed. Needs the README's
# PostgreSQL.
#   scripts/bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
  go test -run '^$' -bench '^BenchmarkHotPath$' -benchtime 2s -count 1 ./e2e | grep '^BenchmarkHotPath/' >>"$out"
done
awk '
  { name=$1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkHotPath\//, "", name); v[name]=v[name] " " $3 }
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    d = median(v["direct"])
    printf "%-16s %12s %8s\n", "benchmark", "median ns/op", "ratio"
    for (k in v) printf "%-16s %12.0f %7.2fx\n", k, median(v[k]), median(v[k]) / d
  }' "$out"
