// Headless Chromium on a page that already describes its events three times over: GA4's dataLayer (before and
// after the pixel loads), a stub Meta pixel (`fbq`, defined before) and a stub OpenAI pixel (`oaiq`, defined
// after), plus a capi('track') call for the same purchase. With the bridge on, each platform (the mock) gets each
// event once, and the stub pixels got the same ids the server copies carry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from '../support/chromium.mjs';
import { start } from '../support/harness.mjs';

// Tags fire on the standard name or the GA4 one, so this test does not depend on how names are mapped.
const CONFIG = `
[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px_123"
token_secret = "OPENAI_CAPI_KEY"

[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1234567890"
token_secret = "META_ACCESS_TOKEN"

[[tag]]
name = "purchase"
destinations = ["openai", "meta"]
event = "Purchase"
trigger = { field = "event", in = ["Purchase", "purchase"] }
[tag.map]
"event_id" = { from = ["data.order_id", "event_id"] }

[[tag]]
name = "add-to-cart"
destinations = ["openai", "meta"]
event = "AddToCart"
trigger = { field = "event", in = ["AddToCart", "add_to_cart"] }

[[tag]]
name = "view"
destinations = ["openai", "meta"]
event = "ViewContent"
trigger = { field = "event", in = ["ViewContent", "view_item"] }
`;

const PAGE = `<!doctype html><html><head><title>Bridge test</title>
<script>
  window.fbq = function () { (window.fbq.calls = window.fbq.calls || []).push([].slice.call(arguments)); };
  window.dataLayer = [{ ecommerce: null }, { event: 'view_item', ecommerce: { currency: 'USD', value: 149,
    items: [{ item_id: 'BOOT-42', item_name: 'Trail boots', price: 149, quantity: 1 }] } }];
</script>
<script src="/r/s.js" data-bridge="datalayer fbq oaiq"></script>
</head><body>shop</body></html>`;

let w, browser;
before(async () => {
  w = await start({ config: CONFIG, listen: true });
  browser = await launchChromium();
}, { timeout: 60000 });
after(async () => {
  await browser?.close();
  await w?.stop();
});

test('dataLayer, fbq, oaiq and capi(\'track\') for the same events: each platform gets each event once, with the pixels\' ids', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The page is served from the worker's own origin (first-party), by the browser itself.
  await page.route(`${w.url}/shop`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
  await page.goto(`${w.url}/shop`);
  await page.waitForFunction(() => window.capi && window.capi.bridged);

  const ids = await page.evaluate(() => {
    // OpenAI's pixel arrives after the bridge: it is bridged all the same.
    window.oaiq = function () { (window.oaiq.calls = window.oaiq.calls || []).push([].slice.call(arguments)); };
    fbq('init', '1234567890', { em: 'jane.doe@example.com' });
    fbq('track', 'AddToCart', { value: 149, currency: 'USD', content_ids: ['BOOT-42'] });
    dataLayer.push({ ecommerce: null });
    dataLayer.push({ event: 'purchase', ecommerce: { transaction_id: 'T-9001', value: 149, tax: 12.5, currency: 'USD',
      items: [{ item_id: 'BOOT-42', item_name: 'Trail boots', price: 149, quantity: 1 }] } });
    // The same purchase, told again by the page's own code and by OpenAI's pixel without an id.
    const own = capi('track', 'Purchase', { value: 149, currency: 'USD', order_id: 'T-9001' });
    oaiq('measure', 'order_created', { type: 'contents', amount: 14900, currency: 'USD' }, {});
    fbq('track', 'Purchase', { value: 149, currency: 'USD' }, { eventID: 'T-9001' });
    return { own, fbq: fbq.calls, oaiq: oaiq.calls };
  });
  const addToCartId = ids.fbq.find((c) => c[1] === 'AddToCart')[3].eventID;
  assert.ok(addToCartId, 'fbq got an eventID it was not given');
  assert.equal(ids.own, 'T-9001', 'capi(\'track\') hands back the id the dataLayer purchase was sent with');
  assert.equal(ids.oaiq.at(-1)[3].event_id, 'T-9001', 'OpenAI\'s pixel got the order\'s id, so OpenAI deduplicates');
  assert.equal(ids.fbq.at(-1)[3].eventID, 'T-9001');

  await w.waitFor((a) => ['T-9001', addToCartId].every((id) => a.filter((e) => e.event_id === id).length >= 2)
    && a.filter((e) => e.layout === 'meta' && e.event.event_name === 'ViewContent').length >= 1);
  await new Promise((r) => setTimeout(r, 1500)); // anything sent twice would arrive by now
  const got = w.mock.state.accepted;
  const per = (id) => got.filter((e) => e.event_id === id).map((e) => e.layout).sort();
  assert.deepEqual(per('T-9001'), ['meta', 'openai'], 'one purchase per platform, from four sources');
  assert.deepEqual(per(addToCartId), ['meta', 'openai']);
  const views = got.filter((e) => e.layout === 'meta' && e.event.event_name === 'ViewContent');
  assert.equal(views.length, 1, 'the view_item pushed before the pixel loaded, once');
  const purchase = got.find((e) => e.layout === 'openai' && e.event_id === 'T-9001').event;
  assert.equal(purchase.data.amount, 14900);
  assert.deepEqual(purchase.data.contents.map((c) => c.id), ['BOOT-42'], 'the GA4 items');
  const atc = got.find((e) => e.layout === 'meta' && e.event_id === addToCartId).event;
  assert.equal(atc.event_name, 'AddToCart');
  assert.equal(atc.user_data.em.length, 1, 'fbq\'s advanced matching email, hashed at the edge');
  assert.deepEqual(errors, []);
});

test('the base pixel stays small; the bridge loads only on pages that ask for it', async () => {
  const pixel = await (await w.fetch('/r/s.js')).text();
  const bridge = await w.fetch('/r/b.js');
  assert.equal(bridge.status, 200);
  const { gzipSync } = await import('node:zlib');
  const size = gzipSync(pixel, { level: 9 }).length;
  const bridgeSize = gzipSync(await bridge.text(), { level: 9 }).length;
  console.log(`pixel: ${size} bytes gzip; bridge (loaded on demand): ${bridgeSize} bytes gzip`);
  assert.ok(size < 2048, `s.js is ${size} bytes gzip`);
  const page = await browser.newPage();
  await page.route(`${w.url}/plain`, (route) => route.fulfill({ contentType: 'text/html',
    body: '<!doctype html><script src="/r/s.js"></script>' }));
  const loaded = [];
  page.on('request', (r) => loaded.push(new URL(r.url()).pathname));
  await page.goto(`${w.url}/plain`);
  await page.waitForFunction(() => typeof window.capi === 'function');
  assert.ok(!loaded.includes('/r/b.js'), loaded.join(' '));
});
