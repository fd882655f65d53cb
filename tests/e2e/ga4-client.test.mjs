// The GA4 client in workerd, with the shipped capi.toml: a site whose gtag.js points at its own domain
// (server_container_url) sends documented-shape GA4 hits to /r/g/collect. They reach the mock CAPIs as the right
// standard events with the GA4 values, and the ga4 destination passes the original requests on for Google.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../support/harness.mjs';

let w;
before(async () => { w = await start(); }, { timeout: 60000 });
after(async () => { await w?.stop(); });

const page = 'https://shop.example.com';
// As gtag.js sends them from a page on the shop's own origin.
const headers = {
  origin: page,
  'content-type': 'text/plain;charset=UTF-8',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) gtag-test',
  'cf-connecting-ip': '198.51.100.77',
  cookie: '_ga=GA1.1.315691213.1760240992',
};
const shared = (extra) => 'v=2&tid=G-5T0Z13HKP4&gtm=45je5580h2v9219555710za200&_p=1746817938582&cid=315691213.1760240992'
  + '&ul=en-us&sr=1745x982&sid=1746817858&sct=1&seg=1&_s=3' + extra;
const collect = (query, body = '') => w.fetch(`/r/g/collect?${query}`, { method: 'POST', headers, body });
const forwards = () => w.mock.state.ga4;

describe('GA4 hits sent first-party', () => {
  test('a purchase with two items and tax becomes a Purchase at OpenAI and Meta, and goes on to Google as it came', async () => {
    // Items from Google's ecommerce guide in gtag's pr<N> wire format; transaction_id is the event id.
    const query = shared('&gcs=G111&dl=https%3A%2F%2Fshop.example.com%2Fthank-you%3Forder%3DT-1001&dt=Thank%20you'
      + '&en=purchase&_c=1&_ee=1&pr1=idSKU_12345~nmStan%20and%20Friends%20Tee~brGoogle~caApparel~pr10.01~qt3'
      + '&pr2=idSKU_67890~nmGoogle%20Mug~caHome~pr8~qt1&cu=USD&ep.transaction_id=T-1001&epn.value=38.03'
      + '&epn.tax=3.6&epn.shipping=5&richsstsse');
    const res = await collect(query);
    assert.equal(res.status, 204, 'answered as Google answers');
    assert.equal(res.headers.get('access-control-allow-origin'), null, 'same-origin page: no CORS needed');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-store, must-revalidate');
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === 'T-1001').length >= 2);
    const openai = got.find((e) => e.layout === 'openai' && e.event_id === 'T-1001').event;
    assert.equal(openai.type, 'order_created');
    assert.equal(openai.data.amount, 3803);
    assert.deepEqual(openai.data.contents.map((c) => [c.id, c.quantity, c.amount]), [['SKU_12345', 3, 1001], ['SKU_67890', 1, 800]]);
    assert.equal(openai.source_url, 'https://shop.example.com/thank-you?order=T-1001');
    assert.equal(openai.user.ip_address, '198.51.100.77', 'the edge\'s view of the visitor');
    const meta = got.find((e) => e.layout === 'meta' && e.event_id === 'T-1001').event;
    assert.equal(meta.event_name, 'Purchase');
    assert.equal(meta.custom_data.value, 38.03);
    assert.equal(meta.custom_data.currency, 'USD');
    await waitForwards(1);
    const forward = forwards().find((f) => f.query.includes('T-1001'));
    assert.ok(forward.query.startsWith(query), 'the original query, unchanged');
    assert.equal(forward.uip, '198.51.100.77', 'Google gets the visitor\'s IP as _uip');
    assert.equal(forward.userAgent, headers['user-agent']);
  });

  test('a batch of page_view, view_item and add_to_cart: each line is an event; the batch goes to Google whole', async () => {
    const before = forwards().length;
    const query = shared('&gcs=G111&dl=https%3A%2F%2Fshop.example.com%2Fproducts%2Ftee&dt=Tee');
    const body = 'en=page_view&_et=12\r\nen=view_item&cu=USD&epn.value=10.01&pr1=idSKU_12345~nmTee~pr10.01~qt1\r\n'
      + 'en=add_to_cart&cu=USD&epn.value=10.01&pr1=idSKU_12345~nmTee~pr10.01~qt1';
    const res = await collect(query, body);
    assert.equal(res.status, 204);
    const ids = (res.headers.get('x-capi-event-id') ?? '').split(',');
    assert.equal(ids.length, 3, 'one event per line');
    const atc = ids[2];
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === atc).length >= 3);
    // capi.toml's add-to-cart tag: OpenAI, Meta and TikTok, each with its own name for it.
    assert.deepEqual(got.filter((e) => e.event_id === atc).map((e) => `${e.layout}:${e.event_name}`).sort(), ['meta:AddToCart', 'openai:items_added', 'tiktok:AddToCart']);
    assert.equal(got.find((e) => e.event_id === atc && e.layout === 'openai').event.data.amount, 1001);
    await waitForwards(before + 1);
    assert.equal(forwards().at(-1).body, body.replace(/\r\n/g, '\n'), 'the lines, as gtag sent them');
  });

  test('a denied-consent hit reaches no ad platform, and Google gets it without the IP', async () => {
    const before = forwards().length;
    const query = shared('&gcs=G100&dl=https%3A%2F%2Fshop.example.com%2Fthank-you&en=purchase&cu=USD'
      + '&ep.transaction_id=T-DENIED&epn.value=5&pr1=idX~qt1');
    assert.equal((await collect(query)).status, 204);
    await waitForwards(before + 1);
    assert.equal(forwards().at(-1).uip, null, 'analytics storage denied: no IP for Google');
    const rows = await waitRows("event_id = 'T-DENIED'", 2);
    assert.deepEqual(rows.map((r) => r.status), ['consent_blocked', 'consent_blocked']);
    assert.equal(w.mock.state.accepted.filter((e) => e.event_id === 'T-DENIED').length, 0);
  });

  test('a raw email in a GA4 parameter is never forwarded raw: not to an ad platform, not to Google', async () => {
    const before = forwards().length;
    const query = shared('&gcs=G111&dl=https%3A%2F%2Fshop.example.com%2Fthank-you&en=purchase&cu=USD'
      + '&ep.transaction_id=T-PII&epn.value=5&ep.user_data.email=jane.doe%40example.com');
    assert.equal((await collect(query)).status, 204);
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === 'T-PII').length >= 2);
    assert.ok(!JSON.stringify(got.filter((e) => e.event_id === 'T-PII')).includes('jane.doe'));
    await waitForwards(before + 1);
    const forward = forwards().find((f) => f.query.includes('T-PII'));
    assert.ok(!forward.query.includes('jane.doe') && !forward.query.includes('user_data'), forward.query);
    assert.ok(forward.query.includes('ep.transaction_id=T-PII'), 'the rest goes on as it came');
  });

  test('bad input: a 4xx with a JSON reason, and nothing queued', async () => {
    const binary = await collect(shared('&en=page_view'), Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    assert.equal(binary.status, 400);
    assert.equal((await binary.json()).error, 'invalid_utf8');
    const many = await collect(shared(''), Array.from({ length: 101 }, () => 'en=page_view').join('\n'));
    assert.equal(many.status, 413);
    assert.match((await many.json()).detail, /100/);
    const huge = await collect(shared(''), Array.from({ length: 10000 }, () => 'en=page_view').join('\n'));
    assert.equal(huge.status, 413, 'over the body limit');
    const none = await collect('v=2&tid=G-1');
    assert.equal(none.status, 400);
    // One unreadable line in a batch: the others go on, and the dashboard counts the refused one.
    const mixed = await collect(shared('&gcs=G111&dl=https%3A%2F%2Fshop.example.com%2F'), 'en=page_view\nen=\nen=scroll');
    assert.equal(mixed.status, 204);
    assert.equal((mixed.headers.get('x-capi-event-id') ?? '').split(',').length, 2, 'two readable events');
    const [row] = await waitRows("event_name = 'ga4_unreadable_line'", 1);
    assert.equal(row.destination, 'google-analytics');
    assert.equal(row.status, 'dropped');
    assert.match(row.response, /a GA4 line was refused: event 1/);
  });
});

async function waitForwards(n, ms = 15000) {
  const until = Date.now() + ms;
  while (forwards().length < n) {
    assert.ok(Date.now() < until, `Google got ${forwards().length} forwards; refused: ${JSON.stringify(w.mock.state.refused)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitRows(where, n, ms = 15000) {
  const until = Date.now() + ms;
  for (;;) {
    const rows = await w.ledger(where);
    if (rows.length >= n) return rows;
    assert.ok(Date.now() < until, `ledger: ${JSON.stringify(await w.ledger())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
