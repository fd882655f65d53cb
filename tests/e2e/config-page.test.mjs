// The config page in headless Chromium (issue 26, item 2): the checker, compiled to Wasm and loaded by the page,
// lists a typo's error above a fixed-height editor and jumps to its line; Publish shows the block diff against
// the live version and what it changes on the recent traffic sample, then asks to confirm with a message and a
// name; the versions list (live, previous, draft) views, diffs and rolls back with the same confirmation, and the
// editor then holds what is live; the trace is a table. The admin worker checks what it is asked to publish with
// the same checker: a config with errors is never stored.
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

// The lead tag also sent to meta: the change a marketer publishes second.
const next = good.replace('name = "lead"\ndestination = "openai"', 'name = "lead"\ndestinations = ["openai", "meta"]');

/** Recent hits in the sample (as intake samples them), for the diff's "on recent traffic". */
async function sampleHits() {
  const now = Date.now();
  const hit = (event, id, path) => JSON.stringify({ event, event_id: id, page: { url: `https://shop.example.com${path}` },
    user: { email: 'capi-edge-sample' }, context: { user_agent: 'capi-edge-sample', ip: '203.0.113.0' }, data: { value: 49, currency: 'USD' } });
  for (const [event, id, path] of [['Lead', 'S-1', '/contact'], ['Lead', 'S-2', '/contact'], ['Purchase', 'S-3', '/thank-you']]) {
    await w.db.prepare('INSERT INTO hit_samples (received_ms, source, event_name, hit) VALUES (?1, ?2, ?3, ?4)').bind(now, 'browser', event, hit(event, id, path)).run();
  }
}

/** Fills the confirmation dialog and confirms. */
async function confirm(page, message, name) {
  await page.fill('#confirm-message', message);
  await page.fill('#confirm-name', name);
  await page.click('#confirm-go');
  await page.waitForSelector('#confirm', { state: 'hidden' });
}

const labels = (page) => page.locator('#config-versions tbody tr').evaluateAll((rows) =>
  rows.map((r) => [Number(r.dataset.version), [...r.querySelectorAll('.label')].map((l) => l.textContent).join(',')]));

test('the config page: errors at their line, publish after the diff and a confirmation, versions, rollback, trace', { timeout: 120000 }, async () => {
  await sampleHits();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${w.url}/r/config#token=test-debug-token`);
    await page.waitForSelector('#editor[data-checked]');
    assert.equal(await page.evaluate(() => location.hash), '', 'the token leaves the address bar');
    assert.ok(await page.locator('#no-versions').isVisible(), 'nothing published yet, said so');
    assert.match(await page.getAttribute('#source', 'placeholder'), /^Nothing is published yet: paste your capi\.toml here/);

    // A typo: listed above the editor, at its line; a click puts the cursor there.
    await page.fill('#source', typo);
    const item = page.locator(`#check-errors li[data-line="${typoLine}"]`);
    await item.waitFor();
    assert.match(await item.innerText(), new RegExp(`^line ${typoLine}, column 1: unknown key "triger" in \\[\\[tag\\]\\] \\(.*Did you mean "trigger"\\?\\)$`));
    assert.equal(await page.locator('#check-errors li').count(), 1, 'the only mistake');
    assert.equal((await page.locator('#gutter .bad').innerText()).trim(), String(typoLine));
    const [list, editor] = [await item.boundingBox(), await page.locator('#source').boundingBox()];
    assert.ok(list.y < editor.y && editor.y + editor.height <= 900, 'the list sits above a fixed-height editor, on the first screen');
    assert.equal(Math.round(editor.height), 458, 'fixed height, whatever the length of the file');
    await item.click();
    const cursorLine = await page.evaluate(() => { const t = document.getElementById('source'); return t.value.slice(0, t.selectionStart).split('\n').length; });
    assert.equal(cursorLine, typoLine);
    // Publish refuses, in words; the message leaves once the typo is fixed.
    await page.click('#publish');
    assert.match(await page.locator('#publish-result').innerText(), /Fix the mistakes listed above first: nothing was published/);
    await page.fill('#source', good);
    await page.waitForSelector('#editor[data-checked="ok"]');
    assert.equal(await page.locator('#publish-result').innerText(), '', 'the stale message cleared');
    assert.match(await page.locator('#check-summary').innerText(), /capi\.toml: ok \(4 destinations, 6 tags, 4 tests passed\)/);

    // The trace as tables; the raw JSON behind a toggle.
    await page.click('#trace');
    assert.match(await page.locator('#trace-tags tr[data-tag="purchase"]').innerText(), /purchase\s+fired\s+Purchase · sample-1 · 149 USD/);
    assert.match(await page.locator('#trace-tags tr[data-tag="lead"]').innerText(), /lead\s+not fired\s+\S/);
    const em = page.locator('#trace-fields tr[data-destination="openai"][data-field="em"]');
    assert.match(await em.innerText(), /jane@example\.com → [0-9a-f]{64}\s+sent/);
    // meta takes no debug traffic without a test_event_code: highlighted, with the reason.
    const meta = page.locator('#trace-fields tr.warning', { hasText: 'meta' });
    assert.match(await meta.innerText(), /not_sent: not sent: debug traffic needs a test_event_code/);
    assert.equal(await page.locator('#trace-out').isVisible(), false, 'the raw JSON is folded');
    await page.click('#trace-view details summary');
    assert.deepEqual(JSON.parse(await page.locator('#trace-out').innerText()).tags.filter((t) => t.fired).map((t) => t.tag), ['purchase']);

    // Publish: the diff against what serves (nothing published: every block is new), then the confirmation.
    await page.click('#publish');
    await page.waitForSelector('#confirm[data-diff="shown"]');
    assert.match(await page.locator('#confirm-diff').innerText(), /^the draft against the compiled config: \d+ blocks change/);
    await confirm(page, 'first version', 'Jane Marketer');
    await page.waitForSelector('#editor[data-published="1"]');
    assert.match(await page.locator('#publish-result').innerText(), /Version 1 is live/);
    assert.deepEqual(await labels(page), [[1, 'live']]);

    // The second change: the diff names the block and the setting, and what it does to the sampled hits.
    await page.fill('#source', next);
    await page.waitForSelector('#editor[data-checked="ok"]');
    await page.click('#publish');
    await page.waitForSelector('#confirm[data-diff="shown"]');
    const diff = await page.locator('#confirm-diff').innerText();
    assert.match(diff, /^the draft against version 1 \(live\): 1 block changes\n+~ tag "lead" changed\ndestination: "openai" → \(unset\)\n/);
    assert.match(diff, /destinations: \(unset\) → \["openai","meta"\]/);
    assert.match(diff, /On the 3 most recent sampled hits: 1 destination event\(s\) would be sent differently/);
    assert.match(diff, /meta · Lead\s+2\s+2\s+0\s+2/);
    // The README's screenshot: the confirmation, with the diff and what it changes on recent traffic.
    await page.evaluate(() => { window.scrollTo(0, 0); document.getElementById('source').scrollTop = 0; });
    await page.screenshot({ path: new URL('../../docs/config-page.png', import.meta.url).pathname });
    // Cancel publishes nothing.
    await page.click('#confirm-cancel');
    assert.equal((await (await w.fetch('/r/api/config/versions', { headers: auth })).json()).versions.length, 1, 'cancel stored nothing');
    await page.click('#publish');
    await page.waitForSelector('#confirm[data-diff="shown"]');
    await confirm(page, 'leads to meta too', 'Jane Marketer');
    await page.waitForSelector('#editor[data-published="2"]');
    assert.deepEqual(await labels(page), [[2, 'live'], [1, 'previous']]);
    const v2 = JSON.parse(await w.store.get('config/v/2'));
    assert.deepEqual([v2.published_by, v2.message], ['Jane Marketer', 'leads to meta too']);

    // A draft: stored, not live, labelled so.
    await page.fill('#source', next.replace('name = "add-to-cart"', 'name = "add-to-basket"'));
    await page.waitForSelector('#editor[data-checked="ok"]');
    await page.click('#save-draft');
    await page.waitForSelector('#confirm[data-diff="shown"]');
    await confirm(page, 'renamed, to try', 'Jane Marketer');
    await page.waitForSelector('#editor[data-published="3"]');
    assert.deepEqual(await labels(page), [[3, 'draft'], [2, 'live'], [1, 'previous']]);

    // Each version viewable and diffable.
    await page.click('#config-versions tr[data-version="1"] button[data-action="diff"]');
    await page.waitForFunction(() => /version 1 against version 2 \(live\): 1 block changes/.test(document.getElementById('diff-view').textContent));
    await page.click('#config-versions tr[data-version="3"] button[data-action="view"]');
    await page.waitForSelector('#editor[data-version="3"]');

    // Roll back to 1, with the same confirmation: the editor then holds version 1, live; 2 is "previous", not a draft.
    await page.click('#config-versions tr[data-version="1"] button[data-action="rollback"]');
    await page.waitForSelector('#confirm[data-diff="shown"]');
    assert.match(await page.locator('#confirm-title').innerText(), /^Roll back to version 1$/);
    assert.match(await page.locator('#confirm-diff').innerText(), /version 1 against version 2 \(live\)/);
    await confirm(page, 'leads back to openai only', 'Sam Owner');
    await page.waitForSelector('#editor[data-rolled-back="1"]');
    assert.equal(await page.inputValue('#source'), good, 'the editor reloaded what is live');
    assert.match(await page.locator('#editing').innerText(), /version 1 \(live\)/);
    assert.deepEqual(await labels(page), [[3, 'draft'], [2, 'previous'], [1, 'live']]);
    const pointer = JSON.parse(await w.store.get('config/live'));
    assert.deepEqual([pointer.version, pointer.set_by, pointer.message, pointer.history], [1, 'Sam Owner', 'leads back to openai only', [2, 1]]);
    assert.equal(await page.locator('#diff-box').isVisible(), false, 'the diff against the old live version is gone');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
  await sleep(1300); // intake re-reads the store every second here
  const health = await (await w.fetch('/r/health')).json();
  assert.equal(health.config.version, 1, 'intake serves the version rolled back to');
  const stored = JSON.parse(await w.store.get('config/v/1'));
  assert.equal(stored.source, good);
  assert.deepEqual([stored.message, stored.published_by], ['first version', 'Jane Marketer']);
});

test('the config page: signed out, a wrong token, and a 390 px phone', { timeout: 60000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${w.url}/r/config`);
    await page.waitForSelector('body[data-state="signed-out"]');
    assert.match(await page.locator('#login').innerText(), /^Signed out\n+Paste/);
    await page.fill('#token', 'wrong');
    await page.click('#save');
    await page.waitForSelector('body[data-state="wrong-token"]');
    assert.match(await page.locator('#login').innerText(), /^Wrong token\n+The worker refused this token/);
    assert.equal(await page.locator('#source').isVisible(), false, 'no "nothing published yet" under a refused token');
    await page.fill('#token', 'test-debug-token');
    await page.click('#save');
    await page.waitForSelector('#editor[data-checked]');
    await page.click('#trace');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `scrollWidth ${width}`);
  } finally {
    await browser.close();
  }
});

test('the diff endpoint: behind the token, a broken draft answered with its errors, nothing stored', async () => {
  assert.equal((await w.fetch('/r/api/config/diff', { method: 'POST', body: JSON.stringify({ source: good }) })).status, 401);
  const bad = await w.fetch('/r/api/config/diff', { method: 'POST', headers: auth, body: JSON.stringify({ source: typo }) });
  assert.equal(bad.status, 422);
  assert.deepEqual((await bad.json()).errors.map((e) => e.line), [typoLine]);
  assert.equal((await w.fetch('/r/api/config/diff', { method: 'POST', headers: auth, body: '{"toml": 1}' })).status, 400);
  const same = await (await w.fetch('/r/api/config/diff', { method: 'POST', headers: auth, body: JSON.stringify({ source: good }) })).json();
  assert.equal(same.live, 1);
  assert.deepEqual(same.config.blocks, [], 'the live text against itself');
  assert.ok(same.sample.events.every((e) => e.differing === 0));
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
