#!/usr/bin/env bash
# Builds the worker to build/: checks capi.toml first (its errors are the marketer's), then worker-build with the
# locally installed wasm-bindgen, wasm-opt and esbuild (worker-build would otherwise download them from GitHub).
#   scripts/build.sh         optimized build (worker-build runs wasm-opt -O; -Oz measured no smaller), for deploy and benchmarks
#   scripts/build.sh --dev   fast build without wasm-opt, for the local loop
#   scripts/build.sh --watch the same, for wrangler's rebuilds in `make dev`: on a capi.toml error it keeps the last
#                            good build serving (a failed build would stop `wrangler dev`)
#   CAPI_EDGE_KEEP_NAMES=1 scripts/build.sh   optimized, with Wasm function names (for bench/profile.mjs)
#   scripts/build.sh --skip  keep build/ as it is when present (tests that start `wrangler dev` on a fresh build)
# A build whose inputs (the sources, the pages, the config, the build's own scripts, the mode) are those of the
# build in build/ does nothing: `make dev` builds once, and wrangler's build command at its start finds it done.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--skip" ] && [ -f build/index.js ]; then exit 0; fi
TOOLS="${CAPI_EDGE_TOOLS:-$HOME/.cache/capi-edge/tools}"
CONFIG="${CAPI_EDGE_CONFIG:-capi.toml}" # another file for tests
export PATH="$TOOLS/bin:$PATH"
STARTED=$SECONDS
step() { echo "[build] $1 ($((SECONDS - STARTED)) s)"; }

# What this build is made of: every input's content and the mode. Equal to build/.inputs: nothing to do.
inputs() {
  {
    echo "mode=${1:-opt} names=${CAPI_EDGE_KEEP_NAMES:-} target=${CARGO_TARGET_DIR:-}"
    find src www -type f -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock scripts/build.sh scripts/assets.mjs package-lock.json
    sha256sum < "$CONFIG"
  } | sha256sum | cut -d' ' -f1
}
case "${1:-}" in --dev | --watch) MODE=dev ;; *) MODE=opt ;; esac
FINGERPRINT=$(inputs "$MODE")
if [ -f build/index.js ] && [ -f build/admin/index.js ] && [ -d build/assets ] \
  && [ "$(cat build/.inputs 2>/dev/null)" = "$FINGERPRINT" ]; then
  echo "[build] up to date: nothing changed since the last build"
  exit 0
fi
# The marketer's errors first, then the checked config as JSON for the worker to embed. The CLI is built first so
# that a failure below is the config's, not the code's.
step "checking $CONFIG"
cargo build -q --release --bin capi-edge
if ! check=$(cargo run -q --release --bin capi-edge -- check "$CONFIG" 2>&1); then
  echo "$check" >&2
  # A rebuild under `make dev` (--watch): a failed build would stop `wrangler dev` serving, so keep the last good
  # build running (nothing in build/ has been touched yet). wrangler does not show a successful build's output,
  # so the errors also go to CAPI_EDGE_CHECK_LOG, which scripts/dev.sh prints as it grows.
  if [ "${1:-}" = "--watch" ] && [ -f build/index.js ]; then
    note="capi-edge: $CONFIG has errors; the worker keeps running the last good config until you fix them."
    [ -n "${CAPI_EDGE_CHECK_LOG:-}" ] && printf '%s\n%s\n' "$check" "$note" >> "$CAPI_EDGE_CHECK_LOG"
    echo "$note" >&2
    exit 0
  fi
  exit 1
fi
echo "$check"
mkdir -p build
rm -f build/.inputs # written again when this build has finished
# The compiled config is compiled into each Wasm build (include_str!): rewriting it unchanged would make cargo
# rebuild all three, so it is replaced only when its content changes.
cargo run -q --release --bin capi-edge -- compile "$CONFIG" --out build/capi.compiled.json.new
if cmp -s build/capi.compiled.json.new build/capi.compiled.json; then
  rm build/capi.compiled.json.new
else
  mv build/capi.compiled.json.new build/capi.compiled.json
fi
export WASM_BINDGEN_BIN="$TOOLS/bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
# Two workers, by job (src/edge/mod.rs): intake (the hot path) in build/, admin (the queue consumer, the
# scheduled job, the dashboard's API) in build/admin/. Each carries only its own code.
build_worker() { # out-dir feature
  step "building the $2 worker ($([ "$MODE" = dev ] && echo "fast, unoptimized" || echo optimized); the first build of a checkout takes minutes)"
  if [ "$MODE" = dev ]; then
    worker-build --release --no-opt --out-dir "$1" . --no-default-features --features "$2"
    return
  fi
  worker-build --release --out-dir "$1" . --no-default-features --features "$2"
  # worker-build's wasm-opt pass keeps the names section (~200 KB); nothing at the edge reads it.
  # CAPI_EDGE_KEEP_NAMES=1 keeps it, for readable frames in bench/profile.mjs.
  # A copy with names stays beside it for `make size` (twiggy); only index_bg.wasm is deployed.
  cp "$1/index_bg.wasm" "$1/index_bg.names.wasm"
  if [ -z "${CAPI_EDGE_KEEP_NAMES:-}" ]; then
    "$WASM_OPT_BIN" --strip-debug --strip-producers "$1/index_bg.wasm" -o "$1/index_bg.wasm"
  fi
  raw=$(wc -c < "$1/index_bg.wasm"); gz=$(gzip -9 -c "$1/index_bg.wasm" | wc -c)
  echo "$1/index_bg.wasm ($2): $raw bytes, $gz bytes gzip"
}
build_worker build intake
build_worker build/admin admin
# The config checker for the dashboard's config page (src/check/wasm.rs), for the browser: no worker in it.
step "building the config page's checker"
cargo build -q --lib --release --target wasm32-unknown-unknown --no-default-features --features checker
"$WASM_BINDGEN_BIN" --target web --out-dir build/checker "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/capi_edge.wasm"
if [ "$MODE" != dev ]; then
  "$WASM_OPT_BIN" -Oz --strip-debug --strip-producers build/checker/capi_edge_bg.wasm -o build/checker/capi_edge_bg.wasm
fi
# The pixel script, its bridge and the dashboard page: static files under the path prefix, for [assets].
node scripts/assets.mjs build/capi.compiled.json build/assets
echo "$FINGERPRINT" > build/.inputs
step "built"
