// The dashboard's stats endpoint against a small and a large ledger (issue 14: "answers for 1,000,000 rows within
// the same time as for 1,000"). Rows go in through the real migrations, so the triggers fill the counters as the
// consumer's writes would; the scheduled job then folds the counters of days past the alerts' history. Not part of `make test`: `make bench` runs it.
//   node bench/stats-scale.mjs [--sizes 1000,1000000] [--runs 7]
import { start } from '../tests/support/harness.mjs';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const sizes = arg('--sizes', '1000,1000000').split(',').map(Number);
const runs = Number(arg('--runs', 7));
const auth = { authorization: 'Bearer test-debug-token' };
const HOUR = 3600 * 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 30 days of traffic: two destinations, three events, every status, spread over the hours.
const INSERT = `WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2)
  INSERT INTO ledger (destination, event_name, event_id, tag, source, sources, intake_id, received_ms, updated_ms, status,
    attempts, duplicates, response, value, currency, match_quality, missing)
  SELECT CASE n % 2 WHEN 0 THEN 'meta' ELSE 'openai' END,
         CASE n % 3 WHEN 0 THEN 'Purchase' WHEN 1 THEN 'Lead' ELSE 'AddToCart' END,
         'e-' || n, 't', CASE n % 5 WHEN 0 THEN 'webhook' WHEN 1 THEN 'server' ELSE 'browser' END, 1 + (n % 7 = 0) * 4,
         'i-' || n, ?3 - (n % 720) * ${HOUR} - (n % 3600) * 1000, ?3, CASE WHEN n % 97 = 0 THEN 'failed' WHEN n % 89 = 0 THEN 'dead_letter' ELSE 'sent' END,
         1, n % 11 = 0, CASE WHEN n % 97 = 0 THEN 'HTTP 400: bad' ELSE 'accepted' END, 10 + n % 50, 'USD', (n % 100) / 10.0,
         CASE n % 4 WHEN 0 THEN 'ph' WHEN 1 THEN 'em,ph' ELSE '' END
  FROM seq`;

const results = [];
for (const size of sizes) {
  const w = await start({});
  const now = Date.now();
  const t0 = Date.now();
  const chunk = 50000;
  for (let from = 1; from <= size; from += chunk) {
    await w.db.prepare(INSERT).bind(from, Math.min(size, from + chunk - 1), now).run();
  }
  // The scheduled job folds the hours past the alerts' 9 days into days (7 days a run), as it would have in
  // production over these 30 days.
  for (let run = 0; run < 4; run++) await w.scheduled(now);
  const loadS = (Date.now() - t0) / 1000;
  const rows = (await w.db.prepare('SELECT count(*) AS n FROM ledger').first()).n;
  const counters = (await w.db.prepare('SELECT count(*) AS n FROM ledger_counts').first()).n;
  const times = [];
  let received = 0;
  for (let i = 0; i < runs + 1; i++) {
    const t = performance.now();
    const res = await w.fetch('/r/api/stats?days=30', { headers: auth });
    const stats = await res.json();
    if (i > 0) times.push(performance.now() - t); // the first warms the isolate
    received = stats.events.reduce((a, e) => a + e.counts.received, 0);
  }
  await w.stop();
  if (received !== rows) throw new Error(`stats counted ${received} events of ${rows} rows`);
  results.push({ rows, counters, loadS, median: median(times), min: Math.min(...times), max: Math.max(...times) });
  console.log(`ledger ${rows.toLocaleString('en')} rows (${counters.toLocaleString('en')} counters, loaded in ${loadS.toFixed(1)} s): ` +
    `GET /api/stats?days=30 median ${median(times).toFixed(1)} ms (${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)}, ${runs} runs); stats total = rows ✓`);
}
if (results.length > 1) {
  const [a, b] = [results[0], results.at(-1)];
  console.log(`ratio ${b.rows.toLocaleString('en')} / ${a.rows.toLocaleString('en')} rows: ${(b.median / a.median).toFixed(2)}×`);
}
