// Preview mode in workerd: with the debug token, a hit comes back as its full trace, and it goes only to the
// platforms' validation modes, never into the ledger.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserHeaders, purchase, sha256, start } from '../support/harness.mjs';

let w;
before(async () => { w = await start(); }, { timeout: 60000 });
after(async () => { await w?.stop(); });

const post = (body, headers = {}) => w.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, ...headers }, body: JSON.stringify(body) });

test('a hit that fires one tag and misses another comes back as its trace', async () => {
  const hit = purchase('ord-preview', { user: { email: ' Jane.Doe@Example.com ', phone: '12' } });
  const res = await post(hit, { 'x-capi-debug': 'test-debug-token' });
  assert.equal(res.status, 200);
  const { debug, traces } = await res.json();
  assert.equal(debug, true);
  const t = traces[0];
  assert.equal(t.hit.context.ip, '2001:db8::42', 'the hit as the edge enriched it');
  const fired = t.tags.find((x) => x.tag === 'purchase');
  assert.equal(fired.fired, true);
  assert.deepEqual(fired.event.identifiers.em, { normalized: 'jane.doe@example.com', sha256: sha256('jane.doe@example.com') });
  assert.deepEqual(fired.event.warnings, ['ph dropped: a phone number needs 7 to 15 digits with the country code']);
  const missed = t.tags.find((x) => x.tag === 'lead');
  assert.equal(missed.fired, false);
  assert.equal(missed.reason, 'event in ["Lead","Contact","NewsletterSignup"] (was "Purchase")', 'the trace names the failing condition');
  const pageview = t.tags.find((x) => x.tag === 'pageview-from-chatgpt');
  assert.equal(pageview.reason, 'event equals "PageView" (was "Purchase")');
  assert.equal(t.outbound.length, 1);
  assert.equal(t.outbound[0].destination, 'openai');
  assert.equal(t.outbound[0].body.validate_only, true);
  assert.match(t.outbound[0].url, /pid=px_123$/);
  assert.ok(!JSON.stringify(t).includes('test-openai-key'), 'no secret in the trace');
  assert.match(t.not_sent[0].reason, /test_event_code/);

  const got = await w.waitFor((a) => a.some((e) => e.event_id === 'ord-preview'));
  assert.deepEqual(got.filter((e) => e.event_id === 'ord-preview').map((e) => [e.layout, e.test]), [['openai', true]]);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await w.ledger("event_id = 'ord-preview'"), [], 'debug traffic stays out of the ledger');

  // The same order for real afterwards is not a "duplicate" of the preview.
  assert.equal((await post(hit)).status, 204);
  await w.waitFor((a) => a.filter((e) => e.event_id === 'ord-preview' && !e.test).length >= 2);
});

test('a wrong debug token is refused; without DEBUG_TOKEN preview is off', async () => {
  const res = await post(purchase('ord-x'), { 'x-capi-debug': 'guess' });
  assert.equal(res.status, 401);
  const off = await start({ bindings: { DEBUG_TOKEN: undefined } });
  try {
    const r = await off.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, 'x-capi-debug': 'test-debug-token' }, body: JSON.stringify(purchase('ord-y')) });
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error, 'debug_off');
  } finally {
    await off.stop();
  }
});
