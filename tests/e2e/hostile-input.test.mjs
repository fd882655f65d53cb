// Hostile input against the built worker in workerd, asserting on the real response headers: a value from the
// request (an id a tag maps, a click id, a cookie) must never become a header or a cookie of the attacker's
// choosing. The reproduced hole: `GET /r/e?event=Purchase&data.order_id=1%0Aset-cookie:…` set any cookie on the
// shop's domain, because the shipped `purchase` tag maps data.order_id into event_id and the id reached
// `x-capi-event-id` through a line-per-header list.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, browserHeaders, start } from '../support/harness.mjs';

let w;
before(async () => { w = await start(); }, { timeout: 60000 });
after(async () => { await w?.stop(); });

const INJECTED = '1\r\nset-cookie: sid=attacker; Domain=example.com; Path=/';
const thankYou = 'https://shop.example.com/thank-you';

/** The worker's own cookies only, each a strict `name=token; Max-Age=…` line; no attacker text in any header. */
function assertClean(res, what) {
  const cookies = res.headers.getSetCookie();
  for (const c of cookies) {
    assert.match(c, /^(_fbp|_fbc|__oppref)=[!#-+\--:<-\[\]-~]{1,512}; Max-Age=7776000; Path=\/; Secure; SameSite=Lax$/, `${what}: ${c}`);
  }
  for (const [name, value] of res.headers) {
    assert.ok(!/sid=attacker|attacker/i.test(value), `${what}: the attacker's text reached ${name}: ${value}`);
    assert.ok(!/[\u0000-\u001f\u007f]/.test(value.replace(/\t/g, '')), `${what}: a control character in ${name}`);
  }
  return res.headers.get('x-capi-event-id') ?? '';
}

describe('a mapped id with a line break (the reproduced response splitting)', () => {
  test('by GET beacon: no header and no cookie of the attacker\'s choosing; the order is still sent', async () => {
    const q = new URLSearchParams({ event: 'Purchase', url: thankYou, 'data.order_id': INJECTED, value: '5', currency: 'USD' });
    const res = await w.fetch(`/r/e?${q}`, { headers: { 'user-agent': browserHeaders['user-agent'] } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/gif');
    const ids = assertClean(res, 'GET');
    assert.match(ids, /^[0-9a-f-]{36}$/, 'the refused order id gives way to a generated id');
    // Nothing lost: the Purchase still reaches both platforms, under the safe id.
    await w.waitFor((a) => a.filter((e) => e.event_id === ids).length >= 2);
  });

  test('by POST body, and with a percent-encoded id that decodes to a line break', async () => {
    for (const order_id of [INJECTED, '1\nset-cookie:sid=attacker', '1\u0000x', '1\u2028set-cookie:x']) {
      const hit = { event: 'Purchase', event_id: 'ord-hostile-' + order_id.length, page: { url: thankYou },
                    data: { order_id, value: 5, currency: 'USD' } };
      const res = await w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(hit) });
      assert.equal(res.status, 204, JSON.stringify(order_id));
      const ids = assertClean(res, `POST ${JSON.stringify(order_id)}`);
      if (order_id.includes('\u2028')) {
        assert.equal(ids, '1%E2%80%A8set-cookie:x', 'U+2028 is no control character: kept, percent-encoded as header bytes');
      } else {
        assert.equal(ids, hit.event_id, 'the hit keeps its own id when the mapped one is refused');
      }
    }
  });
});

describe('hostile values in every field a mapping reads', () => {
  const cases = [
    ['the hit\'s own event_id', { event_id: INJECTED }, 400],
    ['data.order_id', { data: { order_id: INJECTED } }, 204],
    ['data.currency and data.value', { data: { currency: INJECTED, value: INJECTED } }, 204],
    ['user fields', { user: { email: INJECTED, phone: INJECTED, external_id: INJECTED, first_name: INJECTED } }, 204],
    ['context.cookies in the body', { context: { cookies: { _fbc: INJECTED, _fbp: INJECTED, __oppref: INJECTED } } }, 204],
    ['click ids in the page URL', { page: { url: `${thankYou}?oppref=a%0D%0Aset-cookie%3Asid%3Dattacker&fbclid=b%0Aset-cookie%3Asid%3Dattacker` } }, 204],
    ['a raw line break in the page URL', { page: { url: `${thankYou}?fbclid=${INJECTED}` } }, 204],
    ['the referrer and title', { page: { url: thankYou, referrer: INJECTED, title: INJECTED } }, 204],
  ];
  for (const [what, extra, status] of cases) {
    test(what, async () => {
      const hit = { event: 'Purchase', page: { url: thankYou }, data: { value: 5, currency: 'USD' }, ...extra };
      hit.data = { value: 5, currency: 'USD', ...(extra.data ?? {}) };
      const res = await w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(hit) });
      assert.equal(res.status, status, await res.clone().text());
      if (status === 400) assert.equal((await res.json()).error, 'invalid_hit');
      assertClean(res, what);
    });
  }

  test('cookies the visitor sends that could break a Set-Cookie are not written back', async () => {
    const res = await w.fetch('/r/e', {
      method: 'POST',
      headers: { ...browserHeaders, cookie: '_fbc=fb.1.1.x,sid=attacker; __oppref="a\\"b"; _fbp=fb.1.1.2 Domain=attacker' },
      body: JSON.stringify({ event: 'PageView', page: { url: 'https://shop.example.com/' } }),
    });
    assert.equal(res.status, 204);
    assertClean(res, 'cookie header');
    const names = res.headers.getSetCookie().map((c) => c.split('=')[0]);
    assert.deepEqual(names, ['_fbp'], 'only a fresh _fbp: the hostile ones are neither refreshed nor echoed');
    assert.match(res.headers.getSetCookie()[0], /^_fbp=fb\.1\.\d{13}\.\d+;/, 'the unusable _fbp is replaced');
  });
});

describe('the worker\'s own routes cannot be claimed by a proxy', () => {
  test('a config whose proxy claims /dashboard is refused at compile time, with the line', async () => {
    const { execFileSync } = await import('node:child_process');
    const toml = '[[proxy]]\npath = "/dashboard"\nupstream = "https://cdn.example.com/x.js"\n';
    let out = '';
    try {
      execFileSync(CLI, ['compile', '-'], { input: toml, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      out = e.stdout + e.stderr;
    }
    assert.match(out, /proxy path "\/dashboard" is one of the worker's own routes/);
    assert.match(out, /capi\.toml:2:8|:2:8/);
  });

  test('a built-in path with the wrong method gets a JSON 405, not a proxy', async () => {
    const res = await w.fetch('/r/health', { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal((await res.json()).error, 'method_not_allowed');
    // The dashboard page is a static file now: the static layer refuses the method itself (no JSON body there).
    assert.equal((await w.fetch('/r/dashboard', { method: 'POST' })).status, 405);
  });
});
