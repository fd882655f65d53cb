// What must stay out of the optimized Wasm, checked on the names copy scripts/build.sh keeps beside it. Each was
// cut on purpose and comes back silently with one careless line (README, "Performance", size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const wasm = readFileSync(new URL('../../build/index_bg.names.wasm', import.meta.url)).toString('latin1');

test("core's float parser stays out: every f64 parse goes through src/number.rs", () => {
  assert.ok(!wasm.includes('dec2flt'), 'a str::parse::<f64> is linked again (about 14 KB gzip); use number::parse_f64');
});

test("the url crate's IDNA tables stay out: URLs are split by hand", () => {
  assert.ok(!wasm.includes('idna'), 'something parses a url::Url (about 200 KB); see cors::path_of and cors::origin_of');
});

test("worker's Request::new_with_init stays out: outbound requests go through js::fetch", () => {
  assert.ok(!wasm.includes('new_with_init'), 'worker::Request::new_with_init is linked again (about 10 KB gzip)');
});
