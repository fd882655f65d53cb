// The events dashboard in workerd: its API against a seeded ledger, and the page in headless Chromium
// (which also takes the README's screenshot), including reconciliation of an uploaded orders CSV.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../support/chromium.mjs';
import { CLI, start } from '../support/harness.mjs';

const HOUR = 3600 * 1000;
let w;

/** A week of sample traffic: purchases from three sources, a few failures, consent blocks, leads, page views. */
async function seed(db) {
  const now = Date.now();
  const rows = [];
  const add = (destination, event_name, event_id, source, sources, status, mq, missing, ageH, extra = {}) => rows.push({
    destination, event_name, event_id, tag: 't', source, sources, intake_id: `i-${destination}-${event_id}`, received_ms: now - ageH * HOUR,
    updated_ms: now - ageH * HOUR + 2000, status, attempts: status === 'sent' ? 1 : 3, duplicates: extra.duplicates || 0,
    response: extra.response || (status === 'sent' ? 'accepted' : null), value: extra.value ?? 149, currency: 'USD', match_quality: mq, missing,
  });
  for (let i = 0; i < 60; i++) {
    const id = `ord-${2000 + i}`;
    const src = i % 4 === 0 ? ['webhook', 5] : i % 5 === 0 ? ['server', 2] : ['browser', 1];
    const status = i === 7 ? 'failed' : i === 13 ? 'dead_letter' : i % 11 === 0 ? 'consent_blocked' : 'sent';
    const extra = { duplicates: src[1] === 5 ? 1 : 0, response: i === 7 ? 'HTTP 400: Invalid event at events[0]. (invalid_event)' : i === 13 ? 'HTTP 503: upstream unavailable' : undefined };
    for (const [dest, name] of [['openai', 'order_created'], ['meta', 'Purchase']]) {
      add(dest, name, id, src[0], src[1], status, 4 + (i % 7), i % 3 ? 'ph,external_id' : 'external_id', (i * 2.5) % 160, extra);
    }
  }
  for (let i = 0; i < 25; i++) add('openai', 'lead_created', `lead-${i}`, 'browser', 1, 'sent', 2 + (i % 5), 'ph,click_id', (i * 5) % 150);
  for (let i = 0; i < 12; i++) add('openai', 'page_viewed', `pv-${i}`, 'browser', 1, 'sent', 1.5, 'em,ph,external_id', 40 + i);
  const cols = Object.keys(rows[0]);
  // The dead letter's outbound event, kept for replay.
  const kept = { destination: 'openai', event_name: 'order_created', event_id: 'ord-2013', tag: 't', source: 'browser', received_ms: now - 10 * HOUR,
    payload: JSON.stringify({ timestamp_ms: now - 10 * HOUR }), match_quality: 5, value: 149, currency: 'USD', action: 'send', intake_id: 'i-kept', missing: '' };
  await db.prepare("INSERT INTO kept_events VALUES ('openai', 'order_created', 'ord-2013', ?1, ?2)").bind(JSON.stringify(kept), now).run();
  for (const r of rows) {
    await db.prepare(`INSERT INTO ledger (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`).bind(...cols.map((c) => r[c])).run();
  }
  return rows;
}

before(async () => {
  w = await start({ listen: true });
  await seed(w.db);
}, { timeout: 60000 });
after(async () => { await w?.stop(); });

const auth = { authorization: 'Bearer test-debug-token' };

test('the stats API reads the seeded ledger, behind the token', async () => {
  assert.equal((await w.fetch('/r/api/stats?days=7')).status, 401);
  assert.equal((await w.fetch('/r/api/stats?days=7', { headers: { authorization: 'Bearer nope' } })).status, 401);
  const stats = await (await w.fetch('/r/api/stats?days=7', { headers: auth })).json();
  const orders = stats.events.find((e) => e.destination === 'openai' && e.event_name === 'order_created');
  assert.deepEqual(orders.counts, { received: 60, sent: 52, failed: 1, dead_letter: 1, retrying: 0, consent_blocked: 6, dropped: 0, deduplicated: 15 });
  assert.equal(orders.status, 'active');
  assert.deepEqual(orders.breakdown, { browser: 36, server: 9, webhook: 15 });
  assert.equal(orders.dedup_rate, 15 / 24, 'webhook orders also seen from the browser, of all server-side ones');
  assert.equal(orders.match_quality.most_often_missing[0].identifier, 'external_id');
  assert.equal(orders.last_failures.length, 2);
  const pv = stats.events.find((e) => e.event_name === 'page_viewed');
  assert.equal(pv.match_quality.average, 1.5);
  const day = await (await w.fetch('/r/api/stats?days=1', { headers: auth })).json();
  assert.ok(day.events.find((e) => e.event_name === 'order_created').counts.received < 60, 'the window narrows the rows');
});

test('the ledger export feeds `capi-edge reconcile`, and the same report runs in the worker', async () => {
  const rows = await (await w.fetch('/r/api/ledger?days=7', { headers: auth })).json();
  assert.equal(rows.length, 2 * 60 + 25 + 12);
  assert.deepEqual(Object.keys(rows[0]).sort(), ['currency', 'destination', 'event_id', 'event_name', 'match_quality', 'received_ms', 'response', 'source', 'status', 'value']);
  const now = new Date().toISOString();
  const csv = 'order_id,created_at,total,currency\n' + Array.from({ length: 60 }, (_, i) => `ord-${2000 + i},${now},149.00,USD`).join('\n');
  const res = await (await w.fetch('/r/api/reconcile?days=7', { method: 'POST', headers: auth, body: csv })).json();
  const openai = res.reports.find((r) => r.destination === 'openai');
  // 60 orders: 52 sent, 8 missing (1 failed, 1 dead letter, 6 consent-blocked) → 13.3%.
  assert.equal(openai.verdict, 'FAIL');
  assert.equal(Math.round(openai.discrepancy_pct * 10) / 10, 13.3);
  assert.match(openai.text, /ord-2007 .* failed: HTTP 400/);
  assert.match(openai.text, /consent_blocked/);
  // The same orders in a Shopify-shaped export that says which were never paid: those are left out, and said so.
  const statuses = ['voided', 'pending', 'paid', 'refunded'];
  const shopify = 'Name,Created at,Total,Currency,Financial Status,Cancelled at\n' + Array.from({ length: 60 }, (_, i) => {
    const missing = [2007, 2011, 2019, 2023, 2031, 2037, 2043, 2049].includes(2000 + i);
    return `ord-${2000 + i},${now},149.00,USD,${missing && i % 2 ? statuses[i % 2] : 'paid'},${missing && i % 3 === 0 ? now : ''}`;
  }).join('\n');
  const left = (await (await w.fetch('/r/api/reconcile?days=7', { method: 'POST', headers: auth, body: shopify })).json())
    .reports.find((r) => r.destination === 'openai');
  assert.ok(left.left_out.orders > 0, JSON.stringify(left.left_out));
  assert.ok(left.discrepancy_pct < openai.discrepancy_pct, 'never-paid orders no longer count as missing');
  assert.match(left.text, /left out: \d+ orders \(/);

  // The CLI without --ledger fetches the ledger from the worker (--url or $CAPI_EDGE_URL), as an operator runs it.
  const dir = mkdtempSync(join(tmpdir(), 'capi-edge-reconcile-'));
  writeFileSync(join(dir, 'orders.csv'), csv);
  const cli = spawnSync(CLI, ['reconcile', '--orders', join(dir, 'orders.csv'), '--destination', 'openai'], {
    encoding: 'utf8', env: { ...process.env, CAPI_EDGE_URL: `${w.url}/r`, CAPI_EDGE_TOKEN: 'test-debug-token' },
  });
  assert.equal(cli.status, 1, `FAIL exits 1: ${cli.stderr}`);
  assert.match(cli.stdout, new RegExp(`^reconciliation: .*orders.csv \\(60 orders\\) against ${w.url}/r/api/ledger\n`));
  assert.match(cli.stdout, /overall: FAIL/);
  assert.equal(cli.stdout.split('\n').filter((l) => l.includes('ord-2007')).length, 1, 'the same report as the worker\'s');
});

test('the dashboard page shows each event type, in headless Chromium', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${w.url}/r/dashboard#token=test-debug-token`);
    await page.waitForSelector('body[data-loaded="true"]');
    assert.equal(await page.evaluate(() => location.hash), '', 'the token leaves the address bar');
    const card = page.locator('[data-event="openai/order_created"]');
    const text = await card.innerText();
    for (const needle of ['order_created', 'active', 'sent 52', 'consent blocked 6', 'external_id (60)', 'HTTP 400: Invalid event']) {
      assert.ok(text.includes(needle), `the card shows ${needle}: ${text}`);
    }
    assert.equal(await page.locator('.card').count(), 4);
    assert.ok(await page.locator('[data-event="openai/order_created"] svg rect').count() >= 4, 'bars are drawn');
    // The trend: a line per destination, a point per day with events.
    const lines = await page.locator('#trend polyline').evaluateAll((ls) => ls.map((l) => [l.dataset.destination, l.getAttribute('points').split(' ').length]));
    assert.deepEqual(lines.map((l) => l[0]).sort(), ['meta', 'openai']);
    assert.ok(lines.every(([, points]) => points >= 6), `a week of days: ${JSON.stringify(lines)}`);
    // Replay: the preview lists the kept dead letter; nothing is sent until "Replay now".
    await page.click('#replay-preview');
    await page.waitForSelector('#replay-report:not([hidden])');
    assert.match(await page.locator('#replay-report').innerText(), /^1 would be sent, 0 too old \(not sent\)\n\s+openai order_created ord-2013 \(dead_letter\)/);
    assert.equal(await page.locator('#replay-go').isDisabled(), false);
    mkdirSync(new URL('../../target/', import.meta.url), { recursive: true });
    await page.screenshot({ path: new URL('../../target/dashboard.png', import.meta.url).pathname, fullPage: true });

    const csvPath = new URL('../../target/orders-dashboard.csv', import.meta.url).pathname;
    writeFileSync(csvPath, 'Name,Created at,Total,Currency\n' + Array.from({ length: 60 }, (_, i) => `#ord-${2000 + i},${new Date().toISOString()},149.00,USD`).join('\n'));
    await page.setInputFiles('#orders', csvPath);
    await page.click('#run');
    await page.waitForSelector('#report:not([hidden])');
    assert.match(await page.locator('#report').innerText(), /discrepancy\s+13\.3%\s+FAIL/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
