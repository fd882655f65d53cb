// `node bench/profile.mjs`: where capi-edge's intake spends its CPU inside workerd. Starts the built worker
// through Miniflare with the V8 inspector on, drives it with the bench hit, and prints the sampled CPU profile:
// the top functions by self time and the share of JS glue, Wasm and the runtime. Build with names kept for
// readable Wasm frames: CAPI_EDGE_KEEP_NAMES=1 bash scripts/build.sh
//   node bench/profile.mjs [--worker capi-edge|baseline-js|null] [--seconds 5] [--connections 16] [--top 40] [--out profile.cpuprofile]
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { capiEdgeWorker, startMiniflare } from './capi-edge.mjs';
import { HIT, headersFor } from './hit.mjs';

const ROOT = new URL('../', import.meta.url);
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const SECONDS = Number(arg('--seconds', 5));
const CONNECTIONS = Number(arg('--connections', 16));
const TOP = Number(arg('--top', 40));
const OUT = arg('--out', null);
const INSPECTOR = 9329;
const WORKER = arg('--worker', 'capi-edge'); // or baseline-js, null: the same profile of the other bench workers
// The other workers get the same bindings (they use the queue only).
const worker = capiEdgeWorker(WORKER === 'capi-edge' ? undefined : new URL(`bench/${WORKER.replace('-js', '')}-worker.mjs`, ROOT).pathname);

const { mf, url } = await startMiniflare(Miniflare, { inspectorPort: INSPECTOR, ...worker });
const first = await fetch(`${url}/r/e`, { method: 'POST', headers: headersFor(url), body: HIT });
if (first.status !== 204) throw new Error(`the bench hit got ${first.status}: ${await first.text()}`);

const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR}/json`)).json();
const target = targets.find((t) => !/internal|loopback/i.test(t.title || '')) || targets[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
let nextId = 1;
const pending = new Map();
ws.on('message', (m) => { const msg = JSON.parse(m); if (pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); } });
const send = (method, params = {}) => new Promise((ok) => { const id = nextId++; pending.set(id, ok); ws.send(JSON.stringify({ id, method, params })); });

await autocannon({ url: `${url}/r/e`, method: 'POST', headers: headersFor(url), body: HIT, connections: CONNECTIONS, duration: 2 });
await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: 50 });
await send('Profiler.start');
const r = await autocannon({ url: `${url}/r/e`, method: 'POST', headers: headersFor(url), body: HIT, connections: CONNECTIONS, duration: SECONDS });
const { result } = await send('Profiler.stop');
ws.close();
await mf.dispose();
const profile = result.profile;
if (OUT) writeFileSync(OUT, JSON.stringify(profile));

// Self time per node from the samples and their time deltas.
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) || 0) + (profile.timeDeltas[i] || 0)));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? n.callFrame.url.split('/').pop() : ''}`.trim();
const kind = (n) => {
  const f = n.callFrame;
  if (f.url && f.url.includes('wasm')) return 'wasm';
  if (/^\((program|garbage collector|idle|root)\)$/.test(f.functionName)) return f.functionName;
  if (f.url) return 'js';
  return 'runtime (native)';
};
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const busy = total - idle;
const byLabel = new Map();
const byKind = new Map();
// Inclusive time of a function: the samples with it anywhere on their stack (counted once per sample).
const inclusive = new Map();
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] || 0;
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const l = label(byId.get(n));
    if (!seen.has(l)) { seen.add(l); inclusive.set(l, (inclusive.get(l) || 0) + dt); }
  }
});
for (const [id, t] of self) {
  const n = byId.get(id);
  byLabel.set(label(n), (byLabel.get(label(n)) || 0) + t);
  byKind.set(kind(n), (byKind.get(kind(n)) || 0) + t);
}
const perReq = (us) => (us / r.requests.total).toFixed(1);
console.log(`${r.requests.total} requests in ${SECONDS} s (${Math.round(r.requests.average)} req/s); busy ${(busy / 1e3).toFixed(0)} ms of ${(total / 1e3).toFixed(0)} ms sampled, ${perReq(busy)} µs/request on the isolate's thread`);
console.log('\nby kind (µs per request):');
for (const [k, t] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`  ${perReq(t).padStart(8)}  ${k}`);
console.log(`\ntop ${TOP} by self time (µs per request, inclusive in brackets):`);
for (const [l, t] of [...byLabel].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
  console.log(`  ${perReq(t).padStart(8)} [${perReq(inclusive.get(l) || 0).padStart(7)}]  ${l.slice(0, 110)}`);
}
