// The rolling sample of recent hits (issue 13, item 4) in workerd, with the real local Queues and D1: hits are
// sampled hashed and with placeholders, a hit with denied consent is not; GET /r/api/sample exports them behind
// the debug token; `capi-edge diff A B --hits` on that export prints what a tightened trigger and an added mapping
// would change; the table keeps the newest 500 of the last 3 days.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, browserHeaders, purchase, sha256, sleep, start, until } from '../support/harness.mjs';

const CONFIG_A = `
[site]
allowed_origins = ["https://shop.example.com"]
sample_one_in = 1

[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1234567890"
token_secret = "META_ACCESS_TOKEN"

[[tag]]
name = "purchase"
destination = "meta"
event = "Purchase"

[[tag]]
name = "lead"
destination = "meta"
event = "Lead"
`;

// A Purchase counts on the thank-you page only, and the lead carries its form.
const CONFIG_B = CONFIG_A
  .replace('name = "purchase"\ndestination = "meta"\nevent = "Purchase"\n',
    'name = "purchase"\ndestination = "meta"\nevent = "Purchase"\ntrigger = { all = [{ field = "event", equals = "Purchase" }, { field = "page.path", starts_with = "/thank-you" }] }\n')
  .replace('event = "Lead"\n', 'event = "Lead"\n[tag.map]\n"data.form" = { from = "data.form", as = "lowercase" }\n');

const auth = { authorization: 'Bearer test-debug-token' };
const DAY = 24 * 3600 * 1000;

async function hit(w, body, headers = {}) {
  const res = await w.fetch('/r/e', { method: 'POST', headers: { ...browserHeaders, ...headers }, body: JSON.stringify(body) });
  assert.ok(res.ok, `intake answered ${res.status}: ${await res.text()}`);
}

async function sample(w) {
  const res = await w.fetch('/r/api/sample', { headers: auth });
  assert.equal(res.status, 200);
  return res.json();
}

describe('the hit sample', () => {
  let w;
  before(async () => { w = await start({ config: CONFIG_A }); });
  after(async () => { await w?.stop(); });

  let exported;
  test('hits are sampled hashed and with placeholders; denied consent is not sampled', async () => {
    await hit(w, purchase('SMP-1'), { cookie: '_fbc=fb.1.1795000000000.IwAR-secret; sid=session-secret' });
    await hit(w, purchase('SMP-2', { page: { url: 'https://shop.example.com/checkout/done?fbclid=IwAR-secret' } }));
    await hit(w, purchase('SMP-DENIED', { context: { consent: { ad_storage: 'denied' } } }));
    await hit(w, { event: 'Lead', event_id: 'SMP-3', page: { url: 'https://shop.example.com/contact' },
      data: { form: 'Quote\u001b[2J\r\nmeta Purchase: forged line' } });
    await until('three sampled hits', async () => (await sample(w)).length >= 3);
    // A hostile id is refused at intake, and the export stays whole.
    const hostile = await w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(purchase('SMP-\r\nx: 1')) });
    assert.equal(hostile.status, 400);
    // Give a late sampled copy of the denied hit time to show, were there one.
    await sleep(500);
    exported = await sample(w);
    const ids = exported.map((r) => r.hit.event_id).sort();
    assert.deepEqual(ids, ['SMP-1', 'SMP-2', 'SMP-3']);
    assert.ok(!ids.includes('SMP-DENIED'), 'a hit with denied consent is not sampled');
    const text = JSON.stringify(exported);
    for (const raw of ['Jane', 'jane.doe', '555-1212', '6505551212', '2001:db8', 'capi-edge-test', 'IwAR-secret', 'session-secret']) {
      assert.ok(!text.includes(raw), `${raw} is in the sample`);
    }
    const first = exported.find((r) => r.hit.event_id === 'SMP-1');
    assert.equal(first.source, 'browser');
    assert.equal(first.hit.user.email, sha256('jane.doe@example.com'));
    assert.equal(first.hit.user.phone, sha256('16505551212'));
    assert.equal(first.hit.context.ip, '203.0.113.1');
    assert.equal(first.hit.context.user_agent, 'capi-edge-sample');
    assert.equal(first.hit.context.cookies._fbc, 'fb.1.1795000000000.capi-edge-sample');
    assert.equal(first.hit.context.cookies.sid, 'capi-edge-sample');
    assert.match(first.hit.context.cookies._fbp, /^fb\.1\.\d+\.capi-edge-sample$/);
    assert.equal(exported.find((r) => r.hit.event_id === 'SMP-2').hit.page.url, 'https://shop.example.com/checkout/done?fbclid=capi-edge-sample');
    assert.equal(exported.find((r) => r.hit.event_id === 'SMP-3').hit.data.form, 'Quote\u001b[2J\r\nmeta Purchase: forged line');

    const refused = await w.fetch('/r/api/sample');
    assert.equal(refused.status, 401, 'the export needs the debug token');
  });

  test('capi-edge diff A B --hits on the export prints what B would change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capi-sample-'));
    writeFileSync(join(dir, 'a.toml'), CONFIG_A);
    writeFileSync(join(dir, 'b.toml'), CONFIG_B);
    writeFileSync(join(dir, 'sample.json'), JSON.stringify(exported));
    const out = execFileSync(CLI, ['diff', 'a.toml', 'b.toml', '--hits', 'sample.json'], { cwd: dir, encoding: 'utf8' });
    const part = out.slice(out.indexOf('the sampled hits of'));
    assert.equal(part, [
      'the sampled hits of sample.json through A (a.toml) and B (b.toml):',
      '3 hits sampled: what A and B send differs for 2 of 2 destination events',
      '~ meta Lead: 1 of 1 hit fire differently',
      '    sent by both, payload differs: 1 hit',
      '      + custom_data.form (added, 1 hit)',
      '          "quote\\u001b[2j\\r\\nmeta purchase: forged line" (1 hit)',
      '~ meta Purchase: 1 of 2 hits fire differently',
      '    sent with A only: 1 hit',
      '      tag "purchase" did not fire: page.path starts_with "/thank-you" (was "/checkout/done") (1 hit)',
      '',
    ].join('\n'));
    assert.ok(!out.includes('\u001b') && !out.includes('\r'), 'no control character reaches the terminal');
  });

  test('the table keeps the newest 500 of the last 3 days', async () => {
    const now = Date.now();
    const insert = w.db.prepare("INSERT INTO hit_samples (received_ms, source, event_name, hit) VALUES (?1, 'browser', 'PageView', '{\"event\":\"PageView\"}')");
    await w.db.batch(Array.from({ length: 600 }, () => insert.bind(now)));
    await w.db.prepare("INSERT INTO hit_samples (received_ms, source, event_name, hit) VALUES (?1, 'browser', 'Old', '{\"event\":\"Old\"}')").bind(now - 4 * DAY).run();
    await hit(w, purchase('SMP-4'));
    const rows = await until('the trim', async () => {
      const s = await sample(w);
      return s.some((r) => r.hit.event_id === 'SMP-4') && s;
    });
    // The newest 500 rows (SMP-4 among them), less the one among them received more than 3 days ago.
    assert.equal(rows.length, 499);
    assert.ok(!rows.some((r) => r.hit.event === 'Old'));
    await w.db.prepare("INSERT INTO hit_samples (received_ms, source, event_name, hit) VALUES (?1, 'browser', 'Old', '{\"event\":\"Old\"}')").bind(now - 4 * DAY).run();
    await w.scheduled(now);
    const { n } = await w.db.prepare("SELECT count(*) AS n FROM hit_samples WHERE event_name = 'Old'").first();
    assert.equal(n, 0, 'the scheduled job deletes sampled hits past 3 days');
  });
});
