#!/usr/bin/env bash
# Each package's own statement coverage: the share of its statements its
# own tests run (not what other packages' tests reach), weighted by
# statements, with the goals of the core packages. Needs the README's
# PostgreSQL.
#   scripts/cover.sh            every package
#   scripts/cover.sh ./store    some
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || mapfile -t pkgs < <(go list ./... | grep -v -e /cmd/ -e /e2e -e /internal/ -e test$)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
goal() {
  case "$1" in
    */credentials|*/store|*/store/sqlstore|*/org|*/otpcodes|*/vault|*/vault/*) echo 80 ;;
    */httpapi) echo 70 ;;
    *) echo 0 ;;
  esac
}
status=0
printf '%-50s %9s %7s %s\n' package statements covered goal
for p in "${pkgs[@]}"; do
  prof="$dir/$(echo "$p" | tr '/.' '__').out"
  go test -count=1 -covermode=set -coverprofile="$prof" "$p" >/dev/null 2>&1 || { echo "$p: tests failed" >&2; status=1; continue; }
  [ -s "$prof" ] || continue
  read -r total covered < <(awk 'NR > 1 { split($0, f, " "); n = f[2]; t += n; if (f[3] > 0) c += n } END { print t + 0, c + 0 }' "$prof")
  [ "$total" -gt 0 ] || continue
  pct=$(awk -v c="$covered" -v t="$total" 'BEGIN { printf "%.1f", 100 * c / t }')
  g=$(goal "$(go list "$p")")
  mark=""
  if [ "$g" -gt 0 ]; then
    if awk -v p="$pct" -v g="$g" 'BEGIN { exit !(p >= g) }'; then mark="≥ $g% ok"; else mark="< $g% MISSED"; status=1; fi
  fi
  printf '%-50s %9d %6s%% %s\n' "$(go list "$p" | sed 's#github.com/credvault/credvault#.#')" "$total" "$pct" "$mark"
done
exit $status
