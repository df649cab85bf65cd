#!/usr/bin/env bash
# Load test of the built binaries on loopback: credvault on PostgreSQL, the
# reference credential-service on embedded SQLite, wrk for 10 s per route.
# Needs: PostgreSQL on 127.0.0.1:5432 (trust), wrk (apt-get install wrk).
# Everything stays on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; \
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS credvault_load" test >/dev/null 2>&1 || true; }
trap cleanup EXIT

go build -o "$work/credvault" ./cmd/credvault
go build -o "$work/credential-service" ./cmd/credential-service
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS credvault_load" -c "CREATE DATABASE credvault_load" test
"$work/credvault" keys init --out "$work/ks.json" >/dev/null

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/credvault_load?sslmode=disable" \
  CREDVAULT_KEYSET_FILE="$work/ks.json" CREDVAULT_ALLOWED_HOSTS=127.0.0.1 \
  CREDVAULT_ADDR=127.0.0.1:8090 CREDVAULT_LOG_LEVEL=warn
token=load-token-0123456789abcdef
"$work/credvault" serve 2>"$work/cv.log" & pids+=($!)
env -u DATABASE_URL CREDENTIAL_SERVICE_ADDR=127.0.0.1:8091 CREDENTIAL_SERVICE_TOKENS=$token \
  CREDENTIAL_SERVICE_DATA_DIR="$work/cs" "$work/credential-service" 2>"$work/cs.log" & pids+=($!)
for _ in $(seq 100); do
  curl -sf 127.0.0.1:8090/healthz >/dev/null && curl -sf 127.0.0.1:8091/healthz >/dev/null && break
  sleep 0.2
done

key=$("$work/credvault" org create --name Load 2>/dev/null | sed -E 's/.*"api_key":"([^"]+)".*/\1/')
curl -sf -o /dev/null -X POST 127.0.0.1:8090/api/v1/credentials/custom_credential/create -H "x-api-key: $key" \
  -d "{\"config\":{\"api_base_url\":\"http://127.0.0.1:8091/api/v1/credentials\",\"api_token\":\"$token\"}}"
id=$(curl -sf -X POST 127.0.0.1:8090/api/v1/credentials -H "x-api-key: $key" \
  -d '{"name":"Bank","credential_type":"password","credential":{"username":"a@example.com","password":"pw","totp":"JBSWY3DPEHPK3PXP","totp_type":"authenticator"}}' \
  | sed -E 's/.*"credential_id":"([^"]+)".*/\1/')
for i in $(seq 15); do
  curl -sf -o /dev/null -X POST 127.0.0.1:8090/api/v1/credentials -H "x-api-key: $key" \
    -d "{\"name\":\"S$i\",\"credential_type\":\"secret\",\"credential\":{\"secret_value\":\"v$i\"}}"
done

for path in "/api/v1/credentials/$id" "/api/v1/credentials?page_size=10" "/api/v1/credentials/$id/totp-code"; do
  echo "== GET $path"
  wrk -t2 -c16 -d10s --latency -H "x-api-key: $key" "http://127.0.0.1:8090$path" \
    | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
done
echo "credvault RSS after load: $(ps -o rss= -p "${pids[0]}") KiB"
