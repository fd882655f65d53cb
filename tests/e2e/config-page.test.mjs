// The dashboard's config page in headless Chromium (issue 13, item 8): the checker, compiled to Wasm and loaded
// by the page, shows a typo's error at its line as it is typed; a fixed config published from the page is live.
// The admin worker checks what it is asked to publish with the same checker: a config with errors is never stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from '../support/chromium.mjs';
import { read, sleep, start } from '../support/harness.mjs';

let w;
const auth = { authorization: 'Bearer test-debug-token', 'content-type': 'application/json' };
const good = read('capi.toml');
// The typo a marketer makes: `trigger` misspelt in the lead tag.
const typoLine = good.split('\n').findIndex((l) => l.startsWith('trigger = { field = "event", in = ["Lead"')) + 1;
const typo = good.replace('trigger = { field = "event", in = ["Lead"', 'triger = { field = "event", in = ["Lead"');

before(async () => { w = await start({ listen: true, bindings: { CONFIG_CHECK_SECONDS: '1' } }); });
after(async () => { await w?.stop(); });

test('the admin worker refuses to publish a config with errors, listing each at its line', async () => {
  assert.ok(typoLine > 0, 'the example config still has the lead tag this test edits');
  const res = await w.fetch('/r/api/config/publish', { method: 'POST', headers: auth, body: JSON.stringify({ source: typo }) });
  assert.equal(res.status, 422);
  const body = await res.json();
  assert.equal(body.error, 'config_invalid');
  assert.deepEqual(body.errors.map((e) => [e.line, e.message]), [[typoLine, 'unknown key "triger" in [[tag]]']]);
  const versions = await (await w.fetch('/r/api/config/versions', { headers: auth })).json();
  assert.deepEqual(versions.versions, [], 'nothing was stored');
  assert.equal((await w.fetch('/r/api/config/publish', { method: 'POST', headers: auth, body: '{"toml": 1}' })).status, 400);
  assert.equal((await w.fetch('/r/api/config/publish', { method: 'POST', body: JSON.stringify({ source: good }) })).status, 401);
});

test('the config page shows a typo at its line as it is typed, and publishes the fixed config live', { timeout: 90000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${w.url}/r/dashboard#token=test-debug-token`);
    await page.waitForSelector('#editor:not([hidden])');
    await page.fill('#source', typo);
    const item = page.locator(`#check-errors li[data-line="${typoLine}"]`);
    await item.waitFor();
    assert.match(await item.innerText(), new RegExp(`^line ${typoLine}, column 1: unknown key "triger" in \\[\\[tag\\]\\] \\(.*Did you mean "trigger"\\?\\)$`));
    assert.equal(await page.locator('#check-errors li').count(), 1, 'the only mistake');
    assert.equal((await page.locator('#gutter .bad').innerText()).trim(), String(typoLine));
    assert.equal(await page.getAttribute('#editor', 'data-checked'), 'errors');

    await page.fill('#source', good);
    await page.waitForSelector('#editor[data-checked="ok"]');
    assert.match(await page.locator('#check-summary').innerText(), /capi\.toml: ok \(4 destinations, 6 tags, 4 tests passed\)/);
    // A sample hit traced in the page, by the same pipeline.
    await page.click('summary');
    await page.click('#trace');
    const trace = JSON.parse(await page.locator('#trace-out').innerText());
    assert.deepEqual(trace.tags.filter((t) => t.fired).map((t) => t.tag), ['purchase']);

    await page.fill('#publish-message', 'published from the page');
    await page.click('#publish');
    await page.waitForSelector('#editor[data-published="1"]');
    assert.match(await page.locator('#publish-result').innerText(), /Version 1 is live/);
    await page.waitForFunction(() => document.querySelector('#config-live').textContent === '· version 1 live');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
  await sleep(1300); // intake re-reads the store every second here
  const health = await (await w.fetch('/r/health')).json();
  assert.equal(health.config.version, 1, 'intake serves the published version');
  const stored = JSON.parse(await w.store.get('config/v/1'));
  assert.equal(stored.source, good);
  assert.equal(stored.message, 'published from the page');
  assert.equal(stored.published_by, 'dashboard');
});

test('a publish from the API cannot put control characters into the history a terminal prints', async () => {
  const res = await w.fetch('/r/api/config/publish', {
    method: 'POST', headers: auth,
    body: JSON.stringify({ source: good, draft: true, message: 'ok\u001b[2J\r\n* 99 forged', by: 'x\r\nSet-Cookie: a=b' }),
  });
  assert.equal(res.status, 200);
  const { version, live } = await res.json();
  assert.equal(live, false, 'a draft');
  const stored = JSON.parse(await w.store.get(`config/v/${version}`));
  assert.equal(stored.message, 'ok[2J* 99 forged', 'control characters dropped');
  assert.equal(stored.published_by, 'dashboard', 'a name with a line break is not taken');
});
