// Load test (`make load`, not part of `make test`): a fixed rate of browser Purchases against the built worker
// in workerd (Miniflare's API in this Node process, the closest local setup to production), twice: with an
// instant mock upstream, then with the upstream slowed to 500 ms. The visitor must not wait for the upstream.
//   node scripts/load.mjs [--rate 200] [--seconds 10] [--connections 16]
import autocannon from 'autocannon';
import { start } from '../tests/support/harness.mjs';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const RATE = arg('--rate', 200);
const SECONDS = arg('--seconds', 10);
const CONNECTIONS = arg('--connections', 16);

async function run(label, upstreamDelayMs) {
  const w = await start({ listen: true });
  w.mock.state.faults = upstreamDelayMs ? { delay_ms: upstreamDelayMs } : {};
  let n = 0;
  const body = (id) => JSON.stringify({
    event: 'Purchase', event_id: `load-${label}-${id}`,
    page: { url: 'https://shop.example.com/thank-you' },
    user: { email: 'jane.doe@example.com', phone: '+16505551212' },
    data: { value: 149, currency: 'USD' },
  });
  // Warm-up (not measured): a cold isolate's first requests compile the Wasm.
  await autocannon({
    url: `${w.url}/r/e`, method: 'POST', connections: 4, overallRate: 50, duration: 2,
    headers: { 'content-type': 'application/json', origin: 'https://shop.example.com', 'cf-connecting-ip': '203.0.113.8' },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(`warm-${n++}`) }) }],
  });
  const result = await autocannon({
    url: `${w.url}/r/e`,
    method: 'POST',
    connections: CONNECTIONS,
    overallRate: RATE,
    duration: SECONDS,
    headers: { 'content-type': 'application/json', origin: 'https://shop.example.com', 'user-agent': 'load-test', 'cf-connecting-ip': '203.0.113.9' },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(n++) }) }],
  });
  // Let the queue drain so the slow upstream really was slow while intake was measured.
  const until = Date.now() + 60000;
  while (w.mock.state.accepted.length < 2 * result['2xx'] && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  const out = {
    run: label,
    upstream_delay_ms: upstreamDelayMs,
    requests: result.requests.total,
    non_2xx: result.non2xx,
    errors: result.errors,
    rps: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    delivered: w.mock.state.accepted.length,
    // Each (platform, event_id) once: the deliveries above include the warm-up's and the last in-flight requests.
    duplicates: w.mock.state.accepted.length - new Set(w.mock.state.accepted.map((a) => `${a.layout}/${a.event_id}`)).size,
  };
  await w.stop();
  return out;
}

const rows = [await run('instant', 0), await run('slow', 500)];
console.log(`\nbrowser-facing latency, ${RATE} req/s for ${SECONDS} s over ${CONNECTIONS} connections (Miniflare, 2 shared cores):`);
console.table(rows);
const added = rows[1].p99_ms - rows[0].p99_ms;
console.log(`p99 added by a 500 ms upstream: ${added} ms (target < 10 ms); p99 targets < 50 ms: ${rows.map((r) => r.p99_ms).join(' / ')} ms`);
