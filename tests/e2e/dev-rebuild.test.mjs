// `make dev` rebuilds on every save (wrangler.toml's build command with CAPI_EDGE_BUILD=--watch). A failed
// build would stop `wrangler dev` serving, so a capi.toml with errors keeps the last good build, and the errors
// reach the dev terminal through CAPI_EDGE_CHECK_LOG. A plain --dev build (the first one) still fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'capi-dev-rebuild-'));
const broken = join(dir, 'capi.toml');
// The shipped config with one key misspelled, on its own line.
writeFileSync(broken, readFileSync(join(ROOT, 'capi.toml'), 'utf8').replace(/^allowed_origins = /m, 'allowed_origin = '));
const log = join(dir, 'errors.log');

const build = (mode) => spawnSync('bash', ['scripts/build.sh', mode], {
  cwd: ROOT, encoding: 'utf8', env: { ...process.env, CAPI_EDGE_CONFIG: broken, CAPI_EDGE_CHECK_LOG: log },
});

test('a rebuild with a broken capi.toml keeps the last good build and shows the error', () => {
  const built = statSync(join(ROOT, 'build/index.js')).mtimeMs;
  const compiled = readFileSync(join(ROOT, 'build/capi.compiled.json'), 'utf8');
  const r = build('--watch');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /unknown key "allowed_origin" in \[site\]/);
  assert.match(r.stderr, /Did you mean "allowed_origins"\?/);
  const shown = readFileSync(log, 'utf8');
  assert.match(shown, /capi\.toml:17:1/, 'the dev terminal gets the line');
  assert.match(shown, /keeps running the last good config/);
  assert.equal(statSync(join(ROOT, 'build/index.js')).mtimeMs, built, 'the running build is untouched');
  assert.equal(readFileSync(join(ROOT, 'build/capi.compiled.json'), 'utf8'), compiled);
});

test('the first build of `make dev` still stops on a broken capi.toml', () => {
  const r = build('--dev');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown key "allowed_origin"/);
});

test('a build whose inputs have not changed does nothing, so `make dev` builds once', () => {
  // The build `make test` just made (or, run alone after an edit, the one this makes first).
  const first = spawnSync('bash', ['scripts/build.sh'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);
  const built = statSync(join(ROOT, 'build/index_bg.wasm')).mtimeMs;
  const compiled = statSync(join(ROOT, 'build/capi.compiled.json')).mtimeMs;
  const again = spawnSync('bash', ['scripts/build.sh'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /\[build\] up to date: nothing changed since the last build/);
  assert.equal(statSync(join(ROOT, 'build/index_bg.wasm')).mtimeMs, built, 'nothing rebuilt');
  assert.equal(statSync(join(ROOT, 'build/capi.compiled.json')).mtimeMs, compiled, 'nothing rewritten');
});
