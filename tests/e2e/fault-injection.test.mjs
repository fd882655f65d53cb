// Delivery that loses nothing: 2,000 browser events (plus 100 duplicates) through the built worker in workerd,
// with the mock CAPI failing 30% of requests (500/429), timing out 5%, and refusing one bad event.
// Once the queue drains: every valid event reached each platform exactly once, the bad one is recorded as
// failed with the platform's message, duplicates were not sent twice, and the ledger agrees with the mock.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserHeaders, purchase, start } from '../support/harness.mjs';

const EVENTS = 2000;
const DUPLICATES = 100;
const BAD = 'ord-bad-1234';
let w;
before(async () => { w = await start({ maxRetries: 20 }); }, { timeout: 60000 });
after(async () => { await w?.stop(); });

test('faults, retries, a bad event and duplicates: every valid event arrives exactly once', { timeout: 300000 }, async () => {
  w.mock.state.faults = { fail_rate: 0.3, timeout_rate: 0.05, timeout_ms: 3000, reject_event_id: BAD };
  w.mock.state.rng = 7;
  const ids = Array.from({ length: EVENTS }, (_, i) => (i === 1234 ? BAD : `ord-${i}`));
  const batches = [];
  for (let i = 0; i < EVENTS; i += 100) batches.push(ids.slice(i, i + 100));
  batches.push(ids.slice(0, DUPLICATES)); // the browser fires again
  const started = Date.now();
  for (const batch of batches) {
    const res = await w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(batch.map((id) => purchase(id))) });
    assert.equal(res.status, 204);
  }
  const intakeMs = Date.now() - started;

  // Drain: every (destination, event) row final.
  const until = Date.now() + 240000;
  let rows;
  for (;;) {
    rows = (await w.db.prepare("SELECT status, COUNT(*) AS n FROM ledger GROUP BY status").all()).results;
    const open = rows.filter((r) => !['sent', 'failed', 'dead_letter'].includes(r.status)).reduce((a, r) => a + r.n, 0);
    const total = rows.reduce((a, r) => a + r.n, 0);
    if (total === 2 * EVENTS && open === 0) break;
    assert.ok(Date.now() < until, `queue did not drain: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const drainMs = Date.now() - started;

  const accepted = w.mock.state.accepted;
  const perEvent = new Map();
  for (const a of accepted) perEvent.set(`${a.layout}/${a.event_id}`, (perEvent.get(`${a.layout}/${a.event_id}`) || 0) + 1);
  const twice = [...perEvent].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no event reached a platform twice');
  for (const layout of ['openai', 'meta']) {
    const missing = ids.filter((id) => id !== BAD && !perEvent.has(`${layout}/${id}`));
    assert.deepEqual(missing, [], `every valid event reached ${layout}`);
    assert.ok(!perEvent.has(`${layout}/${BAD}`), `the bad event was not accepted by ${layout}`);
  }

  const bad = await w.ledger(`event_id = '${BAD}'`);
  assert.deepEqual(bad.map((r) => [r.destination, r.status]), [['meta', 'failed'], ['openai', 'failed']]);
  assert.match(bad.find((r) => r.destination === 'openai').response, /HTTP 400: Invalid event at events\[\d+\]/);
  assert.match(bad.find((r) => r.destination === 'meta').response, /HTTP 400: data\[\d+\]: Invalid parameter \(injected\) \(100\)/);

  const ledger = (await w.db.prepare(
    "SELECT destination, SUM(status = 'sent') AS sent, SUM(status = 'failed') AS failed, SUM(status = 'dead_letter') AS dead, SUM(duplicates) AS duplicates, MAX(attempts) AS max_attempts, SUM(attempts) AS attempts FROM ledger GROUP BY destination ORDER BY destination",
  ).all()).results;
  for (const row of ledger) {
    const layout = row.destination;
    assert.equal(row.sent, accepted.filter((a) => a.layout === layout).length, `ledger and mock agree for ${layout}`);
    assert.equal(row.sent, EVENTS - 1);
    assert.equal(row.failed, 1);
    assert.equal(row.dead, 0);
    assert.equal(row.duplicates, DUPLICATES, 'the ledger counted every duplicate');
  }
  const stats = w.mock.state;
  const inj = stats.injected;
  console.log(`fault injection: ${EVENTS} events + ${DUPLICATES} duplicates → ${stats.requests} upstream requests ` +
    `(injected: ${inj[500]} × 500, ${inj[429]} × 429, ${inj.timeout} timeouts; ${stats.refused.length} bad-event refusals), accepted ${accepted.length} = 2 × ${EVENTS - 1}; ` +
    `ledger ${JSON.stringify(ledger)}; intake ${intakeMs} ms, drained in ${drainMs} ms`);
  assert.ok(inj[500] > 0 && inj[429] > 0 && inj.timeout > 0, 'every kind of fault happened');
});
