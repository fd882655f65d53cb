// What must stay out of the optimized Wasm, checked on the names copy scripts/build.sh keeps beside it. Each was
// cut on purpose and comes back silently with one careless line (README, "Performance", size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

// Both workers: intake (build/) and admin (build/admin/).
const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url)).toString('latin1');
const intake = read('build/index_bg.names.wasm');
const admin = read('build/admin/index_bg.names.wasm');
const wasm = intake + admin;

test('intake carries only intake: the consumer, the dashboard API and the scheduled job are in the admin worker', () => {
  for (const name of ['deliver', 'replay', 'scheduled', 'dashboard', 'reconcile']) {
    assert.ok(!intake.includes(`capi_edge::edge::${name}`) && !intake.includes(`capi_edge::${name}::`), `${name} is linked into intake`);
  }
  assert.ok(intake.includes('capi_edge::edge::intake::browser'), 'the names copy has names (else this test checks nothing)');
  assert.ok(admin.includes('capi_edge::edge::admin::consumer'), 'the admin worker has the consumer');
  assert.ok(!admin.includes('capi_edge::edge::intake::browser'), 'browser intake is not in the admin worker');
});

// Intake only: the admin worker links the TOML parser (it checks what the dashboard publishes), which parses floats.
test("core's float parser stays out of intake: every f64 parse goes through src/base/number.rs", () => {
  assert.ok(!intake.includes('dec2flt'), 'a str::parse::<f64> is linked again (about 14 KB gzip); use number::parse_f64');
});

test("the url crate's IDNA tables stay out: URLs are split by hand", () => {
  assert.ok(!wasm.includes('idna'), 'something parses a url::Url (about 200 KB); see cors::path_of and cors::origin_of');
});

test("worker's Request::new_with_init stays out: outbound requests go through js::fetch", () => {
  assert.ok(!wasm.includes('new_with_init'), 'worker::Request::new_with_init is linked again (about 10 KB gzip)');
});
