// `make dev`'s config watcher (scripts/watch-config.sh), as `make dev` runs it: it publishes capi.toml to the
// local config store at start and on each save. A broken save is refused with its line and the watcher keeps
// watching; the fix is published, and so is the next change: the live version follows the file.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../support/harness.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'capi-dev-watch-'));
const config = join(dir, 'capi.toml');
const state = join(dir, 'state');
const shipped = readFileSync(join(ROOT, 'capi.toml'), 'utf8');
assert.match(shipped, /^\[site\]\n/m);
const withSample = (n) => shipped.replace(/^\[site\]\n/m, `[site]\nsample_one_in = ${n}\n`);
writeFileSync(config, shipped);

let out = '';
const watcher = spawn('bash', ['scripts/watch-config.sh', config, state], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
watcher.stdout.on('data', (d) => { out += d; });
watcher.stderr.on('data', (d) => { out += d; });
after(() => { watcher.kill(); rmSync(dir, { recursive: true, force: true }); });

const versions = () => execFileSync(join(ROOT, 'target/release/capi-edge'), ['versions', '--local', '--persist-to', state], { cwd: ROOT, encoding: 'utf8' });
const live = () => Number((versions().match(/^version (\d+) made live/m) || [])[1]);
const saw = (re, what) => until(what, async () => re.test(out), 60000);

test('a broken save is refused with its line, the watcher survives, and the fix and the next change go live', { timeout: 180000 }, async () => {
  await saw(/\[publish\] published version 1/, 'the first publish');
  assert.equal(live(), 1);

  // A real change with a typo: refused, at its line, nothing published.
  writeFileSync(config, withSample(10).replace(/^allowed_origins = /m, 'allowed_origin = '));
  await saw(/unknown key "allowed_origin" in \[site\]/, 'the refusal');
  assert.match(out, /capi\.toml:\d+:1/, 'with the line');
  assert.equal(watcher.exitCode, null, 'the watcher is still running');
  assert.equal(live(), 1, 'the broken file was never stored');

  // The fix: published.
  writeFileSync(config, withSample(10));
  await saw(/\[publish\] published version 2/, 'the fix published');
  assert.equal(live(), 2);

  // And the next change.
  writeFileSync(config, withSample(5));
  await saw(/\[publish\] published version 3/, 'the change published');
  assert.equal(live(), 3);
  assert.equal(watcher.exitCode, null);
});
