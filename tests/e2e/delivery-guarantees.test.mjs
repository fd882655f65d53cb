// Nothing lost when the consumer dies or D1 fails at the wrong moment, through the built workers in workerd with
// the real local Queues and D1. Faults are injected into D1 itself (a trigger that refuses a write), and the
// consumer is killed by stopping workerd in the middle of a platform call. After each, every event ends `sent`,
// or `dead_letter` with a reason and kept for replay, and nothing stays in flight.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserHeaders, purchase, start, until } from '../support/harness.mjs';

const auth = { authorization: 'Bearer test-debug-token', 'content-type': 'application/json' };
const MINUTE = 60 * 1000;

async function hit(w, body) {
  const res = await w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(body) });
  assert.equal(res.status, 204, `intake answered ${res.status}: ${await res.text()}`);
}

async function replay(w) {
  const res = await w.fetch('/r/api/replay', { method: 'POST', headers: auth, body: '{}' });
  assert.equal(res.status, 200, `replay answered ${res.status}`);
  return res.json();
}

/** A D1 fault: every write that `when` matches is refused, as a failing D1 would refuse it. */
async function refuse(w, name, when) {
  await w.db.prepare(`CREATE TRIGGER ${name} BEFORE ${when} BEGIN SELECT RAISE(ABORT, 'injected fault: ${name}'); END`).run();
}
const heal = (w, name) => w.db.prepare(`DROP TRIGGER ${name}`).run();

const accepted = (w, id) => w.mock.state.accepted.filter((a) => a.event_id === id);
const kept = async (w, id) => (await w.db.prepare('SELECT destination FROM kept_events WHERE event_id = ?1 ORDER BY destination').bind(id).all()).results.map((r) => r.destination);

describe('a D1 write refused after the platform took the events', () => {
  let w;
  before(async () => { w = await start({ maxRetries: 30 }); });
  after(async () => { await w?.stop(); });

  test('the messages go back to the queue, are sent again with the same event_id and body, and end sent', async () => {
    await refuse(w, 'refuse_sent', "UPDATE OF status ON ledger WHEN NEW.status = 'sent'");
    await hit(w, purchase('ORD-W1'));
    // The platforms took it, the ledger refused the outcome: not acked, so the queue brings it back.
    await until('a second delivery to each platform', () =>
      ['openai', 'meta'].every((layout) => accepted(w, 'ORD-W1').filter((a) => a.layout === layout).length >= 2));
    const inFlight = await w.ledger("event_id = 'ORD-W1'");
    assert.deepEqual(inFlight.map((r) => r.status), ['queued', 'queued'], 'no outcome was recorded while D1 refused it');
    assert.ok(inFlight.every((r) => r.message), 'the in-flight copy is on the row');

    await heal(w, 'refuse_sent');
    await until('the rows sent', async () => (await w.ledger("event_id = 'ORD-W1'")).every((r) => r.status === 'sent'));
    const rows = await w.ledger("event_id = 'ORD-W1'");
    assert.deepEqual(rows.map((r) => [r.destination, r.status, r.message]), [['meta', 'sent', null], ['openai', 'sent', null]]);
    // Each resend is the same event: the platform deduplicates it by event_id.
    for (const layout of ['openai', 'meta']) {
      const copies = accepted(w, 'ORD-W1').filter((a) => a.layout === layout).map((a) => JSON.stringify(a.event));
      assert.ok(copies.length >= 2);
      assert.equal(new Set(copies).size, 1, `${layout} got the same body each time`);
    }
  });
});

describe('every claim refused until the queue gives up', () => {
  let w;
  before(async () => { w = await start({ maxRetries: 2 }); });
  after(async () => { await w?.stop(); });

  test('the dead letter gets a row with its reason, is kept, and a replay sends it', async () => {
    await refuse(w, 'refuse_claims', "INSERT ON ledger WHEN NEW.status = 'queued'");
    await hit(w, purchase('ORD-C1'));
    await until('the dead letters', async () => {
      const rows = await w.ledger("event_id = 'ORD-C1'");
      return rows.length === 2 && rows.every((r) => r.status === 'dead_letter');
    });
    const rows = await w.ledger("event_id = 'ORD-C1'");
    for (const r of rows) assert.match(r.response, /the queue gave up after its retries; no attempt reached the platform/);
    assert.deepEqual(await kept(w, 'ORD-C1'), ['meta', 'openai']);
    assert.equal(accepted(w, 'ORD-C1').length, 0, 'nothing was sent without a claim');

    await heal(w, 'refuse_claims');
    const done = await replay(w);
    assert.equal(done.sent, 2, JSON.stringify(done));
    assert.deepEqual((await w.ledger("event_id = 'ORD-C1'")).map((r) => r.status), ['sent', 'sent']);
    assert.deepEqual(accepted(w, 'ORD-C1').map((a) => a.layout).sort(), ['meta', 'openai']);
  });
});

describe('a platform refusal the ledger could not record at first', () => {
  let w;
  before(async () => { w = await start({ maxRetries: 30 }); });
  after(async () => { await w?.stop(); });

  test('is sent again, then recorded failed with the platform\'s reason and kept for replay', async () => {
    w.mock.state.faults = { reject_event_id: 'ORD-C2' };
    await refuse(w, 'refuse_failed', "UPDATE OF status ON ledger WHEN NEW.status = 'failed'");
    await hit(w, purchase('ORD-C2'));
    // Refused by both platforms twice: the first refusals were not acked, since their outcome was not on disk.
    await until('two refusals per platform', () => ['openai', 'meta'].every((layout) =>
      w.mock.state.refused.filter((r) => r.event_id === 'ORD-C2' && r.layout === layout).length >= 2));
    await heal(w, 'refuse_failed');
    await until('the rows failed', async () => {
      const rows = await w.ledger("event_id = 'ORD-C2'");
      return rows.length === 2 && rows.every((r) => r.status === 'failed');
    });
    for (const r of await w.ledger("event_id = 'ORD-C2'")) assert.match(r.response, /HTTP 400/, `${r.destination}: the platform's reason`);
    assert.deepEqual(await kept(w, 'ORD-C2'), ['meta', 'openai'], 'kept for a replay once the event is fixed');
    assert.equal(accepted(w, 'ORD-C2').length, 0);
  });
});

describe('rows left in flight', () => {
  let dir;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'capi-edge-d1-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a consumer stopped during a platform call leaves a queued row that the scheduled job finishes and replay sends', async () => {
    let w = await start({ d1Persist: dir });
    try {
      // Each platform answers after 1 s. The consumer sends to one destination after the other (claim, send,
      // write, ack); the workers are stopped while it waits for the second.
      w.mock.state.faults = { delay_ms: 1000 };
      const before = w.mock.state.requests;
      await hit(w, purchase('ORD-K1'));
      await until('the second platform call', () => w.mock.state.requests >= before + 2);
    } finally {
      await w.stop();
    }
    // Started again on the same ledger; the queue that held the messages is gone with the stopped workers.
    w = await start({ d1Persist: dir, migrate: false });
    try {
      const rows = () => w.ledger("event_id = 'ORD-K1'");
      const statuses = async () => (await rows()).map((r) => r.status).sort();
      assert.deepEqual(await statuses(), ['queued', 'sent'], 'the first destination finished, the second was cut off');
      const cut = (await rows()).find((r) => r.status === 'queued').destination;
      // Inside the lease the scheduled job leaves it alone: the queue may still be retrying it.
      await w.scheduled(Date.now() + 10 * MINUTE);
      assert.deepEqual(await statuses(), ['queued', 'sent']);
      await w.scheduled(Date.now() + 31 * MINUTE);
      const finished = (await rows()).find((r) => r.destination === cut);
      assert.equal(finished.status, 'dead_letter');
      assert.match(finished.response, /no outcome was recorded within 30 minutes/);
      assert.match(finished.response, /a replay sends it again/);
      assert.equal(finished.message, null);
      assert.deepEqual(await kept(w, 'ORD-K1'), [cut]);
      const done = await replay(w);
      assert.equal(done.sent, 1, JSON.stringify(done));
      assert.deepEqual(accepted(w, 'ORD-K1').map((a) => a.layout), [cut]);
      assert.deepEqual(await statuses(), ['sent', 'sent']);
      assert.equal((await w.db.prepare("SELECT count(*) AS n FROM ledger WHERE status IN ('queued', 'retrying')").first()).n, 0);
    } finally {
      await w.stop();
    }
  });

  test('a row whose dead letter the ledger refused too is finished the same way', async () => {
    rmSync(dir, { recursive: true, force: true });
    const w = await start({ d1Persist: dir, maxRetries: 1, dlqRetries: 1 });
    try {
      await refuse(w, 'refuse_outcomes', "UPDATE OF status ON ledger WHEN NEW.status IN ('sent', 'dead_letter')");
      await hit(w, purchase('ORD-K2'));
      // Sent, its outcome refused, retried, dead-lettered, and the dead letter refused until the DLQ gives up.
      await until('two deliveries to each platform', () => accepted(w, 'ORD-K2').length >= 4);
      await new Promise((r) => setTimeout(r, 4000));
      assert.deepEqual((await w.ledger("event_id = 'ORD-K2'")).map((r) => r.status), ['queued', 'queued']);
      await heal(w, 'refuse_outcomes');
      await w.scheduled(Date.now() + 31 * MINUTE);
      assert.deepEqual((await w.ledger("event_id = 'ORD-K2'")).map((r) => r.status), ['dead_letter', 'dead_letter']);
      assert.deepEqual(await kept(w, 'ORD-K2'), ['meta', 'openai']);
    } finally {
      await w.stop();
    }
  });
});
