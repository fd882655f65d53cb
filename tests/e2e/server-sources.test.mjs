// Server-side sources in workerd: the backend events API, Shopify and WooCommerce order webhooks (HMAC), the same
// order from the browser and from Shopify sent once, and the first-party proxy for the platform's script.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { browserHeaders, purchase, read, sha256, start } from '../support/harness.mjs';
import { validate } from '../support/schema.mjs';

let w;
before(async () => { w = await start(); }, { timeout: 60000 });
after(async () => { await w?.stop(); });

const sign = (secret, body) => createHmac('sha256', secret).update(body).digest('base64');
// An order now carries its own time, and the platforms refuse events older than 7 days: the fixtures' orders are
// re-dated to an hour ago (Shopify with an offset, WooCommerce's _gmt in UTC without one), before signing.
const hourAgo = new Date(Date.now() - 3600e3).toISOString();
const orderTimeMs = Date.parse(hourAgo.slice(0, 19) + 'Z');
const shopify = read('tests/fixtures/webhooks/shopify-orders-create.json')
  .replace('"2026-11-25T19:00:00-05:00"', JSON.stringify(hourAgo.slice(0, 19) + '+00:00'));
const woo = read('tests/fixtures/webhooks/woocommerce-order-created.json')
  .replace('"2026-11-25T19:28:02"', JSON.stringify(hourAgo.slice(0, 19)));
const eventsFor = (id) => w.mock.state.accepted.filter((e) => e.event_id === id);

async function waitLedger(where, n) {
  const until = Date.now() + 15000;
  for (;;) {
    const rows = await w.ledger(where);
    if (rows.length >= n) return rows;
    assert.ok(Date.now() < until, `ledger rows where ${where}: ${JSON.stringify(await w.ledger())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the backend events API', () => {
  const api = (body, key = 'test-backend-key') => w.fetch('/r/api/events', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });

  test('a batch with one bad event: the others are accepted and the bad one\'s reason comes back', async () => {
    const good = purchase('crm-1', { context: { ip: '203.0.113.50', user_agent: 'Mozilla/5.0 (from the visitor)' } });
    const res = await api({ events: [good, { event: 'Purchase', evnt_id: 'typo' }, { event: 'Lead', page: { url: 'https://shop.example.com/contact' }, user: { email: 'lead@example.com' } }] });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected, 1);
    assert.deepEqual(body.results[0].destinations, ['openai', 'meta']);
    assert.equal(body.results[0].event_id, 'crm-1');
    assert.equal(body.results[1].status, 'rejected');
    assert.match(body.results[1].reason, /unknown field `evnt_id`/);
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === 'crm-1').length >= 2);
    const openai = got.find((e) => e.layout === 'openai' && e.event_id === 'crm-1').event;
    assert.equal(openai.user.ip_address, '203.0.113.50', 'the visitor\'s IP passed through from the backend');
    const rows = await waitLedger("event_id = 'crm-1'", 2);
    assert.deepEqual(rows.map((r) => r.source), ['server', 'server']);
  });

  test('a missing or wrong key is refused with 401', async () => {
    for (const key of [null, 'wrong-key', 'test-backend-ke']) {
      const res = await api({ events: [purchase('crm-x')] }, key);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'unauthorized');
    }
  });

  test('requests and responses match openapi.json', async () => {
    const spec = JSON.parse(read('openapi.json'));
    const op = spec.paths['/r/api/events'].post;
    const schemaOf = (status) => op.responses[status].content['application/json'].schema;
    const check = (value, schema, what) => assert.deepEqual(validate(value, schema, spec), [], what);
    // The documented example is a valid request, and the worker accepts it.
    const example = op.requestBody.content['application/json'].example;
    check(example, op.requestBody.content['application/json'].schema, 'the example request');
    const ok = await api(example);
    assert.equal(ok.status, 200);
    check(await ok.json(), schemaOf('200'), 'a 200');
    // A batch with an accepted, a consent-blocked and a rejected event.
    const mixed = await api([purchase('crm-2', { context: { consent: { ad_storage: 'denied' } } }), purchase('crm-3'), { nope: 1 }]);
    const body = await mixed.json();
    check(body, schemaOf('200'), 'a mixed 200');
    assert.equal(body.results[0].dropped[0].status, 'consent_blocked');
    for (const [status, res] of [['401', await api(example, 'wrong')], ['400', await api({ events: 'no' })]]) {
      assert.equal(String(res.status), status);
      check(await res.json(), schemaOf(status), `a ${status}`);
    }
    // The validator itself catches a wrong shape.
    assert.notDeepEqual(validate({ accepted: 1, results: [] }, schemaOf('200'), spec), []);
  });
});

describe('Shopify order webhooks', () => {
  const post = (body, signature, topic = 'orders/create') => w.fetch('/r/webhooks/shopify', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-topic': topic, 'x-shopify-hmac-sha256': signature },
    body,
  });

  test('a signed order becomes one hashed Purchase per destination; a replay and orders/paid are not sent again', async () => {
    const res = await post(shopify, sign('test-shopify-secret', shopify));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).event_id, '820982911946154508');
    await w.waitFor((a) => a.filter((e) => e.event_id === '820982911946154508').length >= 2);
    assert.equal((await post(shopify, sign('test-shopify-secret', shopify))).status, 200, 'a replay is acknowledged');
    assert.equal((await post(shopify, sign('test-shopify-secret', shopify), 'orders/paid')).status, 200);
    await waitLedger("event_id = '820982911946154508' AND duplicates = 2", 2);
    const sent = eventsFor('820982911946154508');
    assert.equal(sent.length, 2, 'once per destination');
    const openai = sent.find((e) => e.layout === 'openai').event;
    assert.equal(openai.data.amount, 40300);
    assert.deepEqual(openai.data.contents.map((c) => c.id), ['IPOD2008PINK', '632910392'], 'SKU, or the product id when the SKU is empty');
    assert.deepEqual(openai.user.emails_sha256, [sha256('jon@example.com')]);
    assert.equal(openai.user.ip_address, '216.191.105.146');
    assert.deepEqual(openai.user.phone_numbers_sha256, [sha256('16135550135')], 'the order phone, normalized');
    assert.ok(openai.user.user_agent.startsWith('Mozilla/5.0 (Macintosh'));
    const meta = sent.find((e) => e.layout === 'meta').event;
    assert.equal(meta.custom_data.value, 403);
    assert.equal(meta.custom_data.order_id, '820982911946154508');
    // As the shop recorded it: the order's time, its landing page on the shop's domain (never order_status_url
    // and its key), and the ChatGPT click id that page carried.
    assert.equal(openai.timestamp_ms, orderTimeMs, 'the order\'s created_at, not the webhook\'s arrival');
    assert.equal(meta.event_time, orderTimeMs / 1000);
    assert.equal(openai.source_url, 'https://shop.example.com/?oppref=opp_123');
    assert.equal(openai.oppref, 'opp_123');
    assert.ok(!JSON.stringify(sent).includes('key=abcdefg'), 'the order page key is never sent');
  });

  test('Shopify\'s header names without the X- prefix are accepted, as its own libraries do', async () => {
    const order = shopify.replace(/820982911946154508/g, '820982911946154599');
    const res = await w.fetch('/r/webhooks/shopify', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'shopify-topic': 'orders/create', 'shopify-hmac-sha256': sign('test-shopify-secret', order) },
      body: order,
    });
    assert.equal(res.status, 200, await res.clone().text());
    await w.waitFor((a) => a.filter((e) => e.event_id === '820982911946154599').length >= 2);
  });

  test('a bad or missing signature is refused with 401 and nothing is sent', async () => {
    const forged = shopify.replace('820982911946154508', '999');
    for (const signature of [sign('wrong-secret', forged), sign('test-shopify-secret', shopify), '', 'garbage']) {
      const res = await post(forged, signature);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'bad_signature');
    }
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(eventsFor('999').length, 0);
  });
});

describe('WooCommerce order webhooks', () => {
  test('a signed order.created becomes a Purchase; the setup ping is acknowledged', async () => {
    const res = await w.fetch('/r/webhooks/woocommerce', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': sign('test-woo-secret', woo) },
      body: woo,
    });
    assert.equal(res.status, 200);
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === '727').length >= 2);
    const openai = got.find((e) => e.layout === 'openai' && e.event_id === '727').event;
    assert.equal(openai.data.amount, 2935);
    assert.deepEqual(openai.data.contents.map((c) => [c.id, c.quantity]), [['93', 2], ['SYI-BLK-M', 1]]);
    assert.deepEqual(openai.user.phone_numbers_sha256, [sha256('15555555555')], 'a national number gets the billing country\'s code');
    assert.deepEqual(openai.user.regions, ['ca']);
    assert.equal(openai.timestamp_ms, orderTimeMs, 'date_created_gmt: UTC though it carries no offset');
    const bad = await w.fetch('/r/webhooks/woocommerce', { method: 'POST', headers: { 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': 'nope' }, body: woo });
    assert.equal(bad.status, 401);
    const ping = await w.fetch('/r/webhooks/woocommerce', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'webhook_id=12' });
    assert.deepEqual(await ping.json(), { ok: true, ping: true });
  });
});

describe('one order from two sources', () => {
  test('the browser Purchase (event_id = order id) then the Shopify webhook reach each platform once', async () => {
    const order = shopify.replace(/820982911946154508/g, '555000111');
    const browser = purchase('555000111');
    const res = await w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(browser) });
    assert.equal(res.status, 204);
    await w.waitFor((a) => a.filter((e) => e.event_id === '555000111').length >= 2);
    const hook = await w.fetch('/r/webhooks/shopify', {
      method: 'POST',
      headers: { 'x-shopify-topic': 'orders/create', 'x-shopify-hmac-sha256': sign('test-shopify-secret', order) },
      body: order,
    });
    assert.equal(hook.status, 200);
    const rows = await waitLedger("event_id = '555000111' AND duplicates = 1", 2);
    assert.deepEqual(rows.map((r) => [r.destination, r.source, r.sources]), [['meta', 'browser', 1 | 4], ['openai', 'browser', 1 | 4]],
      'the ledger knows the order came from the browser and from the webhook');
    assert.equal(eventsFor('555000111').length, 2);
  });
});

describe('the first-party proxy for the platform\'s script', () => {
  test('serves the configured script from the edge cache after the first fetch', async () => {
    const before = w.mock.state.scriptFetches;
    const first = await w.fetch('/r/lib/oaiq.js');
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type'), /javascript/);
    assert.equal(first.headers.get('cache-control'), 'public, max-age=3600');
    assert.match(await first.text(), /capi-edge mock/);
    const second = await w.fetch('/r/lib/oaiq.js');
    assert.match(await second.text(), /capi-edge mock/);
    assert.equal(w.mock.state.scriptFetches - before, 1, 'the second request came from the cache');
  });

  test('with pass_requests, a beacon POST goes on to the fixed upstream, without the visitor\'s cookies', async () => {
    const beacons = await start({ config: read('capi.toml') + '\n[[proxy]]\npath = "/lib/oaiq-events"\nupstream = "https://bzr.openai.com/v1/pixel"\npass_requests = true\n' });
    try {
      const res = await beacons.fetch('/r/lib/oaiq-events', { method: 'POST', headers: { 'content-type': 'text/plain', cookie: '_fbp=fb.1.1.2' }, body: '{"e":"page_viewed"}' });
      assert.equal(res.status, 202);
      assert.deepEqual(beacons.mock.state.beacons, [{ body: '{"e":"page_viewed"}', contentType: 'text/plain', cookie: undefined }]);
      const script = await beacons.fetch('/r/lib/oaiq.js', { method: 'POST', body: 'x' });
      assert.equal(script.status, 405, 'a script proxy without pass_requests takes no POST');
    } finally {
      await beacons.stop();
    }
  });

  test('a path that is not configured is refused, and no request can choose the upstream', async () => {
    for (const path of ['/r/lib/fbevents.js', '/r/lib/oaiq.js?upstream=https://evil.example/x.js', '/r/lib/../lib/oaiq.js.map']) {
      const res = await w.fetch(path);
      if (path.includes('?')) {
        assert.match(await res.text(), /capi-edge mock/, 'query parameters do not change the upstream');
      } else {
        assert.equal(res.status, 404, path);
      }
    }
  });
});
