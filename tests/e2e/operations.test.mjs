// Operations in workerd, with the real local Queues and D1: replay of what failed (once, never twice, never past
// the platforms' window), alerts from the Cron Trigger's job (one alert, one recovery, a webhook that is down),
// counters-only page views, retention and erasure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { CLI, browserHeaders, purchase, sleep, start, until } from '../support/harness.mjs';

const CONFIG = `
[site]
allowed_origins = ["https://shop.example.com"]

[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1234567890"
token_secret = "META_ACCESS_TOKEN"

[alerts]
webhook_secret = "ALERT_WEBHOOK_URL"
dashboard_url = "https://shop.example.com/r/dashboard"

[retention]
ledger_days = 30
counts_days = 60

[[tag]]
name = "purchase"
destination = "meta"
event = "Purchase"

[[tag]]
name = "page-view"
destination = "meta"
event = "PageView"
`;

const auth = { authorization: 'Bearer test-debug-token', 'content-type': 'application/json' };
const DAY = 24 * 3600 * 1000;

async function hit(w, body) {
  const res = await w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(body) });
  assert.ok(res.ok, `intake answered ${res.status}: ${await res.text()}`);
}

const replay = async (w, body = {}) => {
  const res = await w.fetch('/r/api/replay', { method: 'POST', headers: auth, body: JSON.stringify(body) });
  assert.equal(res.status, 200, `replay answered ${res.status}`);
  return res.json();
};

/** Sends purchases while every platform call fails, and waits until the queue dead-letters them all. */
async function outage(w, ids) {
  w.mock.state.faults = { fail_rate: 1 };
  for (const id of ids) await hit(w, purchase(id));
  const list = ids.map((id) => `'${id}'`).join(',');
  await until('the dead letters', async () => {
    const rows = await w.ledger(`event_id IN (${list})`);
    return rows.length === ids.length && rows.every((r) => r.status === 'dead_letter');
  });
}

describe('replay', () => {
  let w;
  before(async () => { w = await start({ config: CONFIG, maxRetries: 1, listen: true }); });
  after(async () => { await w?.stop(); });

  test('dead letters are kept, replayed once the outage ends, and arrive once', async () => {
    const ids = ['R-1', 'R-2', 'R-3'];
    await outage(w, ids);
    const kept = (await w.db.prepare('SELECT * FROM kept_events ORDER BY event_id').all()).results;
    assert.deepEqual(kept.map((k) => k.event_id), ids);
    for (const k of kept) {
      const message = JSON.parse(k.message);
      assert.equal(message.event_id, k.event_id);
      assert.doesNotMatch(k.message, /jane\.doe@example\.com/i, 'hashed identifiers only');
    }

    // Still failing: nothing arrives, the rows stay dead letters with the platform's new answer.
    const failing = await replay(w);
    assert.equal(failing.sent, 0);
    assert.equal(failing.still_failing.length, 3);
    assert.ok(failing.still_failing.every((r) => r.status === 'dead_letter'));
    assert.equal(w.mock.state.accepted.length, 0);
    for (const r of await w.ledger("event_id LIKE 'R-%'")) {
      assert.equal(r.status, 'dead_letter');
      assert.match(r.response, /HTTP (500|429)/);
    }

    w.mock.state.faults = {};
    const dry = await replay(w, { dry_run: true });
    assert.deepEqual(dry.would_send.map((e) => e.event_id).sort(), ids);
    assert.equal(dry.sent, 0);
    // The same through the CLI, as an operator runs it.
    const cli = execFileSync(CLI, ['replay', '--dry-run', '--destination', 'meta', '--url', `${w.url}/r`], {
      encoding: 'utf8', env: { ...process.env, CAPI_EDGE_TOKEN: 'test-debug-token' },
    });
    assert.match(cli, /^dry run: 3 would be sent, 0 too old \(not sent\), 0 unreadable\n  meta Purchase R-1 \(dead_letter\)/);
    assert.equal(w.mock.state.accepted.length, 0, 'a dry run sends nothing');

    const done = await replay(w, { destination: 'meta', status: 'dead_letter' });
    assert.equal(done.sent, 3, JSON.stringify(done));
    assert.deepEqual(done.still_failing, []);
    const arrived = w.mock.state.accepted.map((a) => a.event_id).sort();
    assert.deepEqual(arrived, ids, 'each once, with its own event id (the platform deduplicates on it)');
    for (const r of await w.ledger("event_id LIKE 'R-%'")) assert.equal(r.status, 'sent');
    assert.equal((await w.db.prepare('SELECT count(*) AS n FROM kept_events').first()).n, 0);

    const again = await replay(w);
    assert.equal(again.selected, 0);
    assert.equal(again.sent, 0);
    assert.equal(w.mock.state.accepted.length, 3, 'a second replay sends nothing');
  });

  test('two replays that overlap send each event once', async () => {
    w.mock.state.accepted = [];
    const ids = ['O-1', 'O-2', 'O-3', 'O-4', 'O-5'];
    await outage(w, ids);
    w.mock.state.faults = { delay_ms: 150 };
    const [a, b] = await Promise.all([replay(w), replay(w)]);
    w.mock.state.faults = {};
    assert.equal(a.sent + b.sent, ids.length, JSON.stringify([a, b]));
    assert.equal(a.taken_by_another_replay + b.taken_by_another_replay, a.selected + b.selected - ids.length);
    assert.deepEqual(w.mock.state.accepted.map((e) => e.event_id).sort(), ids);
  });

  test('an event past the 7-day window is reported, not sent', async () => {
    w.mock.state.accepted = [];
    const now = Date.now();
    const old = now - 8 * DAY;
    const message = {
      destination: 'meta', event_name: 'Purchase', event_id: 'OLD-1', tag: 'purchase', source: 'webhook',
      received_ms: now - DAY, payload: JSON.stringify({ event_name: 'Purchase', event_time: Math.floor(old / 1000), event_id: 'OLD-1', action_source: 'website', user_data: {} }),
      match_quality: 5, value: 10, currency: 'EUR', action: 'send', intake_id: 'i-old', missing: '',
    };
    await w.db.prepare(`INSERT INTO ledger (destination, event_name, event_id, tag, source, sources, intake_id, received_ms, updated_ms, status, response)
      VALUES ('meta', 'Purchase', 'OLD-1', 'purchase', 'webhook', 4, 'i-old', ?1, ?1, 'dead_letter', 'HTTP 503')`).bind(now - DAY).run();
    await w.db.prepare("INSERT INTO kept_events VALUES ('meta', 'Purchase', 'OLD-1', ?1, ?2)").bind(JSON.stringify(message), now - DAY).run();
    const report = await replay(w);
    assert.deepEqual(report.too_old.map((e) => e.event_id), ['OLD-1']);
    assert.equal(report.too_old[0].event_time_ms, Math.floor(old / 1000) * 1000);
    assert.equal(report.sent, 0);
    assert.equal(w.mock.state.accepted.length, 0);
    assert.equal((await w.ledger("event_id = 'OLD-1'"))[0].status, 'dead_letter', 'left where it was');
  });

  test('bad replay requests get a 400 with the reason; no token, no replay', async () => {
    for (const body of ['{"status":"sent"}', '{"destination":"nope"}', '{"since":"last tuesday"}', '{"limit":0}', 'x']) {
      const res = await w.fetch('/r/api/replay', { method: 'POST', headers: auth, body });
      assert.equal(res.status, 400, body);
      assert.ok((await res.json()).error, body);
    }
    const res = await w.fetch('/r/api/replay', { method: 'POST', body: '{}' });
    assert.equal(res.status, 401);
  });
});

describe('alerts', () => {
  let w;
  before(async () => { w = await start({ config: CONFIG, maxRetries: 1 }); });
  after(async () => { await w?.stop(); });

  test('a destination that starts failing raises one alert and, once it recovers, one recovery message', async () => {
    await w.scheduled();
    assert.deepEqual(w.mock.state.alerts, [], 'nothing to say while all is well');

    await outage(w, ['A-1', 'A-2']);
    // The webhook is down too: delivery is not held up, the incident waits for the next run.
    w.mock.state.faults = { fail_rate: 1, alerts_down: true };
    await w.scheduled();
    assert.equal(w.mock.state.alerts.length, 0);
    const incident = await w.db.prepare('SELECT * FROM incidents').first();
    assert.equal(incident.destination, 'meta');
    assert.equal(incident.notified, 0);

    w.mock.state.faults = { fail_rate: 1 };
    // Two runs that overlap: the lease lets one work.
    await Promise.all([w.scheduled(), w.scheduled()]);
    await w.scheduled();
    assert.equal(w.mock.state.alerts.length, 1, JSON.stringify(w.mock.state.alerts));
    const alert = w.mock.state.alerts[0].text;
    assert.match(alert, /\*meta\* needs attention/);
    assert.match(alert, /Purchase: 2 dead-lettered in the last 2 h/);
    assert.match(alert, /Dashboard: https:\/\/shop\.example\.com\/r\/dashboard/);

    w.mock.state.faults = {};
    assert.equal((await replay(w)).sent, 2);
    await w.scheduled();
    assert.equal(w.mock.state.alerts.length, 2);
    assert.match(w.mock.state.alerts[1].text, /\*meta\* recovered \(was: Purchase: 2 dead-lettered/);
    assert.equal((await w.db.prepare('SELECT count(*) AS n FROM incidents').first()).n, 0);
    await w.scheduled();
    assert.equal(w.mock.state.alerts.length, 2, 'recovered once');
  });
});

describe('counters, retention and erasure', () => {
  let w;
  before(async () => { w = await start({ config: CONFIG }); });
  after(async () => { await w?.stop(); });

  test('page views are counted, not kept row by row, and the dashboard shows them with the trend', async () => {
    for (let i = 0; i < 5; i++) await hit(w, { event: 'PageView', event_id: `pv-${i}`, page: { url: 'https://shop.example.com/p' } });
    await hit(w, purchase('C-1'));
    await w.waitFor((a) => a.length === 6);
    await until('the counters', async () => {
      const stats = await (await w.fetch('/r/api/stats?days=1', { headers: auth })).json();
      const pv = stats.events.find((e) => e.event_name === 'PageView');
      return pv?.counts.sent === 5;
    });
    assert.equal((await w.ledger("event_name = 'PageView'")).length, 0, 'no ledger row per page view');
    assert.equal((await w.ledger("event_name = 'Purchase'")).length, 1, 'a purchase keeps its row');
    const stats = await (await w.fetch('/r/api/stats?days=1', { headers: auth })).json();
    const pv = stats.events.find((e) => e.event_name === 'PageView');
    assert.equal(pv.counts.received, 5);
    assert.equal(pv.breakdown.browser, 5);
    assert.ok(pv.match_quality.average > 0);
    const today = Math.floor(Date.now() / DAY) * DAY;
    assert.deepEqual(stats.trend, [{ day_ms: today, destination: 'meta', sent: 6, failed: 0, blocked: 0, events: 6 }]);
  });

  test('the scheduled job deletes what is past its retention, and an erasure deletes an order', async () => {
    const now = Date.now();
    const row = (id, age) => w.db.prepare(`INSERT INTO ledger (destination, event_name, event_id, tag, source, sources, intake_id, received_ms, updated_ms, status)
      VALUES ('meta', 'Purchase', ?1, 't', 'browser', 1, ?1, ?2, ?2, 'sent')`).bind(id, now - age).run();
    await row('old-1', 31 * DAY);
    await row('old-2', 45 * DAY);
    await row('recent-1', 29 * DAY);
    await w.db.prepare("INSERT INTO kept_events VALUES ('meta', 'Purchase', 'old-kept', '{}', ?1)").bind(now - 9 * DAY).run();
    await w.db.prepare("INSERT INTO kept_events VALUES ('meta', 'Purchase', 'new-kept', '{}', ?1)").bind(now - 2 * DAY).run();
    const hour = (age) => Math.floor((now - age) / 3600000);
    await w.db.prepare("INSERT INTO ledger_counts (hour, destination, event_name, status, source, events) VALUES (?1, 'meta', 'Purchase', 'sent', 'browser', 7)")
      .bind(hour(70 * DAY)).run();
    const oldCounters = async () => (await w.db.prepare('SELECT count(*) AS n FROM ledger_counts WHERE hour < ?1').bind(hour(60 * DAY)).first()).n;
    assert.equal(await oldCounters(), 1);
    await w.scheduled(now);
    assert.equal(await oldCounters(), 0, 'counters past counts_days are deleted');
    const ids = (await w.ledger("event_id LIKE 'old-%' OR event_id LIKE 'recent-%'")).map((r) => r.event_id);
    assert.deepEqual(ids, ['recent-1']);
    const kept = (await w.db.prepare('SELECT event_id FROM kept_events').all()).results.map((r) => r.event_id);
    assert.deepEqual(kept, ['new-kept']);
    // The counters stay: history without personal data, kept for counts_days.
    const stats = await (await w.fetch('/r/api/stats?days=60', { headers: auth })).json();
    assert.ok(stats.events.find((e) => e.event_name === 'Purchase').counts.received >= 3);

    const erase = await w.fetch('/r/api/erase', { method: 'POST', headers: auth, body: JSON.stringify({ event_id: 'C-1' }) });
    assert.equal(erase.status, 200);
    assert.deepEqual(await erase.json(), { event_id: 'C-1', ledger_rows: 1, kept_events: 0 });
    assert.equal((await w.ledger("event_id = 'C-1'")).length, 0);
    const bad = await w.fetch('/r/api/erase', { method: 'POST', headers: auth, body: '{"event_id":"a\\r\\nb"}' });
    assert.equal(bad.status, 400);
  });
});

describe('counters folded by day', () => {
  let w;
  before(async () => { w = await start({ config: CONFIG }); });
  after(async () => { await w?.stop(); });

  test('the job folds old hours into days without changing a count, and a late status change still moves its event', async () => {
    const now = Date.now();
    const HOUR = 3600000;
    const day = Math.floor((now - 12 * DAY) / DAY); // past the alerts' 9 days of hours
    const at = (h) => day * DAY + h * HOUR + 60000;
    const row = (id, received, status, quality) => w.db.prepare(`INSERT INTO ledger (destination, event_name, event_id, tag, source, sources,
        intake_id, received_ms, updated_ms, status, match_quality, missing)
      VALUES ('meta', 'Purchase', ?1, 't', 'browser', 1, ?1, ?2, ?2, ?3, ?4, 'ph')`).bind(id, received, status, quality).run();
    await row('f-1', at(3), 'sent', 6.5);
    await row('f-2', at(7), 'sent', 4);
    await row('f-3', at(15), 'dead_letter', 2);
    await row('f-4', at(23), 'dead_letter', 9);
    await row('f-recent', now - 26 * HOUR, 'sent', 7);
    const view = async () => {
      const stats = await (await w.fetch('/r/api/stats?days=30', { headers: auth })).json();
      return { events: stats.events, trend: stats.trend };
    };
    const hourly = async (where) => (await w.db.prepare(`SELECT hour, status, events FROM ledger_counts WHERE ${where} ORDER BY hour, status`).all()).results;
    const before = await view();
    assert.equal(before.events[0].counts.received, 5);
    assert.equal((await hourly(`hour / 24 = ${day}`)).length, 4, 'four hourly counters before the fold');

    await w.scheduled(now);
    assert.deepEqual(await hourly(`hour / 24 = ${day}`), [
      { hour: day * 24, status: 'dead_letter', events: 2 },
      { hour: day * 24, status: 'sent', events: 2 },
    ], 'one counter per status at the day\'s first hour');
    assert.equal((await hourly(`hour >= ${Math.floor((now - 2 * DAY) / HOUR)}`)).length, 1, 'recent hours stay hourly');
    assert.deepEqual(await view(), before, 'the dashboard counts the same after the fold');

    // A replay delivers a dead letter of that day: the event moves from dead_letter to sent.
    await w.db.prepare("UPDATE ledger SET status = 'sent', updated_ms = ?1 WHERE event_id = 'f-3'").bind(now).run();
    const moved = await view();
    const counts = (v) => v.events[0].counts;
    assert.equal(counts(moved).received, 5, 'no event counted twice');
    assert.equal(counts(moved).sent, counts(before).sent + 1);
    assert.equal(counts(moved).dead_letter, counts(before).dead_letter - 1);

    await w.scheduled(now);
    assert.deepEqual(await hourly(`hour / 24 = ${day}`), [
      { hour: day * 24, status: 'dead_letter', events: 1 },
      { hour: day * 24, status: 'sent', events: 3 },
    ], 'the late change is folded in too');
    assert.deepEqual(await view(), moved);
    await w.scheduled(now);
    assert.deepEqual(await view(), moved, 'a second run changes nothing');
  });
});

describe('queue shards', () => {
  let w;
  before(async () => { w = await start({ config: CONFIG, shards: 3 }); });
  after(async () => { await w?.stop(); });

  test('with three delivery queues bound, every event arrives once and the ledger claims across them', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `S-${i}`);
    for (const id of ids) await hit(w, purchase(id));
    // The same purchases again: whichever shard a copy goes through, the ledger's claim lets one be sent.
    for (const id of ids.slice(0, 10)) await hit(w, purchase(id));
    await w.waitFor((a) => a.length >= ids.length);
    await sleep(1500);
    assert.deepEqual(w.mock.state.accepted.map((a) => a.event_id).sort(), [...ids].sort());
    await until('the duplicates counted', async () => {
      const rows = await w.ledger("event_id LIKE 'S-%'");
      return rows.length === 30 && rows.filter((r) => r.duplicates === 1).length === 10;
    });
  });
});
