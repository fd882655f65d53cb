// `node bench/first-compile.mjs [build dir]`: how much Wasm a fresh isolate compiles before it can answer. V8
// compiles a Wasm function (Liftoff, its baseline compiler) at the function's first call, whole; and workerd
// sets V8's memory pressure to "moderate" when it creates an isolate, so V8 discards the Liftoff code compiled
// while the module started (`flush_liftoff_code`). An isolate's first requests therefore compile every function
// they call. This starts the built intake worker once with V8's code log on (bench/v8-flags.mjs), sends a
// `GET /r/health` and then one bench hit, with pauses between, and prints, for the module start, the first answer
// and the first hit: how many functions were compiled, their Wasm bytes, and the largest (names from
// index_bg.names.wasm, which scripts/build.sh keeps beside the build). Counting, not timing: the same build gives
// the same figures on any machine.
//   node bench/first-compile.mjs [build dir, default build/] [--top 8]
//   BENCH_CONFIG_VAR=1   with the config as CAPI_CONFIG_JSON, as tests and previews run (bench/capi-edge.mjs)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capiEdgeWorker, startMiniflare } from './capi-edge.mjs';
import { HIT, headersFor } from './hit.mjs';
import { miniflareWithV8Flags } from './v8-flags.mjs';

const ROOT = new URL('../', import.meta.url);
const topArg = process.argv.indexOf('--top');
const TOP = topArg > 0 ? Number(process.argv[topArg + 1]) : 8;
const build = process.argv.slice(2).find((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--top')
  ?? new URL('build', ROOT).pathname;
const PAUSE_MS = 400;

const logDir = mkdtempSync(join(tmpdir(), 'capi-edge-v8-log-'));
const Miniflare = await miniflareWithV8Flags(['--log-code', `--logfile=${logDir}/v8.log`]);
const { mf, url } = await startMiniflare(Miniflare, capiEdgeWorker(`${build}/index.js`));
const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));
await pause();
await (await fetch(`${url}/r/health`)).arrayBuffer();
await pause();
const hit = await fetch(`${url}/r/e`, { method: 'POST', headers: headersFor(url), body: HIT });
await hit.arrayBuffer();
if (hit.status !== 204) throw new Error(`the bench hit got ${hit.status}`);
await pause();
await mf.dispose();

// V8 writes one log per isolate; the worker's is the one that compiled Wasm.
const wasmCompiles = (log) => log.split('wasm-function[').length - 1;
const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8'));
rmSync(logDir, { recursive: true, force: true });
const compiled = (logs.sort((a, b) => wasmCompiles(b) - wasmCompiles(a))[0] ?? '').split('\n')
  .filter((l) => l.startsWith('code-creation,') && l.includes('wasm-function['))
  .map((l) => ({ at: Number(l.split(',')[3]), index: Number(/wasm-function\[(\d+)\]/.exec(l)[1]) }));
if (compiled.length === 0) throw new Error('no Wasm compilation in the V8 log: did the worker start?');

// The three phases, split where the log pauses (the script waited PAUSE_MS between them).
const phases = [[]];
compiled.sort((a, b) => a.at - b.at).forEach((c, i, all) => {
  if (i > 0 && c.at - all[i - 1].at > (PAUSE_MS / 2) * 1000) phases.push([]);
  phases.at(-1).push(c.index);
});
const { sizes, names } = wasmFunctions(readFileSync(`${build}/index_bg.names.wasm`));
const labels = ['module start', 'first answer (GET /r/health)', 'first hit (POST /r/e)'];
if (phases.length !== labels.length) console.log(`(the log split into ${phases.length} phases, not 3: the machine paused?)`);
phases.forEach((indexes, i) => {
  const bytes = indexes.reduce((sum, f) => sum + (sizes.get(f) ?? 0), 0);
  console.log(`${labels[i] ?? `phase ${i + 1}`}: ${indexes.length} functions, ${bytes} bytes of Wasm compiled`);
  for (const f of [...indexes].sort((a, b) => sizes.get(b) - sizes.get(a)).slice(0, TOP)) {
    console.log(`  ${String(sizes.get(f)).padStart(7)}  ${(names.get(f) ?? `function ${f}`).slice(0, 110)}`);
  }
});

/** Body size and name of each defined function, by index (imports counted first, as V8 numbers them). */
function wasmFunctions(bytes) {
  let at = 8;
  const leb = () => { let value = 0; let shift = 0; let b; do { b = bytes[at++]; value += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80); return value; };
  const skipName = () => { const n = leb(); at += n; };
  const text = (n) => { const s = bytes.subarray(at, at + n).toString('utf8'); at += n; return s; };
  const limits = () => { const flags = leb(); leb(); if (flags & 1) leb(); };
  let imported = 0;
  const sizes = new Map();
  const names = new Map();
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) { // imports
      for (let n = leb(); n > 0; n--) {
        skipName(); skipName();
        const kind = bytes[at++];
        if (kind === 0) { leb(); imported++; } else if (kind === 1) { at++; limits(); } else if (kind === 2) limits();
        else if (kind === 3) at += 2; else if (kind === 4) { at++; leb(); }
      }
    } else if (id === 10) { // code
      for (let n = leb(), i = 0; i < n; i++) { const len = leb(); sizes.set(imported + i, len); at += len; }
    } else if (id === 0 && text(leb()) === 'name') {
      while (at < end) {
        const sub = bytes[at++];
        const subEnd = leb() + at;
        if (sub === 1) for (let n = leb(); n > 0; n--) { const f = leb(); names.set(f, text(leb())); }
        at = subEnd;
      }
    }
    at = end;
  }
  return { sizes, names };
}
