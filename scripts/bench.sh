#!/usr/bin/env bash
# The in-process figures of docs/BENCHMARKS.md, each a ratio to a
# reference measured in the same run:
#   - GetWithSecret / the direct GET of the same item from the same service
#     (BenchmarkHotPathPaired: the two alternate in every goroutine), quiet
#     and beside a CPU-bound background load (two busy shell loops), goal
#     ≤ 1.2× under load;
#   - the REST totp-code request / the same direct GET (BenchmarkHotPath);
#   - a TOTP code / the otp library's, and the service answer's decode.
# ROUNDS (default 5) separate runs each; medians are printed. Needs the
# README's PostgreSQL. The wire figures (real processes, 64 connections,
# 1,000 organizations) are scripts/load.sh's.
#   scripts/bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
out=$(mktemp)
hogs=()
cleanup() { kill "${hogs[@]}" 2>/dev/null || true; rm -f "$out"; }
trap cleanup EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
field() { awk -v unit="$1" '{ for (i = 2; i < NF; i++) if ($(i + 1) == unit) print $i }'; }

go test -c -o "$out.e2e" ./e2e >/dev/null
go test -c -o "$out.vault" ./vault >/dev/null
trap 'cleanup; rm -f "$out".*' EXIT

for _ in $(seq "$rounds"); do
  "$out.e2e" -test.run '^$' -test.bench '^BenchmarkHotPathPaired$' -test.benchtime 2s | grep '^Benchmark' >>"$out.quiet"
done
for _ in 1 2; do sh -c 'while :; do :; done' & hogs+=($!); done
for _ in $(seq "$rounds"); do
  "$out.e2e" -test.run '^$' -test.bench '^BenchmarkHotPathPaired$' -test.benchtime 2s | grep '^Benchmark' >>"$out.loaded"
done
kill "${hogs[@]}" 2>/dev/null || true
hogs=()
for _ in $(seq "$rounds"); do
  "$out.e2e" -test.run '^$' -test.bench '^BenchmarkHotPath$' -test.benchtime 2s | grep '^BenchmarkHotPath/' >>"$out.rest"
  "$out.vault" -test.run '^$' -test.bench 'TOTP' -test.benchtime 20000x | grep '^Benchmark' >>"$out.totp"
done

ok=0
report() { # name ratio [goal: ≤ N]
  local goal="" mark=""
  if [ $# -gt 2 ]; then
    if awk -v r="$2" -v g="$3" 'BEGIN { exit !(r <= g) }'; then mark="✓"; else mark="✗"; ok=1; fi
    goal="goal ≤ $3 $mark"
  fi
  printf '  %-62s %6.2f×  %s\n' "$1" "$2" "$goal"
}
echo "medians of $rounds runs each"
report "GetWithSecret / direct GET, quiet" "$(field ratio/op <"$out.quiet" | median)"
report "GetWithSecret / direct GET, beside 2 busy loops" "$(field ratio/op <"$out.loaded" | median)" 1.2
d=$(grep '/direct' "$out.rest" | field ns/op | median)
r=$(grep '/REST-totp-code' "$out.rest" | field ns/op | median)
report "REST totp-code / direct GET (in process, httptest)" "$(awk -v a="$r" -v b="$d" 'BEGIN { print a / b }')"
t=$(grep 'TOTPCode' "$out.totp" | field ns/op | median)
tr=$(grep 'TOTPReference' "$out.totp" | field ns/op | median)
report "TOTP code / the otp library's (crypto/hmac)" "$(awk -v a="$t" -v b="$tr" 'BEGIN { print a / b }')"
printf '  (direct GET %s ns, REST totp-code %s ns, TOTP code %s ns, library %s ns)\n' "$d" "$r" "$t" "$tr"
exit $ok
