// Headless Chromium (Debian's) on the demo shop served by `wrangler dev`: click Buy, and the mock CAPI gets the
// hashed Purchase with the same event_id the page handed to the platform's (stub) browser pixel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from '../support/chromium.mjs';
import { createMock } from '../../mock/capi-mock.mjs';
import { sha256 } from '../support/harness.mjs';
import { startWranglerDev } from '../support/wrangler.mjs';


let mock, dev, browser;
before(async () => {
  mock = createMock({ quiet: true });
  const mockPort = await mock.listen(0);
  dev = await startWranglerDev({ mockPort });
  browser = await launchChromium();
}, { timeout: 120000 });
after(async () => {
  await browser?.close();
  await dev?.stop();
  await mock?.close();
});

/** The mock's events with this id, once there are `n` of them (or what there is after 10 s). */
async function waitAccepted(eventId, n) {
  const until = Date.now() + 10000;
  let got = [];
  while (Date.now() < until) {
    got = mock.state.accepted.filter((e) => e.event_id === eventId);
    if (got.length >= n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return got;
}

test('clicking Buy on the demo shop sends one hashed Purchase per destination, with the browser pixel\'s event_id', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(dev.url + '/');
  await page.waitForFunction(() => typeof window.capi === 'function');
  assert.equal(await page.evaluate(() => window.oaiq && window.oaiq.stub), 'capi-edge mock', 'the platform pixel came through the first-party proxy');
  // The PageView on load goes nowhere: the example config only forwards page views from ChatGPT ads.
  // Add to cart reaches a third platform, TikTok, in its own Events API shape.
  await page.click('#add');
  const cartId = await page.evaluate(() => window.lastAddToCart);
  const cart = await waitAccepted(cartId, 3);
  assert.deepEqual(cart.map((e) => e.layout).sort(), ['meta', 'openai', 'tiktok'], dev.log());
  const tiktok = cart.find((e) => e.layout === 'tiktok').event;
  assert.equal(tiktok.event, 'AddToCart');
  assert.equal(tiktok.user.email, sha256('jane.doe@example.com'));
  assert.ok(tiktok.user.user_agent.includes('Chrome'));

  const clicked = Date.now();
  await page.click('#buy');
  const eventId = await page.evaluate(() => window.lastPurchase);
  const stubCalls = await page.evaluate(() => window.oaiq.calls);
  assert.equal(stubCalls.at(-1)[3].event_id, eventId, 'the page handed the same id to the browser pixel');
  assert.equal(await page.evaluate(() => location.pathname), '/thank-you');
  const transport = await page.evaluate(() => window.capi.lastTransport);
  assert.equal(transport, 'beacon');

  const got = await waitAccepted(eventId, 2);
  assert.deepEqual(got.map((e) => e.layout).sort(), ['meta', 'openai'], dev.log());
  console.log(`demo: Buy clicked → mock CAPI accepted the Purchase at both destinations in ${Math.max(...got.map((e) => e.at)) - clicked} ms`);
  const openai = got.find((e) => e.layout === 'openai').event;
  assert.equal(openai.type, 'order_created');
  assert.deepEqual(openai.user.emails_sha256, [sha256('jane.doe@example.com')]);
  assert.equal(openai.data.amount, 14900);
  assert.ok(openai.user.user_agent.includes('Chrome'), 'the real browser user agent travels');
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.screenshot({ path: new URL('../../target/demo-after-buy.png', import.meta.url).pathname });
});
