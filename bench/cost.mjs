// What a shop pays Cloudflare per hit: the built workers in workerd (Miniflare, real local Queues, D1 and KV),
// their bindings wrapped and counted by bench/cost-meter.mjs (not read off the code), under a shop's traffic:
// per purchase, 50 page views (1 in 10 from a ChatGPT ad, which the example config forwards), 3 add-to-carts,
// and the purchase, fired twice by the browser 1 time in 10. Run with two destinations and with four. Prints the
// billed operations per 1,000 hits and the dollars per million hits at Cloudflare's Workers Paid prices (usage
// beyond the plan's inclusions), beside the alternatives shops compare.
//   node bench/cost.mjs [--purchases 20] [--json] [--by-statement]
import { mkdirSync, writeFileSync } from 'node:fs';
import { start, until } from '../tests/support/harness.mjs';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const PURCHASES = Number(arg('--purchases', 20));
const ROOT = new URL('..', import.meta.url);

// Cloudflare's published Workers Paid prices (developers.cloudflare.com/workers/platform/pricing/,
// /queues/platform/pricing/, /d1/platform/pricing/, /kv/platform/pricing/; read 2026-12-07), per unit beyond the
// monthly inclusions (10M requests, 1M Queue operations, 50M D1 rows written, 25B rows read, 10M KV reads).
export const PRICES = { request: 0.30e-6, queue_op: 0.40e-6, d1_row_written: 1.00e-6, d1_row_read: 0.001e-6, kv_read: 0.50e-6 };

const DESTINATIONS = {
  openai: 'kind = "openai"\npixel_id = "px_123"\ntoken_secret = "OPENAI_CAPI_KEY"',
  meta: 'kind = "meta"\npixel_id = "1234567890"\ntoken_secret = "META_ACCESS_TOKEN"',
  tiktok: 'kind = "tiktok"\npixel_code = "CMOCKPIXEL0000000001"\ntoken_secret = "TIKTOK_ACCESS_TOKEN"',
  pinterest: 'kind = "pinterest"\nad_account_id = "549755885175"\ntoken_secret = "PINTEREST_TOKEN"',
};
const config = (names) => `
[site]
path_prefix = "/r"
allowed_origins = ["https://shop.example.com"]
${names.map((n) => `\n[[destination]]\nname = "${n}"\n${DESTINATIONS[n]}\n`).join('')}
[[tag]]
name = "purchase"
destinations = ${JSON.stringify(names)}
event = "Purchase"

[[tag]]
name = "add-to-cart"
destinations = ${JSON.stringify(names)}
event = "AddToCart"

[[tag]]
name = "pageview-from-chatgpt"
destination = "openai"
event = "PageView"
trigger = { field = "page.query.oppref", exists = true }
`;

const headers = { 'content-type': 'application/json', origin: 'https://shop.example.com', 'user-agent': 'Mozilla/5.0 (bench) capi-edge-cost', 'cf-connecting-ip': '203.0.113.9' };
const user = { email: 'jane.doe@example.com', phone: '+1 650 555 1212' };

/** One shop's traffic: for each purchase, its page views, add-to-carts and the purchase (1 in 10 fired twice). */
function traffic() {
  const hits = [];
  for (let p = 0; p < PURCHASES; p++) {
    for (let v = 0; v < 50; v++) {
      const fromAd = v % 10 === 0 ? '?oppref=opp_bench' : '';
      hits.push({ event: 'PageView', page: { url: `https://shop.example.com/p/${v}${fromAd}` } });
    }
    for (let c = 0; c < 3; c++) hits.push({ event: 'AddToCart', event_id: `atc-${p}-${c}`, page: { url: 'https://shop.example.com/p/boots' }, user, data: { value: 149, currency: 'USD', contents: [{ id: 'BOOT-42', quantity: 1, price: 149 }] } });
    const purchase = { event: 'Purchase', event_id: `ord-${p}`, page: { url: 'https://shop.example.com/thank-you' }, user, data: { value: 149, currency: 'USD', contents: [{ id: 'BOOT-42', quantity: 1, price: 149 }] } };
    hits.push(purchase);
    if (p % 10 === 0) hits.push(purchase);
  }
  return hits;
}

function entries() {
  const dir = new URL('build/cost/', ROOT);
  mkdirSync(dir, { recursive: true });
  const write = (name, worker) => writeFileSync(new URL(name, dir), `import { entry } from '../../bench/cost-meter.mjs';\nimport Worker from '${worker}';\nexport default entry(Worker);\n`);
  write('intake.mjs', '../index.js');
  write('admin.mjs', '../admin/index.js');
  return { intake: 'build/cost/intake.mjs', admin: 'build/cost/admin.mjs' };
}

async function run(names) {
  const w = await start({ config: config(names), scripts: entries(), maxRetries: 5 });
  try {
    const hits = traffic();
    for (const hit of hits) {
      const res = await w.fetch('/r/e', { method: 'POST', headers, body: JSON.stringify(hit) });
      if (res.status !== 204) throw new Error(`intake answered ${res.status}: ${await res.text()}`);
    }
    const cost = async (worker) => (await (await w.mf.getWorker(worker)).fetch('http://cost/__cost')).json();
    // Drained: every ledger row final, and the consumer's counts still for a second.
    let last = '';
    await until('the queue drained', async () => {
      const open = (await w.db.prepare("SELECT COUNT(*) AS n FROM ledger WHERE status NOT IN ('sent', 'failed', 'dead_letter')").first()).n;
      const now = JSON.stringify(await cost('capi-edge-admin'));
      const still = now === last && open === 0;
      last = now;
      if (!still) await new Promise((r) => setTimeout(r, 1000));
      return still;
    }, 120000);
    const intake = await cost('capi-edge');
    const admin = await cost('capi-edge-admin');
    return { names, hits: hits.length, intake, admin };
  } finally {
    await w.stop();
  }
}

function model({ names, hits, intake, admin }) {
  const per1k = (n) => (n * 1000) / hits;
  const requests = intake.invocations + admin.queue_invocations + admin.invocations;
  const queueOps = intake.queue_write_ops + admin.queue_read_ops + admin.queue_delete_ops;
  const ops = {
    worker_requests: per1k(requests),
    of_which_consumer_invocations: per1k(admin.queue_invocations),
    queue_messages: per1k(intake.queue_messages_sent),
    queue_operations: per1k(queueOps),
    d1_rows_written: per1k(admin.d1_rows_written + intake.d1_rows_written),
    d1_rows_read: per1k(admin.d1_rows_read + intake.d1_rows_read),
    d1_statements: per1k(admin.d1_statements + intake.d1_statements),
    kv_reads: per1k(intake.kv_reads + admin.kv_reads),
    subrequests: per1k(intake.subrequests + admin.subrequests),
  };
  const dollarsPerMillion = 1000 * (ops.worker_requests * PRICES.request + ops.queue_operations * PRICES.queue_op
    + ops.d1_rows_written * PRICES.d1_row_written + ops.d1_rows_read * PRICES.d1_row_read + ops.kv_reads * PRICES.kv_read);
  return { destinations: names.length, hits, per_1000_hits: ops, dollars_per_million_hits: dollarsPerMillion };
}

const results = [];
for (const names of [['openai', 'meta'], ['openai', 'meta', 'tiktok', 'pinterest']]) {
  const measured = await run(names);
  results.push(model(measured));
  if (process.argv.includes('--by-statement')) {
    console.log(`D1 by statement, ${names.length} destinations (rows written / read, statements, per 1,000 hits):`);
    const rows = Object.entries(measured.admin.by_statement ?? {}).sort(([, a], [, b]) => b.rows_written - a.rows_written);
    for (const [sql, e] of rows) console.log(`  ${(e.rows_written * 1000 / measured.hits).toFixed(0).padStart(6)} / ${(e.rows_read * 1000 / measured.hits).toFixed(0).padStart(5)}  ${(e.statements * 1000 / measured.hits).toFixed(0).padStart(5)}  ${sql}`);
  }
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else {
  for (const r of results) {
    const o = r.per_1000_hits;
    const f = (n) => n.toFixed(n < 10 ? 1 : 0);
    console.log(`cost, ${r.destinations} destinations (${r.hits} hits: 50 page views per purchase, 3 add-to-carts, 10% duplicate purchases), per 1,000 hits:`);
    console.log(`  worker requests ${f(o.worker_requests)} (consumer invocations ${f(o.of_which_consumer_invocations)}), queue messages ${f(o.queue_messages)} = ${f(o.queue_operations)} operations, D1 rows written ${f(o.d1_rows_written)}, read ${f(o.d1_rows_read)} (${f(o.d1_statements)} statements), KV reads ${f(o.kv_reads)}, subrequests ${f(o.subrequests)}`);
    console.log(`  = $${r.dollars_per_million_hits.toFixed(2)} per million hits at Workers Paid prices beyond the inclusions (the request floor alone: $0.30)`);
  }
}
