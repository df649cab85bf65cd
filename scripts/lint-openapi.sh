#!/usr/bin/env bash
# Lints the OpenAPI document with an independent linter (Redocly CLI, from
# the npm registry): it must report 0 errors. The remaining warnings are
# the probes and pages (/healthz, /readyz, /metrics, /openapi.json, the
# pages), whose GET answers no 4XX.
#   scripts/lint-openapi.sh [REDOCLY LINT OPTIONS, e.g. --format=stylish]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
npx --yes @redocly/cli@1.25.0 lint "$@" "$OLDPWD/httpapi/openapi.json"
