#!/usr/bin/env bash
# The local loop: build (fast, no wasm-opt), apply the ledger migrations, start the mock CAPI and `wrangler dev`
# with the demo shop page. Everything listens on 127.0.0.1; no request leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKER_PORT="${WORKER_PORT:-8787}"
MOCK_PORT="${MOCK_PORT:-9999}"
# Another state folder or config (the e2e test and the start-time bench run their own).
STATE="${CAPI_EDGE_DEV_STATE:-.dev-state}"
CONFIG="${CAPI_EDGE_CONFIG:-capi.toml}"
export CAPI_EDGE_CONFIG="$CONFIG"
STARTED=$SECONDS
# wrangler.toml's build command: rebuilds on a change keep the last good build when capi.toml has errors.
export CAPI_EDGE_BUILD=--watch
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false

echo "[dev] building the worker (a fresh checkout's first build takes several minutes; later starts reuse it)"
bash scripts/build.sh --dev
mkdir -p "$STATE"
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
  kill "$MOCK_PID" "$TAIL_PID" ${WATCH_PID:-} ${ANNOUNCE_PID:-} 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The dashboard and preview traces need a debug token: a random one per state folder, kept across runs so the
# dashboard's address stays the same.
[ -s "$STATE/debug-token" ] || od -An -N12 -tx1 /dev/urandom | tr -d ' \n' > "$STATE/debug-token"
DEBUG_TOKEN=$(cat "$STATE/debug-token")
PREFIX=$(sed -n 's/^path_prefix *= *"\([^"]*\)".*/\1/p' "$CONFIG" | head -n1)
PREFIX=${PREFIX:-/r}

# capi.toml is published to the local config store on every save (scripts/watch-config.sh: checked first; a file
# with errors is never stored, the worker keeps the last good version, and the watcher keeps watching). The
# worker re-reads the live version every second here.
bash scripts/watch-config.sh "$CONFIG" "$STATE" &
WATCH_PID=$!

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
# The addresses, once the worker answers (not before: a link that does not answer yet is no help).
announce() {
  local url="http://127.0.0.1:$WORKER_PORT$PREFIX/health"
  until node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$url" 2>/dev/null; do
    sleep 0.5
  done
  echo "[dev] the worker answers, $((SECONDS - STARTED)) s after make dev started"
  echo "[dev] demo shop:  http://127.0.0.1:$WORKER_PORT/   (click Add to cart or Buy; the mock CAPI prints what each platform got)"
  echo "[dev] dashboard:  http://127.0.0.1:$WORKER_PORT$PREFIX/dashboard#token=$DEBUG_TOKEN"
  echo "[dev] preview:    curl -H 'x-capi-debug: $DEBUG_TOKEN' -H 'content-type: application/json' -d '{\"event\":\"Lead\"}' http://127.0.0.1:$WORKER_PORT$PREFIX/e"
  echo "[dev] mock CAPI:  http://127.0.0.1:$MOCK_PORT/__mock/events"
  echo "[dev] saving capi.toml publishes it (capi-edge versions --local lists them); saving code rebuilds"
  echo "[dev] alerts and retention: curl -X POST -H 'authorization: Bearer $DEBUG_TOKEN' http://127.0.0.1:$WORKER_PORT$PREFIX/api/scheduled"
}
announce &
ANNOUNCE_PID=$!
node_modules/.bin/wrangler dev -c wrangler.toml -c "$ADMIN_CONFIG" --ip 127.0.0.1 --port "$WORKER_PORT" --persist-to "$STATE" \
  --log-level "${LOG_LEVEL:-info}" "${VAR_FLAGS[@]}" &
WRANGLER_PID=$!
wait "$WRANGLER_PID"
