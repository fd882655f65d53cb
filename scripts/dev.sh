#!/usr/bin/env bash
# The local loop: build (fast, no wasm-opt), apply the ledger migrations, start the mock CAPI and `wrangler dev`
# with the demo shop page. Everything listens on 127.0.0.1; no request leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKER_PORT="${WORKER_PORT:-8787}"
MOCK_PORT="${MOCK_PORT:-9999}"
STATE=.dev-state
# wrangler.toml's build command: rebuilds on a change keep the last good build when capi.toml has errors.
export CAPI_EDGE_BUILD=--watch
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false

bash scripts/build.sh --dev
node_modules/.bin/wrangler d1 migrations apply capi-edge-ledger -c wrangler.admin.toml --local --persist-to "$STATE" >/dev/null
echo "[dev] ledger migrations applied (state in $STATE/)"

node mock/capi-mock.mjs --port "$MOCK_PORT" &
MOCK_PID=$!
# capi.toml errors found while wrangler rebuilds (scripts/build.sh --watch), printed here as they happen.
export CAPI_EDGE_CHECK_LOG="$STATE/capi-toml-errors.log"
: > "$CAPI_EDGE_CHECK_LOG"
tail -n0 -F "$CAPI_EDGE_CHECK_LOG" 2>/dev/null &
TAIL_PID=$!
WRANGLER_PID=""
cleanup() {
  [ -n "$WRANGLER_PID" ] && kill "$WRANGLER_PID" 2>/dev/null || true
  kill "$MOCK_PID" "$TAIL_PID" ${WATCH_PID:-} 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The dashboard and preview traces need a debug token: a random one per state folder, kept across runs so the
# dashboard's address stays the same.
[ -s "$STATE/debug-token" ] || od -An -N12 -tx1 /dev/urandom | tr -d ' \n' > "$STATE/debug-token"
DEBUG_TOKEN=$(cat "$STATE/debug-token")
PREFIX=$(sed -n 's/^path_prefix *= *"\([^"]*\)".*/\1/p' capi.toml | head -n1)
PREFIX=${PREFIX:-/r}

# capi.toml is published to the local config store on every save (checked first; a file with errors is never
# stored, and the worker keeps the last good version). The worker re-reads the live version every second here.
publish() {
  cargo run -q --release --bin capi-edge -- publish capi.toml --local --persist-to "$STATE" --if-changed \
    --by "make dev" --message "${1:-saved in make dev}" 2>&1 | sed 's/^/[publish] /'
}
watch_config() {
  local seen now
  seen=$(stat -c %Y capi.toml 2>/dev/null || echo 0)
  publish "make dev started"
  while sleep 1; do
    now=$(stat -c %Y capi.toml 2>/dev/null || echo 0)
    if [ "$now" != "$seen" ]; then
      seen=$now
      publish
    fi
  done
}
watch_config &
WATCH_PID=$!

echo "[dev] demo shop:  http://127.0.0.1:$WORKER_PORT/   (click Buy; the mock CAPI prints the hashed Purchase)"
echo "[dev] dashboard:  http://127.0.0.1:$WORKER_PORT$PREFIX/dashboard#token=$DEBUG_TOKEN"
echo "[dev] preview:    curl -H 'x-capi-debug: $DEBUG_TOKEN' -H 'content-type: application/json' -d '{\"event\":\"Lead\"}' http://127.0.0.1:$WORKER_PORT$PREFIX/e"
echo "[dev] mock CAPI:  http://127.0.0.1:$MOCK_PORT/__mock/events"
echo "[dev] saving capi.toml publishes it (capi-edge versions --local lists them); saving code rebuilds"
# Local stand-ins for the Worker secrets (production sets them with `wrangler secret put`), for both workers:
# intake (wrangler.toml, served on the port) and the admin worker (consumer, scheduled job, dashboard API), which
# reads them from a .dev.vars beside a copy of its config (scripts/admin-dev-config.mjs says why).
VARS=(SERVE_DEMO=true "UPSTREAM_ORIGIN=http://127.0.0.1:$MOCK_PORT"
  OPENAI_CAPI_KEY=dev-openai-key CAPI_ACCESS_TOKEN=dev-capi-token META_ACCESS_TOKEN=dev-meta-token TIKTOK_ACCESS_TOKEN=dev-tiktok-token
  "DEBUG_TOKEN=$DEBUG_TOKEN" CONFIG_CHECK_SECONDS=1 "ALERT_WEBHOOK_URL=http://127.0.0.1:$MOCK_PORT/alerts/slack"
  BACKEND_API_KEY=dev-backend-key SHOPIFY_WEBHOOK_SECRET=dev-shopify-secret WOOCOMMERCE_WEBHOOK_SECRET=dev-woo-secret)
ADMIN_CONFIG=$(node scripts/admin-dev-config.mjs "$STATE/admin" "${VARS[@]}")
VAR_FLAGS=()
for v in "${VARS[@]}"; do VAR_FLAGS+=(--var "${v%%=*}:${v#*=}"); done
echo "[dev] alerts and retention: curl -X POST -H 'authorization: Bearer $DEBUG_TOKEN' http://127.0.0.1:$WORKER_PORT$PREFIX/api/scheduled"
node_modules/.bin/wrangler dev -c wrangler.toml -c "$ADMIN_CONFIG" --ip 127.0.0.1 --port "$WORKER_PORT" --persist-to "$STATE" \
  --log-level "${LOG_LEVEL:-info}" "${VAR_FLAGS[@]}" &
WRANGLER_PID=$!
wait "$WRANGLER_PID"
