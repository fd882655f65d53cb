// `node bench/first-hits.mjs [build dir …]`: a fresh isolate's first requests, one by one. bench/run.mjs's cold
// start is "ready → first hit answered"; this splits it: the first answer of any route (`GET /r/health`: the Wasm
// compiled and started, the config loaded) and then the first three hits. Each build (default build/; others as
// for BENCH_OTHER_BUILD: directories under the repo holding an index.js; `baseline-js` for the hand-written JS
// worker, whose "health" is a 405) starts in 6 fresh workerd processes,
// alternating; the first round is left out (it also warms this machine's caches). Medians in ms.
//   BENCH_CONFIG_VAR=1 with the config as CAPI_CONFIG_JSON, as tests and previews run (bench/capi-edge.mjs)
//   --v8-flags "…"     workerd's V8 with these flags (bench/v8-flags.mjs), e.g. "--no-flush-liftoff-code
//                      --no-wasm-lazy-compilation": what the first requests cost without V8 compiling then
import { capiEdgeWorker, startMiniflare } from './capi-edge.mjs';
import { HIT, headersFor } from './hit.mjs';
import { miniflareWithV8Flags, v8FlagsArg } from './v8-flags.mjs';

const ROOT = new URL('../', import.meta.url);
const Miniflare = await miniflareWithV8Flags(v8FlagsArg());
const positional = process.argv.slice(2).filter((a, i, all) => a !== '--v8-flags' && all[i - 1] !== '--v8-flags');
const builds = positional.length > 0 ? positional : [new URL('build', ROOT).pathname];
const ROUNDS = 6;
const times = Object.fromEntries(builds.map((b) => [b, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const build of builds) {
    const { mf, url } = await startMiniflare(Miniflare,
      capiEdgeWorker(build === 'baseline-js' ? new URL('bench/baseline-worker.mjs', ROOT).pathname : `${build}/index.js`));
    const run = [];
    for (const kind of ['health', 'hit', 'hit', 'hit']) {
      const t = performance.now();
      const r = kind === 'health'
        ? await fetch(`${url}/r/health`)
        : await fetch(`${url}/r/e`, { method: 'POST', headers: headersFor(url), body: HIT });
      await r.arrayBuffer();
      if (kind === 'hit' && r.status !== 204) throw new Error(`${build}: the bench hit got ${r.status}`);
      run.push(performance.now() - t);
    }
    if (round > 0) times[build].push(run);
    await mf.dispose();
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = builds.map((build) => {
  const col = (i) => times[build].map((run) => run[i]);
  return {
    build: build.replace(/\/$/, '').split('/').pop(),
    'first answer (health)': median(col(0)).toFixed(1),
    'hit 1': median(col(1)).toFixed(1),
    'hit 1 runs': col(1).map((t) => t.toFixed(0)).join(' / '),
    'hit 2': median(col(2)).toFixed(1),
    'hit 3': median(col(3)).toFixed(1),
  };
});
console.table(rows);
