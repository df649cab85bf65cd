#!/usr/bin/env bash
# Skyvern's own web app, built from its source, driven in Chromium against
# credvault (e2e/skyvern_webapp_browser_test.go): the credentials page with
# its five tabs shows no error box, a pushed magic link holding digits is
# listed on the Magic Links tab, a password made in the app is stored.
#
# It needs a Skyvern checkout (or its bare git directory) and npm; it
# builds skyvern-frontend at the commit credvault follows into a temporary
# directory (npm ci with the project's own lock file and .npmrc, which runs
# no install scripts; vite build) and points the test at the bundle. CI does
# not run it: a fresh machine has no Skyvern source. About 2 minutes.
#   scripts/skyvern-webapp.sh /path/to/skyvern            (COMMIT=07222e7a)
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:?usage: scripts/skyvern-webapp.sh SKYVERN_CHECKOUT_OR_GIT_DIR}"
commit="${COMMIT:-07222e7a}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -d "$src/.git" ]; then gitdir="$src/.git"; else gitdir="$src"; fi
git --git-dir="$gitdir" archive "$commit" skyvern-frontend | tar -x -C "$work"
cd "$work/skyvern-frontend"
npm ci --no-audit --no-fund --loglevel=error
# The API's origin is a placeholder the test replaces with its server's
# origin when it serves the bundle (the same trick as Skyvern's own
# entrypoint-skyvernui.sh); 65534 is a port nothing listens on.
VITE_API_BASE_URL=http://127.0.0.1:65534/api/v1 \
VITE_WSS_BASE_URL=ws://127.0.0.1:65534/api/v1 \
VITE_ARTIFACT_API_BASE_URL=http://127.0.0.1:65534 \
VITE_ENVIRONMENT=local VITE_ENABLE_2FA_NOTIFICATIONS=false \
  npx vite build --logLevel error
cd "$OLDPWD"
CREDVAULT_SKYVERN_DIST="$work/skyvern-frontend/dist" \
  go test -count=1 -v -run '^TestSkyvernWebAppInChromium$' ./e2e
