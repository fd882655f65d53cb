// The config page's preview link, as a marketer uses it (GTM's preview mode): headless Chromium opens the shop
// with the link's fragment; that tab's hits run the DRAFT in preview mode, a panel on the page shows what each
// did, and nothing is counted (no ledger row, nothing accepted as a real conversion). A forged or expired link
// is refused in words and the tab goes back to normal hits. Built workers in workerd, the demo shop served.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { launchChromium } from '../support/chromium.mjs';
import { read, start, until } from '../support/harness.mjs';

const auth = { authorization: 'Bearer test-debug-token', 'content-type': 'application/json' };
let w, browser;
before(async () => {
  w = await start({ listen: true, bindings: { SERVE_DEMO: 'true' } });
  browser = await launchChromium();
}, { timeout: 60000 });
after(async () => { await browser?.close(); await w?.stop(); });

const api = async (path, body) => {
  const res = await fetch(`${w.url}/r${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body ?? {}) });
  return { status: res.status, body: await res.json() };
};

test('a preview link runs the draft in that tab, shows each hit in a panel, and counts nothing', { timeout: 60000 }, async () => {
  // Live: the shipped config. Draft: add-to-cart goes to Meta only (no OpenAI, no TikTok).
  const shipped = read('capi.toml');
  assert.equal((await api('/api/config/publish', { source: shipped, message: 'live', by: 'test' })).status, 200);
  const draft = shipped.replace('destinations = ["openai", "meta", "tiktok"]\nevent = "AddToCart"', 'destinations = ["meta"]\nevent = "AddToCart"');
  assert.notEqual(draft, shipped);
  assert.equal((await api('/api/config/publish', { source: draft, draft: true, message: 'cart to meta only', by: 'test' })).status, 200);

  const link = await api('/api/config/preview-link');
  assert.equal(link.status, 200);
  assert.match(link.body.token, /^\d+\.[0-9a-f]{64}$/);
  assert.ok(link.body.expires_ms > Date.now() + 50 * 60 * 1000, 'good for an hour');
  // Without the debug token there is no link.
  // (No body: an answer that comes while Node's fetch is still sending one can reset the connection.)
  const refused = await fetch(`${w.url}/r/api/config/preview-link`, { method: 'POST' });
  assert.equal(refused.status, 401);

  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${w.url}/#${link.body.fragment}${link.body.token}`);
  await page.waitForSelector('#capi-preview');
  assert.equal(await page.evaluate(() => location.hash), '', 'the token leaves the address bar at once');
  await page.click('#add');
  const first = page.locator('.capi-preview-hit').first();
  await first.waitFor();
  await until('the add-to-cart in the panel', async () => /^AddToCart · /m.test(await page.locator('#capi-preview-hits').innerText()), 15000);
  const panel = await page.locator('#capi-preview-hits').innerText();
  assert.match(panel, /✓ add-to-cart fired/);
  assert.match(panel, /sent to meta in its test mode|not sent to meta: .*test_event_code/, 'the draft sends to Meta (in its test mode, or says why not)');
  assert.doesNotMatch(panel, /openai|tiktok/, 'the draft no longer sends add-to-cart to OpenAI or TikTok');

  // Another page of the shop in the same tab stays in preview (the token is in that tab's sessionStorage).
  await page.goto(`${w.url}/`);
  await page.waitForSelector('#capi-preview');

  // Nothing counted: no ledger row for the previewed hits, no real conversion at any platform.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await w.ledger("event_name IN ('AddToCart', 'items_added')")).length, 0);
  assert.ok(w.mock.state.accepted.every((a) => a.test), 'whatever reached a platform was in its test mode');

  // End preview: the panel goes, and the tab sends normal hits again.
  await page.click('#capi-preview button');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('capi-preview')), null);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a forged or expired preview link is refused in words, and the tab goes back to normal', { timeout: 60000 }, async () => {
  const exp = Math.floor(Date.now() / 1000) - 10;
  const expired = `${exp}.${createHmac('sha256', 'test-debug-token').update(`capi-edge preview link:${exp}`).digest('hex')}`;
  const forged = `${exp + 3600}.${'0'.repeat(64)}`;
  for (const [token, error] of [[expired, 'preview_link_expired'], [forged, 'preview_link_invalid']]) {
    const res = await w.fetch('/r/e', { method: 'POST', headers: { 'content-type': 'text/plain', 'x-capi-preview': token, origin: 'https://shop.example.com' }, body: JSON.stringify({ event: 'Lead' }) });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, error);
  }
  const page = await browser.newPage();
  await page.goto(`${w.url}/#capi-preview=${expired}`);
  await page.waitForSelector('#capi-preview');
  await page.click('#add');
  await until('the refusal in the panel', async () => /expired/.test(await page.locator('#capi-preview-hits').innerText()), 15000);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('capi-preview')), null, 'the ended preview is forgotten');
  await page.close();
});
