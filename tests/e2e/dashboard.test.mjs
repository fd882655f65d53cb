// The events dashboard in workerd: its API against a seeded ledger, and the page in headless Chromium (which also
// takes the README's screenshot): every destination's status on the first screen, the open alert with what to
// do, the hourly and daily bars, the event cards, hits that fired no tag, replay, reconciliation as a badge and a
// table, a phone-wide screen, and the signed-out and wrong-token states.
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
  // An open alert on meta, as the scheduled job opens one.
  await db.prepare('INSERT INTO incidents (destination, opened_ms, summary, notified) VALUES (?1, ?2, ?3, 1)')
    .bind('meta', now - 2 * HOUR, 'Purchase: 1 dead-lettered in the last 2 h (the platform kept failing through every retry; replay them once it is fixed: capi-edge replay --destination meta)').run();
  // Hits that fired no tag: a typo on the site.
  await db.prepare('INSERT INTO intake_counts (hour, kind, name, hits) VALUES (?1, ?2, ?3, ?4)').bind(Math.floor(now / HOUR), 'no_tag', 'Purchse', 7).run();
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
  // Per destination, the first screen's status over the last 24 hours. Seeded in those hours: openai's purchases
  // ord-2000 … ord-2009 (one failed, one consent-blocked) and five leads; meta's same purchases, and an open alert.
  const byName = Object.fromEntries(stats.destinations.map((d) => [d.destination, d]));
  assert.deepEqual(Object.keys(byName).sort(), ['meta', 'openai', 'tiktok'], 'every destination a tag sends to, seeded or not');
  assert.deepEqual(byName.openai.day, { sent: 13, failed: 1, blocked: 1, events: 15 });
  assert.equal(byName.openai.status, 'healthy', '1 failed of 14 is under 10%');
  assert.equal(byName.meta.status, 'failing');
  assert.match(byName.meta.reason, /^open alert: Purchase: 1 dead-lettered/);
  assert.equal(byName.tiktok.status, 'warning');
  assert.equal(byName.tiktok.last_event_ms, null);
  assert.ok(Date.now() - byName.openai.last_event_ms < 5 * 60 * 1000, 'ord-2000 came in just now');
  // The hourly bars: 24 hours at most, and they add up to the day's totals.
  const hours = new Set(stats.hourly.map((h) => h.hour_ms));
  assert.ok(hours.size <= 24 && hours.size >= 5, `${hours.size} hours`);
  const openaiHours = stats.hourly.filter((h) => h.destination === 'openai');
  assert.equal(openaiHours.reduce((a, h) => a + h.sent, 0), 13);
  assert.ok(stats.trend.every((t) => 'failed' in t && 'blocked' in t), 'the daily bars split failed and blocked');
  assert.equal(stats.trend.filter((t) => t.destination === 'openai').reduce((a, t) => a + t.failed, 0), 2, 'the week: one failed, one dead letter');
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

/** The page's width overflows the viewport when something is wider than the screen. */
const overflow = (page) => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth,
  wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5) }));

test('the dashboard: every destination\'s status and last event on the first screen, then alerts, bars, cards, replay and reconcile', { timeout: 90000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${w.url}/r/dashboard#token=test-debug-token`);
    await page.waitForSelector('body[data-loaded="true"]');
    assert.equal(await page.evaluate(() => location.hash), '', 'the token leaves the address bar');
    // The first viewport (1280×900): a tile per destination with its status, its last event and its 24 hours.
    for (const [dest, status, last] of [['meta', 'failing', /last event (just now|\d+ minutes? ago)/], ['openai', 'healthy', /last event (just now|\d+ minutes? ago)/],
      ['tiktok', 'warning', /no event in this window/]]) {
      const tile = page.locator(`#status .tile[data-destination="${dest}"]`);
      const box = await tile.boundingBox();
      assert.ok(box && box.y >= 0 && box.y + box.height <= 900, `${dest}'s tile is in the first viewport: ${JSON.stringify(box)}`);
      const text = await tile.innerText();
      assert.ok(text.includes(status), `${dest} shows ${status}: ${text}`);
      assert.match(text, last);
    }
    assert.match(await page.locator('#status .tile[data-destination="openai"]').innerText(), /13 sent · 1 failed · 1 blocked/);
    // The open alert: a banner above the tiles, saying what to do.
    const alert = page.locator('#alerts .alert[data-destination="meta"]');
    const alertText = await alert.innerText();
    assert.match(alertText, /Open alert · meta/);
    assert.match(alertText, /What to do: .*then Replay/);
    const alertBox = await alert.boundingBox();
    assert.ok(alertBox.y + alertBox.height <= 900, 'the alert is on the first screen');
    // The bars: 24 hours, with axis labels and the totals.
    assert.equal(await page.locator('#chart-hours svg g[data-slot]').count(), 24);
    assert.match(await page.locator('#chart-hours .legend').innerText(), /sent 21\s+failed 2\s+blocked \(consent\) 2/);
    assert.ok(await page.locator('#chart-hours svg text').count() >= 5 + 6, 'y ticks and hour labels');
    assert.equal(await page.locator('#chart-days svg g[data-slot]').count(), 7, 'a bar per day of the 7-day window');
    // The event cards, with match quality in a line.
    const card = page.locator('[data-event="openai/order_created"]');
    const text = await card.innerText();
    assert.match(await card.locator('h3').innerText(), /^Purchase\s*order_created at openai/, 'one name per conversion, the platform\'s beside it');
    for (const needle of ['order_created', 'active', 'sent 52', 'consent blocked 6', 'external_id (60)', 'HTTP 400: Invalid event']) {
      assert.ok(text.includes(needle), `the card shows ${needle}: ${text}`);
    }
    assert.match(text, /Match quality [\d.]+\/10 \((good|fair|low)\): how surely the platform can tie an event to a person; most often missing: customer id/);
    assert.equal(await page.locator('.card').count(), 4);
    // Hits that fired no tag, by event name.
    assert.match(await page.locator('#no-tag-list tr[data-event="Purchse"]').innerText(), /Purchse\s+7\s+Purchase/);
    // Replay: the preview lists the kept dead letter; nothing is sent until "Replay now".
    await page.click('#replay-preview');
    await page.waitForSelector('#replay-report:not([hidden])');
    assert.match(await page.locator('#replay-report').innerText(), /^1 would be sent, 0 too old \(not sent\)\n\s+openai order_created ord-2013 \(dead_letter\)/);
    assert.equal(await page.locator('#replay-go').isDisabled(), false);

    const csvPath = new URL('../../target/orders-dashboard.csv', import.meta.url).pathname;
    mkdirSync(new URL('../../target/', import.meta.url), { recursive: true });
    writeFileSync(csvPath, 'Name,Created at,Total,Currency\n' + Array.from({ length: 60 }, (_, i) => `#ord-${2000 + i},${new Date().toISOString()},149.00,USD`).join('\n'));
    await page.setInputFiles('#orders', csvPath);
    await page.click('#run');
    await page.waitForSelector('#reconcile-table:not([hidden])');
    assert.equal(await page.locator('#reconcile-verdict').innerText(), 'FAIL');
    assert.match(await page.locator('#reconcile-table tr[data-destination="openai"]').innerText(), /openai\s+FAIL\s+60\s+52\s+8\s+0\s+13\.3%/);
    assert.equal(await page.locator('#report').isVisible(), false, 'the order list is folded');
    await page.click('#report-details summary');
    assert.match(await page.locator('#report').innerText(), /discrepancy\s+13\.3%\s+FAIL/);
    await page.click('#report-details summary');
    assert.deepEqual(await overflow(page).then((o) => o.wide), [], 'nothing wider than 1280');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: new URL('../../docs/dashboard.png', import.meta.url).pathname });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the dashboard on a 390 px phone: nothing overflows sideways', { timeout: 60000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${w.url}/r/dashboard#token=test-debug-token`);
    await page.waitForSelector('body[data-loaded="true"]');
    const o = await overflow(page);
    assert.ok(o.scroll <= 390, `scrollWidth ${o.scroll}: ${JSON.stringify(o.wide)}`);
    assert.ok(await page.locator('#status .tile[data-destination="openai"]').isVisible());
  } finally {
    await browser.close();
  }
});

test('the dashboard says plainly when it is signed out, when the token is wrong, and auto-refreshes', { timeout: 60000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.clock.install();
    await page.goto(`${w.url}/r/dashboard`);
    await page.waitForSelector('body[data-state="signed-out"]');
    assert.match(await page.locator('#login').innerText(), /^Signed out\n+Paste the debug token/);
    assert.equal(await page.locator('#overview').isVisible(), false);
    await page.fill('#token', 'not-the-token');
    await page.click('#save');
    await page.waitForSelector('body[data-state="wrong-token"]');
    assert.match(await page.locator('#login').innerText(), /^Wrong token\n+The worker refused this token/);
    assert.equal(await page.locator('#events').innerText(), '', 'no stale numbers under a refused token');
    await page.fill('#token', 'test-debug-token');
    await page.click('#save');
    await page.waitForSelector('body[data-state="loaded"]');
    assert.equal(await page.locator('#login').isVisible(), false);
    // The config page opens from here.
    assert.equal(await page.getAttribute('#config-link', 'href'), '/r/config');
    // Auto-refresh: the stats are fetched again every 30 s while the tab is shown (the page's clock, run ahead).
    let stats = 0;
    page.on('request', (r) => { if (r.url().includes('/api/stats')) stats++; });
    await page.clock.runFor(31000);
    await page.waitForFunction(() => document.body.dataset.state === 'loaded');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stats, 1, 'one refresh after 30 s');
    await page.click('#signout');
    await page.waitForSelector('body[data-state="signed-out"]');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
