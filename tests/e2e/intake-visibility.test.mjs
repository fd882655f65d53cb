// Nothing personal in a URL, nothing silent in the traffic, through the built workers in workerd: an email and a
// phone in the thank-you page's URL reach the platforms redacted; a hit whose event fires no tag (a typo on the
// site) is counted by name in the stats API and the dashboard; a wildcard origin is answered without credentials.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserHeaders, purchase, read, start, until } from '../support/harness.mjs';

const auth = { authorization: 'Bearer test-debug-token' };

describe('redaction and hits that fired no tag', () => {
  let w;
  before(async () => { w = await start(); });
  after(async () => { await w?.stop(); });

  const post = (body, headers = browserHeaders) => w.fetch('/r/e', { method: 'POST', headers, body: JSON.stringify(body) });
  const stats = async () => (await w.fetch('/r/api/stats?days=1', { headers: auth })).json();

  test('an email and a phone in the page URL reach the platforms replaced, and are counted', async () => {
    const url = 'https://shop.example.com/thank-you?email=jane%40example.com&phone=%2B16505551212&oppref=opp_1';
    assert.equal((await post(purchase('ORD-R1', { page: { url } }))).status, 204);
    // The GET beacon's u= and the Referer fallback take the same way.
    const beacon = `/r/e?n=Purchase&i=ORD-R2&u=${encodeURIComponent(url)}&d.value=5&d.currency=USD`;
    assert.equal((await w.fetch(beacon, { headers: { 'user-agent': browserHeaders['user-agent'], 'cf-connecting-ip': '2001:db8::1' } })).status, 200);
    const events = await w.waitFor((a) => ['ORD-R1', 'ORD-R2'].every((id) => a.filter((e) => e.event_id === id).length === 2));
    const expected = 'https://shop.example.com/thank-you?email=(redacted)&phone=(redacted)&oppref=opp_1';
    for (const e of events.filter((e) => e.event_id.startsWith('ORD-R'))) {
      assert.equal(e.event.source_url ?? e.event.event_source_url, expected, `${e.layout} ${e.event_id}`);
    }
    assert.doesNotMatch(JSON.stringify(w.mock.state.accepted), /jane|6505551212/);
    const kept = (await w.db.prepare('SELECT message FROM ledger WHERE message IS NOT NULL').all()).results;
    assert.doesNotMatch(JSON.stringify(kept), /jane|6505551212/, 'nor in what the ledger holds');
    const s = await until('the redactions counted', async () => ((await stats()).intake?.redacted_url_values >= 4 ? stats() : null));
    assert.equal(s.intake.redacted_url_values, 4, 'two values, twice');
  });

  test('a typo on the site fires nothing, and the stats API and the dashboard say so by name', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await post(purchase(`T-${i}`, { event: 'Purchse' }))).status, 204);
    // A name a page invents is data, never markup.
    assert.equal((await post({ event: '<img src=x onerror=alert(1)>', page: { url: 'https://shop.example.com/' } })).status, 204);
    const s = await until('the hits that fired no tag', async () => {
      const got = await stats();
      return got.intake?.no_tag_fired?.some((r) => r.event === 'Purchse' && r.hits === 3) ? got : null;
    });
    assert.deepEqual(s.intake.no_tag_fired.find((r) => r.event === 'Purchse').did_you_mean, 'Purchase');
    assert.ok(s.intake.no_tag_fired.some((r) => r.event === '<img src=x onerror=alert(1)>' && r.hits === 1));
    assert.equal((await w.ledger("event_id LIKE 'T-%'")).length, 0, 'nothing was sent or claimed');

    // The trace says the same to a person previewing the hit.
    const res = await w.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, 'x-capi-debug': 'test-debug-token' }, body: JSON.stringify(purchase('T-9', { event: 'Purchse' })) });
    const trace = (await res.json()).traces[0];
    assert.match(trace.no_tag_fired, /no tag fired for event "Purchse".*Did the site mean "Purchase"\?/);
  });

  test('the wildcard origin is answered without credentials and sets no cookie', async () => {
    await w.stop();
    const config = read('capi.toml').replace(/allowed_origins = \[[^\]]*\]/, 'allowed_origins = ["*"]');
    assert.match(config, /allowed_origins = \["\*"\]/);
    w = await start({ config });
    const headers = { ...browserHeaders, origin: 'https://elsewhere.example' };
    const pre = await w.fetch('/r/e', { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal(pre.headers.get('access-control-allow-credentials'), null);
    const res = await post(purchase('ORD-X1', { page: { url: 'https://elsewhere.example/?fbclid=IwAR9' } }), headers);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    assert.equal(res.headers.get('set-cookie'), null);
  });
});
