// Config versions in KV, in workerd: the built worker reads the live version from its CONFIG_STORE namespace, which
// the native CLI (`capi-edge publish|rollback`, through `wrangler kv --local --persist-to`) writes. Hits keep
// flowing while versions switch; a refused version leaves the last good one serving; a draft runs only in a preview.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../support/chromium.mjs';
import { CLI, browserHeaders, purchase, sleep, start } from '../support/harness.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const state = mkdtempSync(join(tmpdir(), 'capi-edge-store-'));
// The worker re-reads the pointer every second here (20 s by default), so the tests do not wait.
const CHECK_MS = 1000;
const settle = () => sleep(CHECK_MS + 300);

/** The CLI against the local store; resolves with {code, out}. */
const cli = (...args) => new Promise((resolve) => {
  execFile(CLI, [...args, '--persist-to', state], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CAPI_EDGE_PUBLISHER: 'e2e@example.com' } },
    (err, stdout, stderr) => resolve({ code: err ? err.code : 0, out: stdout + stderr }));
});

// v1 is the example config. v2 adds "Signup" to the lead tag's events: a Signup hit fires it only under v2.
const V1 = readFileSync(join(ROOT, 'capi.toml'), 'utf8');
const LEAD_EVENTS = 'in = ["Lead", "Contact", "NewsletterSignup"]';
assert.ok(V1.includes(LEAD_EVENTS), 'capi.toml still has the lead trigger this test edits');
const V2 = V1.replace(LEAD_EVENTS, 'in = ["Lead", "Contact", "NewsletterSignup", "Signup"]');
const v2File = join(state, 'capi-v2.toml');
writeFileSync(v2File, V2);

let w;
before(async () => {
  w = await start({ listen: true, kvPersist: join(state, 'v3/kv'), bindings: { CONFIG_CHECK_SECONDS: String(CHECK_MS / 1000) } });
}, { timeout: 60000 });
after(async () => {
  await w?.stop();
  rmSync(state, { recursive: true, force: true });
});

const post = (body, headers = {}) => w.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, ...headers }, body: JSON.stringify(body) });
const signup = (id) => ({ event: 'Signup', event_id: id, page: { url: 'https://shop.example.com/join' }, user: { email: 'new@example.com' } });
const health = async () => (await (await w.fetch('/r/health')).json()).config;
const leadsFor = (accepted, ids) => accepted.filter((e) => ids.includes(e.event_id) && e.layout === 'openai');

test('an empty store: the compiled config serves', async () => {
  const config = await health();
  assert.equal(config.source, 'embedded');
  assert.equal(config.version, null);
});

test('publish v1, then v2 while hits flow: hits after the switch follow v2, with no restart', { timeout: 90000 }, async () => {
  const v1 = await cli('publish', 'capi.toml', '--message', 'the example');
  assert.equal(v1.code, 0, v1.out);
  assert.match(v1.out, /published version 1 \(was the compiled config\)/);
  await settle();
  assert.equal((await health()).version, 1);

  const sent = []; // [id, time sent]
  let flowing = true;
  const statuses = [];
  const flow = (async () => {
    for (let i = 0; flowing; i++) {
      const id = `sig-${i}`;
      sent.push([id, Date.now()]);
      statuses.push((await post(signup(id))).status);
      await sleep(100);
    }
  })();
  await sleep(600);
  const publishedAt = Date.now();
  const v2 = await cli('publish', v2File, '--message', 'Signup counts as a lead');
  assert.equal(v2.code, 0, v2.out);
  assert.match(v2.out, /published version 2 \(was version 1\)/);
  const switchedBy = Date.now() + CHECK_MS + 300;
  await sleep(CHECK_MS + 1500);
  flowing = false;
  await flow;

  assert.ok(statuses.every((s) => s === 204), `intake answered every hit: ${statuses}`);
  const before = sent.filter(([, t]) => t < publishedAt).map(([id]) => id);
  const afterSwitch = sent.filter(([, t]) => t > switchedBy).map(([id]) => id);
  assert.ok(before.length >= 3 && afterSwitch.length >= 3, `hits on both sides: ${before.length} before, ${afterSwitch.length} after`);
  const got = await w.waitFor((a) => leadsFor(a, afterSwitch).length === afterSwitch.length, 15000, 'every hit after the switch as a lead');
  assert.deepEqual(leadsFor(got, afterSwitch).map((e) => e.event_name).filter((t) => t !== 'lead_created'), [], 'sent as leads');
  assert.deepEqual(leadsFor(got, before), [], 'hits before the publish followed v1: no lead');
  assert.equal((await health()).version, 2);
});

test('roll back to v1: Signup is no lead again; a rollback to a version that does not exist is a clear error', { timeout: 60000 }, async () => {
  const missing = await cli('rollback', '99');
  assert.equal(missing.code, 1);
  assert.match(missing.out, /version 99 does not exist; nothing changed/);
  assert.match(missing.out, /versions: 1, 2/);

  const back = await cli('rollback', '1');
  assert.equal(back.code, 0, back.out);
  assert.match(back.out, /version 1 is live \(was version 2\)/);
  await settle();
  const config = await health();
  assert.equal(config.version, 1);
  assert.equal(config.message, 'the example');
  assert.equal((await post(signup('sig-after-rollback'))).status, 204);
  assert.equal((await post(purchase('ord-after-rollback'))).status, 204);
  const got = await w.waitFor((a) => a.some((e) => e.event_id === 'ord-after-rollback'));
  assert.deepEqual(leadsFor(got, ['sig-after-rollback']), [], 'v1 again: no lead for a Signup');
});

test('a corrupt version, or one in a newer format, is refused: v1 keeps serving, and health says so', { timeout: 30000 }, async () => {
  await w.store.put('config/v/3', '{"version":3,"format":1,"config":{"site":"not a site"');
  await w.store.put('config/live', JSON.stringify({ version: 3 }));
  await settle();
  let config = await health();
  assert.equal(config.version, 1, 'the last good version serves');
  assert.equal(config.refused.version, 3);
  assert.match(config.refused.reason, /version 3 is not JSON/);
  assert.equal((await post(purchase('ord-while-refused'))).status, 204);
  await w.waitFor((a) => a.filter((e) => e.event_id === 'ord-while-refused').length === 2, 15000, 'both destinations under v1');

  const newer = JSON.parse(await w.store.get('config/v/2'));
  newer.version = 4;
  newer.format = 99;
  await w.store.put('config/v/4', JSON.stringify(newer));
  await w.store.put('config/live', JSON.stringify({ version: 4 }));
  await settle();
  config = await health();
  assert.equal(config.version, 1);
  assert.match(config.refused.reason, /version 4 is in format 99, newer than this worker reads \(2\)/);

  const cliRefuses = await cli('rollback', '4');
  assert.equal(cliRefuses.code, 1, 'the CLI will not make a version live that the worker refuses');
  assert.match(cliRefuses.out, /newer than this worker reads.*nothing changed/);

  await w.store.put('config/live', JSON.stringify({ version: 1 }));
  await settle();
  config = await health();
  assert.deepEqual([config.version, config.refused], [1, null], 'back on v1, the refusal is history');
});

test('a draft runs in a preview (x-capi-config with the debug token) and is not live', { timeout: 60000 }, async () => {
  const draft = await cli('publish', v2File, '--draft', '--message', 'try Signup as a lead');
  assert.equal(draft.code, 0, draft.out);
  assert.match(draft.out, /stored version 5 as a draft; version 1 stays live/);

  const debug = { 'x-capi-debug': 'test-debug-token' };
  const res = await post(signup('sig-preview'), { ...debug, 'x-capi-config': 'draft' });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.config, { version: 5, selected: 'draft', live: false });
  assert.equal(body.traces[0].tags.find((t) => t.tag === 'lead').fired, true, 'the draft fires the lead tag');
  assert.equal(body.traces[0].outbound[0].body.validate_only, true, 'in test mode, as every preview');

  const byNumber = await (await post(signup('sig-preview-5'), { ...debug, 'x-capi-config': '5' })).json();
  assert.equal(byNumber.config.version, 5);
  const live = await (await post(signup('sig-preview-live'), debug)).json();
  assert.deepEqual(live.config, { version: 1, source: 'kv', selected: 'live', live: true }, 'without the header, the trace names the live version');
  assert.equal(live.traces[0].tags.find((t) => t.tag === 'lead').fired, false);

  // Without the debug token the header is ignored: no request chooses the config that serves.
  const plain = await post(signup('sig-not-live'), { 'x-capi-config': 'draft' });
  assert.equal(plain.status, 204);
  assert.equal((await health()).version, 1, 'the draft is not live');

  for (const bad of ['5; drop', '05', 'v5', '']) {
    const r = await post(signup('sig-bad'), { ...debug, 'x-capi-config': bad });
    if (bad === '') continue; // an empty header is no header in fetch
    assert.equal(r.status, 400, bad);
    assert.equal((await r.json()).error, 'invalid_config_version');
  }
  const unknown = await post(signup('sig-unknown'), { ...debug, 'x-capi-config': '42' });
  assert.equal(unknown.status, 404);
  const refused = await post(signup('sig-refused'), { ...debug, 'x-capi-config': '3' });
  assert.equal(refused.status, 422);

  await post(purchase('ord-after-preview'));
  const got = await w.waitFor((a) => a.some((e) => e.event_id === 'ord-after-preview'));
  assert.deepEqual(leadsFor(got, ['sig-not-live']), [], 'the hit without the token followed v1');
});

test('the dashboard API lists the history and rolls back, behind the token', { timeout: 30000 }, async () => {
  const auth = { authorization: 'Bearer test-debug-token' };
  assert.equal((await w.fetch('/r/api/config/versions')).status, 401);
  const list = await (await w.fetch('/r/api/config/versions', { headers: auth })).json();
  assert.equal(list.live, 1);
  assert.deepEqual(list.versions.map((v) => v.version), [5, 4, 3, 2, 1]);
  assert.equal(list.versions.find((v) => v.version === 2).message, 'Signup counts as a lead');
  assert.equal(list.versions.find((v) => v.version === 2).published_by, 'e2e@example.com');

  const rollback = (body, headers = auth) => w.fetch('/r/api/config/rollback', { method: 'POST', headers, body: JSON.stringify(body) });
  assert.equal((await rollback({ version: 2 }, {})).status, 401);
  assert.equal((await rollback({ version: 42 })).status, 404);
  assert.equal((await rollback({ version: 3 })).status, 422, 'a corrupt version is not made live');
  assert.equal((await rollback({ version: 'two' })).status, 400);
  const ok = await rollback({ version: 2 });
  assert.deepEqual([ok.status, await ok.json()], [200, { live: 2 }]);
  // The admin worker switched at once; intake (another worker since the split) follows within its check period.
  await settle();
  assert.equal((await health()).version, 2, 'intake follows within a check period');
  assert.equal(JSON.parse(await w.store.get('config/live')).set_by, 'dashboard');

  const versions = await cli('versions');
  assert.equal(versions.code, 0, versions.out);
  assert.match(versions.out, /\*\s+2 .* e2e@example\.com\s+Signup counts as a lead/);
  assert.match(versions.out, /version 2 made live by dashboard/);
});

test('the config page shows the live version and its history, and rolls back after a confirmation', { timeout: 60000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${w.url}/r/config#token=test-debug-token`);
    await page.waitForSelector('#versions-box[data-loaded="true"]');
    assert.equal(await page.locator('#config-live').innerText(), 'version 2 is live');
    assert.equal(await page.locator('#config-versions tbody tr').count(), 5);
    assert.match(await page.locator('tr.live').innerText(), /2\s*live.*e2e@example\.com.*Signup counts as a lead/s);
    assert.match(await page.locator('tr[data-version="5"]').innerText(), /5\s*draft/);
    await page.click('tr[data-version="1"] button[data-action="rollback"]');
    await page.waitForSelector('#confirm[data-diff]');
    await page.fill('#confirm-message', 'back to the first');
    await page.fill('#confirm-name', 'e2e');
    await page.click('#confirm-go');
    await page.waitForFunction(() => document.querySelector('#config-live').textContent === 'version 1 is live');
    await settle();
    assert.equal((await health()).version, 1);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a KV outage never stops intake: the worker keeps its config and says why in /r/health', { timeout: 30000 }, async () => {
  // A CONFIG_STORE whose every call throws, as a failing namespace does.
  const broken = await start({ bindings: { CONFIG_STORE: { get: 'not a function' }, CONFIG_CHECK_SECONDS: '1' } });
  try {
    const res = await broken.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(purchase('ord-kv-down')) });
    assert.equal(res.status, 204);
    await broken.waitFor((a) => a.filter((e) => e.event_id === 'ord-kv-down').length === 2, 15000, 'both destinations, on the compiled config');
    const config = (await (await broken.fetch('/r/health')).json()).config;
    assert.equal(config.source, 'embedded');
    assert.match(config.store_error, /reading config\/live failed: .*not a function/);
  } finally {
    await broken.stop();
  }
});
