#!/usr/bin/env bash
# Runs every Go native fuzz target for a while (default 30s each):
#   scripts/fuzz.sh [DURATION]     e.g. scripts/fuzz.sh 2m
# The seed corpora already run in the README's test command; this explores
# beyond them. FuzzHTTPHandler needs PostgreSQL (as the tests do). A failing
# input is written under the package's testdata/fuzz/ by `go test` and
# reproduced with `go test -run 'FuzzName/ID' ./pkg`.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-30s}"
status=0
while read -r pkg name; do
  echo "== $pkg $name ($time)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" "$pkg" || status=1
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  dir=$(dirname "$f")
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | sed "s|^|$dir |"
done | sort)
exit $status
