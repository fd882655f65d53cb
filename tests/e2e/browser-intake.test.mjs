// The built worker in workerd: browser events in, the exact outbound bodies out at the mock CAPI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { browserHeaders, purchase, sha256, start } from '../support/harness.mjs';

let w;
before(async () => { w = await start(); }, { timeout: 60000 });
after(async () => { await w?.stop(); });

const post = (body, headers = {}) =>
  w.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('a browser Purchase', () => {
  test('is answered at once and reaches both destinations with the exact outbound bodies', async () => {
    const res = await post(purchase('ord-1001'));
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('x-capi-event-id'), 'ord-1001');
    // The page is on the worker's own origin (first-party routing): the browser applies no CORS.
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === 'ord-1001').length >= 2);
    const openai = got.find((e) => e.layout === 'openai' && e.event_id === 'ord-1001').event;
    const meta = got.find((e) => e.layout === 'meta' && e.event_id === 'ord-1001').event;

    assert.ok(Math.abs(openai.timestamp_ms - Date.now()) < 60000);
    assert.deepEqual({ ...openai, timestamp_ms: 0 }, {
      id: 'ord-1001',
      type: 'order_created',
      timestamp_ms: 0,
      action_source: 'web',
      source_url: 'https://shop.example.com/thank-you?o=ord-1001',
      user: {
        emails_sha256: [sha256('jane.doe@example.com')],
        phone_numbers_sha256: [sha256('16505551212')],
        ip_address: '2001:db8::42',
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64) capi-edge-test',
      },
      data: { type: 'contents', amount: 14900, currency: 'USD', contents: [{ id: 'BOOT-42', quantity: 1, amount: 14900, currency: 'USD' }] },
    });
    assert.equal(meta.event_name, 'Purchase');
    assert.equal(meta.event_id, 'ord-1001', 'the same event_id reaches every destination');
    assert.deepEqual(meta.user_data.em, [sha256('jane.doe@example.com')]);
    assert.equal(meta.user_data.client_ip_address, '2001:db8::42', 'IPv6 kept');
    assert.ok(meta.user_data.fbp.startsWith('fb.1.'), 'the server-set _fbp travels with the event');
    assert.equal(meta.custom_data.value, 149);
    assert.ok(!JSON.stringify(got).includes('Jane'), 'no raw PII reaches a platform');
  });

  test('non-ASCII names and cities are lowercased as the native core does before hashing', async () => {
    // The worker maps case through the runtime's toLowerCase (src/base/text.rs); these are the native core's
    // normalized forms (src/identity/normalize.rs tests), including Greek's final sigma and the dotted İ.
    const res = await post(purchase('ord-unicode', {
      user: { email: 'JOSÉ@Example.COM', first_name: 'ÉLOÏSE', last_name: 'ΟΔΥΣΣΕΥΣ', city: 'İZMİR', country: 'TR' },
    }));
    assert.equal(res.status, 204);
    const got = await w.waitFor((a) => a.some((e) => e.layout === 'meta' && e.event_id === 'ord-unicode'));
    const meta = got.find((e) => e.layout === 'meta' && e.event_id === 'ord-unicode').event;
    assert.deepEqual(meta.user_data.em, [sha256('josé@example.com')]);
    assert.deepEqual(meta.user_data.fn, [sha256('éloïse')]);
    assert.deepEqual(meta.user_data.ln, [sha256('οδυσσευς')]);
    assert.deepEqual(meta.user_data.ct, [sha256('izmir')]);
  });

  test('a generated event_id is handed back and shared by every destination', async () => {
    const hit = purchase(undefined);
    delete hit.event_id;
    const res = await post(hit);
    const id = res.headers.get('x-capi-event-id');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === id).length >= 2);
    assert.deepEqual(got.filter((e) => e.event_id === id).map((e) => e.layout).sort(), ['meta', 'openai']);
  });

  test('the token comes from the secret binding', async () => {
    const sent = w.mock.state.accepted.length;
    assert.ok(sent > 0);
    // The mock saw Bearer test-openai-key and access_token test-meta-token; a mock that expects other tokens refuses.
    const strict = await start({ expectTokens: { openai: 'other-key' }, maxRetries: 1 });
    try {
      await strict.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(purchase('ord-tok')) });
      const rows = await waitLedger(strict, "event_id = 'ord-tok' AND destination = 'openai' AND status IN ('retrying', 'dead_letter')");
      assert.match(rows[0].response, /HTTP 401 \(check the token secret\)/);
      await strict.waitFor((a) => a.some((e) => e.layout === 'meta' && e.event_id === 'ord-tok'));
    } finally {
      await strict.stop();
    }
  });

  test('a token secret saved with a trailing newline still works, as fetch headers trim it', async () => {
    const pasted = await start({ bindings: { OPENAI_CAPI_KEY: 'pasted-key\n' }, expectTokens: { openai: 'pasted-key' } });
    try {
      await pasted.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(purchase('ord-pasted')) });
      await pasted.waitFor((a) => a.some((e) => e.layout === 'openai' && e.event_id === 'ord-pasted'), 15000, 'the OpenAI delivery');
    } finally {
      await pasted.stop();
    }
  });
});

describe('the transports the pixel uses', () => {
  test('a sendBeacon text/plain body is accepted', async () => {
    const res = await post(purchase('ord-beacon'), { 'content-type': 'text/plain;charset=UTF-8' });
    assert.equal(res.status, 204);
    await w.waitFor((a) => a.some((e) => e.event_id === 'ord-beacon'));
  });

  test('a GET image beacon answers a 1x1 gif and forwards the event', async () => {
    const q = new URLSearchParams({ event: 'AddToCart', event_id: 'atc-1', url: 'https://shop.example.com/p/boots', value: '149', currency: 'USD' });
    const res = await w.fetch('/r/e?' + q, { headers: { 'user-agent': 'UA-gif', 'cf-connecting-ip': '203.0.113.7' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/gif');
    assert.equal((await res.arrayBuffer()).byteLength, 43);
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === 'atc-1').length >= 2);
    const openai = got.find((e) => e.layout === 'openai' && e.event_id === 'atc-1').event;
    assert.equal(openai.type, 'items_added');
    assert.equal(openai.data.amount, 14900);
  });

  test("a GET beacon with the pixel's short names (n, i, u, d.*) reads as the long ones", async () => {
    // The pixel sends these because EasyPrivacy blocks '?event=pageview&' (src/intake/mod.rs lists the rules checked).
    // capi.toml sends a PageView to openai only with an oppref, read here from the u= page URL.
    const q = 'n=PageView&i=pv-short-1&u=' + encodeURIComponent('https://shop.example.com/p/boots?oppref=opp_7') + '&d.value=149&d.currency=USD';
    const res = await w.fetch('/r/e?' + q, { headers: { 'user-agent': 'UA-gif', 'cf-connecting-ip': '203.0.113.7' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/gif');
    const got = await w.waitFor((a) => a.some((e) => e.layout === 'openai' && e.event_id === 'pv-short-1'));
    const openai = got.find((e) => e.layout === 'openai' && e.event_id === 'pv-short-1').event;
    assert.equal(openai.type, 'page_viewed');
    assert.equal(openai.oppref, 'opp_7');
    assert.equal(openai.data.amount, 14900);
  });

  test('the pixel script is served first-party, pointed at this worker, and small', async () => {
    const res = await w.fetch('/r/s.js');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /javascript/);
    const js = await res.text();
    assert.match(js, /="\/r\/e"/, 'pointed at this worker\'s /r/e');
    assert.match(js, /^\/\*! capi-edge first-party pixel/, 'minified, with its usage header kept');
    const gz = gzipSync(js, { level: 9 }).length;
    console.log(`pixel script: ${js.length} bytes raw, ${gz} bytes gzip`);
    assert.ok(gz < 2048, `pixel script is ${gz} bytes gzip`);
  });
});

describe('click ids become first-party cookies', () => {
  test('fbclid and oppref in the URL are set as _fbc and __oppref and carried by the event', async () => {
    const hit = purchase('ord-click', { page: { url: 'https://shop.example.com/thank-you?fbclid=IwAR-abc&oppref=opp_42' } });
    const res = await post(hit);
    const cookies = res.headers.getSetCookie();
    const fbc = cookies.find((c) => c.startsWith('_fbc='));
    assert.match(fbc, /^_fbc=fb\.1\.\d{13}\.IwAR-abc; Max-Age=7776000; Path=\/; Secure; SameSite=Lax$/);
    assert.ok(cookies.some((c) => c.startsWith('__oppref=opp_42; Max-Age=7776000;')));
    assert.ok(cookies.some((c) => /^_fbp=fb\.1\.\d{13}\.\d+;/.test(c)));
    const got = await w.waitFor((a) => a.filter((e) => e.event_id === 'ord-click').length >= 2);
    assert.equal(got.find((e) => e.layout === 'openai' && e.event_id === 'ord-click').event.oppref, 'opp_42');
    assert.equal(got.find((e) => e.layout === 'meta' && e.event_id === 'ord-click').event.user_data.fbc, fbc.split(';')[0].slice(5));
  });

  test('cookies already set are kept and refreshed; consent denied sets none', async () => {
    const res = await post(purchase('ord-cookie'), { cookie: '_fbc=fb.1.1700000000000.OLD; __oppref=opp_old; _fbp=fb.1.1.2' });
    const cookies = res.headers.getSetCookie();
    assert.ok(cookies.includes('_fbc=fb.1.1700000000000.OLD; Max-Age=7776000; Path=/; Secure; SameSite=Lax'));
    const denied = await post(purchase('ord-denied', { context: { consent: { ad_storage: 'denied' } } }));
    assert.equal(denied.status, 204);
    assert.deepEqual(denied.headers.getSetCookie(), []);
    const rows = await waitLedger(w, "event_id = 'ord-denied'", 2);
    assert.deepEqual(rows.map((r) => r.status), ['consent_blocked', 'consent_blocked']);
    assert.ok(!w.mock.state.accepted.some((e) => e.event_id === 'ord-denied'));
  });
});

describe('dedup at the edge', () => {
  test('the same event twice is sent once, and the ledger counts the duplicate', async () => {
    await post(purchase('ord-twice'));
    await post(purchase('ord-twice'));
    await waitLedger(w, "event_id = 'ord-twice' AND status = 'sent'", 2);
    await new Promise((r) => setTimeout(r, 1500));
    const sent = w.mock.state.accepted.filter((e) => e.event_id === 'ord-twice');
    assert.equal(sent.length, 2, 'once per destination');
    const rows = await w.ledger("event_id = 'ord-twice'");
    assert.deepEqual(rows.map((r) => [r.destination, r.status, r.duplicates]), [['meta', 'sent', 1], ['openai', 'sent', 1]]);
    assert.ok(!JSON.stringify(rows).includes('Jane'), 'the ledger holds no raw PII');
  });
});

describe('the queue across an upgrade', () => {
  test('a message queued as an object by an earlier version is still delivered', async () => {
    // A payload the platform accepts, taken from a real delivery; then the message as the previous version
    // queued it: a structured-clone object, not the JSON text intake sends now.
    await post(purchase('ord-template'));
    const isTemplate = (e) => e.event_id === 'ord-template' && e.layout === 'openai';
    const { event } = (await w.waitFor((a) => a.some(isTemplate))).find(isTemplate);
    const queue = await w.mf.getQueueProducer('DELIVERIES');
    await queue.send({
      destination: 'openai', event_name: 'Purchase', event_id: 'ord-queued-before', tag: 'purchase', source: 'browser',
      received_ms: Date.now(), payload: JSON.stringify({ ...event, id: 'ord-queued-before' }), match_quality: 5,
      value: 149, currency: 'USD', action: 'send', intake_id: 'intake-before-upgrade', missing: '', test: false,
    });
    await w.waitFor((a) => a.some((e) => e.event_id === 'ord-queued-before' && e.layout === 'openai'), 15000, 'the old message');
    await waitLedger(w, "event_id = 'ord-queued-before' AND status = 'sent'", 1);
  });
});

describe('retries run out', () => {
  test('a platform that keeps failing: the message goes to the dead-letter queue and the ledger says so', async () => {
    const failing = await start({ maxRetries: 2 });
    try {
      failing.mock.state.faults = { fail_rate: 1 };
      await failing.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(purchase('ord-dlq')) });
      const rows = await waitLedger(failing, "event_id = 'ord-dlq' AND status = 'dead_letter'", 2, 30000);
      assert.deepEqual(rows.map((r) => [r.destination, r.status, r.attempts]), [['meta', 'dead_letter', 3], ['openai', 'dead_letter', 3]]);
      assert.match(rows[0].response, /^HTTP (500|429): /, 'the last platform answer is kept');
      assert.equal(failing.mock.state.accepted.length, 0);
    } finally {
      await failing.stop();
    }
  });
});

describe('a pixel id the platform does not know', () => {
  test('is a config error: the events fail at once with the reason, no retries, no dead letter', async () => {
    const wrong = await start({ maxRetries: 3 });
    try {
      wrong.mock.state.faults = { unknown_pids: ['px_123'] };
      await wrong.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(purchase('ord-pid')) });
      const [row] = await waitLedger(wrong, "event_id = 'ord-pid' AND destination = 'openai' AND status = 'failed'");
      assert.equal(row.attempts, 1, 'not retried: no retry can fix a wrong pixel_id');
      assert.match(row.response, /OpenAI does not know pixel id px_123: check pixel_id in capi\.toml/);
      // Meta, configured right, is unaffected.
      await wrong.waitFor((a) => a.some((e) => e.layout === 'meta' && e.event_id === 'ord-pid'));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await wrong.ledger("status = 'dead_letter'")).length, 0);
    } finally {
      await wrong.stop();
    }
  });
});

describe('the origin and input guard', () => {
  test('a page on another origin is refused and nothing is sent', async () => {
    const res = await post(purchase('ord-evil'), { origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { error: 'origin_not_allowed', detail: 'https://evil.example is not in [site] allowed_origins' });
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!w.mock.state.accepted.some((e) => e.event_id === 'ord-evil'));
  });

  test('a preflight from an allowed origin is answered with CORS headers', async () => {
    const res = await w.fetch('/r/e', { method: 'OPTIONS', headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example.com');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  });

  const bad = [
    ['malformed JSON', '{"event":', {}, 400, 'invalid_json'],
    ['an unknown top-level field', '{"event":"Purchase","evnt_id":"x"}', {}, 400, 'invalid_hit'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), {}, 400, 'invalid_utf8'],
    ['deeply nested JSON', `{"event":"A","data":{"x":${'['.repeat(3000)}${']'.repeat(3000)}}}`, {}, 400, 'invalid_json'],
    ['an oversized body', JSON.stringify({ event: 'A', data: { pad: 'x'.repeat(70000) } }), {}, 413, 'body_too_large'],
    ['a 10 MB body', 'x'.repeat(10 * 1024 * 1024), {}, 413, 'body_too_large'],
    ['an unknown content type', '<hit/>', { 'content-type': 'application/xml' }, 415, 'unsupported_content_type'],
    ['an event id with a header injection', JSON.stringify({ event: 'A', event_id: 'x\r\nSet-Cookie: a=b' }), {}, 400, 'invalid_hit'],
  ];
  for (const [name, body, headers, status, error] of bad) {
    test(`${name} gets ${status} ${error} with a reason`, async () => {
      // From another allowed origin, so the answer must carry CORS headers for the page to read it.
      const origin = 'http://localhost:8787';
      const res = await w.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, origin, ...headers }, body });
      assert.equal(res.status, status);
      const json = await res.json();
      assert.equal(json.error, error);
      assert.ok(json.detail.length > 10, json.detail);
      assert.equal(res.headers.get('access-control-allow-origin'), origin, 'the page can read the reason');
    });
  }

  test('one address over the per-IP limit gets 429 with Retry-After; others go on', async () => {
    const limited = await start({ rateLimit: 3 });
    try {
      const send = (ip) => limited.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, 'cf-connecting-ip': ip }, body: JSON.stringify({ event: 'PageView' }) });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await send('198.51.100.1')).status);
      assert.deepEqual(statuses, [204, 204, 204, 429, 429]);
      const res = await send('198.51.100.1');
      assert.equal(res.headers.get('retry-after'), '60');
      assert.deepEqual(await res.json(), { error: 'rate_limited', detail: 'too many events from this address; retry later' });
      assert.equal((await send('198.51.100.2')).status, 204, 'another address is not limited');
    } finally {
      await limited.stop();
    }
  });

  test('unknown routes get a JSON 404, health answers', async () => {
    const res = await w.fetch('/r/nope');
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error, 'not_found');
    const health = await (await w.fetch('/r/health')).json();
    assert.deepEqual(health.destinations, [{ name: 'openai', kind: 'openai' }, { name: 'meta', kind: 'meta' }, { name: 'tiktok', kind: 'tiktok' }, { name: 'google-analytics', kind: 'ga4' }]);
    assert.equal((await w.fetch('/')).status, 404, 'the demo page is only served in the local loop');
  });
});

/** Polls the ledger until `n` rows match. */
async function waitLedger(worker, where, n = 1, ms = 15000) {
  const until = Date.now() + ms;
  let rows = [];
  while (Date.now() < until) {
    rows = await worker.ledger(where);
    if (rows.length >= n) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ledger has ${rows.length} rows where ${where}: ${JSON.stringify(await worker.ledger())}`);
}
