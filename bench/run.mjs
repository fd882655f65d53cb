// `make bench`: capi-edge against the runtime's floor (a null worker) and a hand-written JS worker doing the same
// job, side by side. Each worker runs in its own workerd process through Miniflare's API in this plain Node
// process (no wrangler proxy or debugging relay), on loopback. The same load (autocannon, fixed duration and
// connections) hits them in alternation, for several rounds, so drift on this shared machine affects all alike.
// A fourth worker, enqueue-only, reads the hit and queues it and nothing else: the cost of the local queue, which
// every worker that queues pays, so the workers' own work is what they spend above it.
//   node bench/run.mjs [--seconds 5] [--connections 16] [--rounds 3]
//   BENCH_WORKERS=null,capi-edge   a subset          BENCH_HIT=no-identifiers|no-tag   a lighter hit
//   (capi-edge-kv is capi-edge serving its config from its KV config store, as deployed)
//   BENCH_ORIGIN=cross             the page on another allowed origin (adds the CORS headers)
//   BENCH_RATELIMIT=1              capi-edge with its rate-limit binding, as deployed
//   BENCH_CONFIG_VAR=1             capi-edge reads CAPI_CONFIG_JSON, as tests do, not the config it embeds (bench/capi-edge.mjs)
//   BENCH_OTHER_BUILD=<dir>[,<dir>] adds other:<dir>: other builds (under the repo; a copy of build/ before a change), for A/B
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { capiEdgeWorker, compiledConfig as config, startMiniflare } from './capi-edge.mjs';
import { HIT, headersFor } from './hit.mjs';

const ROOT = new URL('../', import.meta.url);
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const SECONDS = arg('--seconds', 5);
const CONNECTIONS = arg('--connections', 16);
const ROUNDS = arg('--rounds', 3);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** PIDs of workerd processes that are children of this process. */
function workerdPids() {
  const pids = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('workerd')) pids.push(Number(p));
    } catch { /* gone */ }
  }
  return pids;
}

/** user + system CPU seconds of a process (all its threads). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function startWorker(name, { seed, ...options }) {
  const before = new Set(workerdPids());
  const t0 = performance.now();
  const { mf, url } = await startMiniflare(Miniflare, options);
  if (seed) await seed(mf);
  const ready = performance.now();
  const first = await fetch(`${url}/r/e`, { method: 'POST', headers: headersFor(url), body: HIT });
  await first.arrayBuffer();
  const firstResponse = performance.now();
  const pid = workerdPids().find((p) => !before.has(p));
  return { name, mf, url, pid, coldStartMs: firstResponse - ready, startMs: firstResponse - t0, status: first.status };
}

const wasmPath = new URL('build/index_bg.wasm', ROOT);
const common = { queueProducers: { DELIVERIES: 'deliveries' } }; // producers only: intake is what a visitor waits for

// BENCH_WORKERS=null,capi-edge runs a subset, for quick comparisons while optimizing.
const ONLY = process.env.BENCH_WORKERS ? process.env.BENCH_WORKERS.split(',') : null;
const plan = {
  null: () => ({ modules: true, scriptPath: new URL('bench/null-worker.mjs', ROOT).pathname }),
  'capi-edge': () => ({
    ...capiEdgeWorker(),
    // BENCH_RATELIMIT=1 binds the per-IP limiter as production does (one more call per hit), with a limit the
    // bench never reaches.
    ...(process.env.BENCH_RATELIMIT && { ratelimits: { INTAKE_LIMITER: { simple: { limit: 1e9, period: 60 } } } }),
  }),
  // The same, serving the live version from its config store (KV, as deployed): the example config published as
  // version 1. Each isolate reads the pointer at its first request, then every 20 s; every hit checks the cache.
  'capi-edge-kv': () => ({
    ...plan['capi-edge'](),
    kvNamespaces: { CONFIG_STORE: 'config-store' },
    async seed(mf) {
      const kv = await mf.getKVNamespace('CONFIG_STORE');
      const record = { version: 1, format: 1, published_by: 'bench', published_ms: Date.now(), message: 'bench', config: JSON.parse(config) };
      await kv.put('config/v/1', JSON.stringify(record));
      await kv.put('config/live', JSON.stringify({ version: 1 }));
    },
  }),
  // Other build directories (BENCH_OTHER_BUILD=dir[,dir…]), each run alongside as `other:<dir name>` to measure a
  // change: the same options otherwise.
  ...Object.fromEntries((process.env.BENCH_OTHER_BUILD || '').split(',').filter(Boolean).map((dir) => [
    `other:${dir.replace(/\/$/, '').split('/').pop()}`,
    () => ({ ...plan['capi-edge'](), scriptPath: `${dir}/index.js` }),
  ])),
  'baseline-js': () => ({ ...common, modules: true, scriptPath: new URL('bench/baseline-worker.mjs', ROOT).pathname }),
  'enqueue-only': () => ({ ...common, modules: true, scriptPath: new URL('bench/enqueue-only-worker.mjs', ROOT).pathname }),
};
const workers = [];
for (const [name, options] of Object.entries(plan)) {
  if (!ONLY || ONLY.includes(name) || name.startsWith('other:')) workers.push(await startWorker(name, options()));
}
for (const w of workers) if (w.status !== 204) throw new Error(`${w.name} answered ${w.status} to the bench hit`);

async function load(w) {
  const cpu0 = cpuSeconds(w.pid);
  const r = await autocannon({ url: `${w.url}/r/e`, method: 'POST', headers: headersFor(w.url), body: HIT, connections: CONNECTIONS, duration: SECONDS });
  const cpu = cpuSeconds(w.pid) - cpu0;
  if (r.non2xx || r.errors) throw new Error(`${w.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: r.requests.total, cpuMsPerRequest: (cpu * 1000) / r.requests.total };
}

const results = Object.fromEntries(workers.map((w) => [w.name, []]));
for (const w of workers) await load({ ...w }).catch((e) => { throw e; }); // warm-up round, not counted
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [...workers].reverse() : workers;
  for (const w of order) results[w.name].push(await load(w));
}
for (const w of workers) await w.mf.dispose();

// Cold start, ROUNDS times per worker: a fresh workerd each time, from ready to the first response. (The first
// start of all is left out: it also pays for warming up this machine's caches, whichever worker goes first.)
// Also from the process's start: that includes the module's start (workerd runs it before it is ready), where
// work can move off the visitor's path (on Cloudflare it overlaps the TLS handshake) but not out of the isolate.
const coldStarts = Object.fromEntries(workers.map((w) => [w.name, []]));
const processStarts = Object.fromEntries(workers.map((w) => [w.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const w of workers) {
    const fresh = await startWorker(w.name, plan[w.name]());
    coldStarts[w.name].push(fresh.coldStartMs);
    processStarts[w.name].push(fresh.startMs);
    await fresh.mf.dispose();
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const spread = (xs, digits = 1) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
const summary = Object.fromEntries(Object.entries(results).map(([name, runs]) => [name, {
  rps: median(runs.map((r) => r.rps)), rpsRuns: runs.map((r) => r.rps),
  p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)),
  cpu: median(runs.map((r) => r.cpuMsPerRequest)), cpuRuns: runs.map((r) => r.cpuMsPerRequest),
}]));
const rows = workers.map((w) => {
  const s = summary[w.name];
  return {
    worker: w.name,
    'req/s (median)': Math.round(s.rps),
    'req/s (runs)': s.rpsRuns.map(Math.round).join(' / '),
    'p50 ms': s.p50,
    'p99 ms': s.p99,
    'p99 runs': results[w.name].map((r) => r.p99).join(' / '),
    'workerd CPU ms/req': s.cpu.toFixed(3),
    'CPU runs': spread(s.cpuRuns.map((c) => c * 1000)) + ' µs',
    'cold start ms': `${median(coldStarts[w.name]).toFixed(1)} (${spread(coldStarts[w.name])})`,
    'from process start ms': `${median(processStarts[w.name]).toFixed(0)} (${spread(processStarts[w.name], 0)})`,
  };
});
console.log(`\nMiniflare ${JSON.parse(readFileSync(new URL('node_modules/miniflare/package.json', ROOT))).version} in a plain Node process, ` +
  `autocannon ${CONNECTIONS} connections × ${SECONDS} s, ${ROUNDS} alternating rounds after a warm-up, 2 shared cores:`);
console.table(rows);
const ce = summary['capi-edge'];
const base = summary['baseline-js'];
if (ce && summary.null) {
  console.log(`capi-edge throughput: ${(ce.rps / summary.null.rps).toFixed(2)}× null` + (base ? `, ${(ce.rps / base.rps).toFixed(2)}× baseline-js` : ''));
  console.log(`capi-edge CPU per hit inside workerd, above the null floor: ${((ce.cpu - summary.null.cpu) * 1000).toFixed(0)} µs` +
    (base ? ` (baseline-js: ${((base.cpu - summary.null.cpu) * 1000).toFixed(0)} µs)` : ''));
}
const kvw = summary['capi-edge-kv'];
if (ce && kvw) {
  console.log(`the config from KV (capi-edge-kv above capi-edge): ${((kvw.cpu - ce.cpu) * 1000).toFixed(0)} µs CPU per hit, ` +
    `${(kvw.rps / ce.rps).toFixed(2)}× the throughput`);
}
const queue = summary['enqueue-only'];
if (ce && queue && !process.env.BENCH_HIT) { // a lighter hit may enqueue nothing
  console.log(`of which the enqueue (enqueue-only above null): ${((queue.cpu - summary.null.cpu) * 1000).toFixed(0)} µs; ` +
    `the worker's own work above enqueue-only: capi-edge ${((ce.cpu - queue.cpu) * 1000).toFixed(0)} µs` +
    (base ? `, baseline-js ${((base.cpu - queue.cpu) * 1000).toFixed(0)} µs` : ''));
}
const wasm = readFileSync(wasmPath);
console.log(`Wasm: ${statSync(wasmPath).size} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzip`);
