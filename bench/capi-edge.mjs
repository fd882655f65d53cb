// How the bench scripts start workers in Miniflare, and a built capi-edge intake worker (bench/run.mjs,
// bench/first-hits.mjs, bench/first-compile.mjs, bench/profile.mjs): its modules (the bundled JS and the Wasm beside it) and the bindings a browser hit uses.
// It serves the config it embeds (build/capi.compiled.json, loaded when the module starts), as `make deploy`
// ships it. BENCH_CONFIG_VAR=1 passes the same config as CAPI_CONFIG_JSON instead, as the tests and previews do
// (and as the bench did before session 7): an isolate's first request then parses it again.
import { readFileSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);
export const compiledConfig = readFileSync(new URL('build/capi.compiled.json', ROOT), 'utf8');

/** `options` in a fresh workerd through `Miniflare` (the installed class, or bench/v8-flags.mjs's), with the
 *  settings every bench worker shares: loopback, a free port, one compatibility date, no `cf` object. Returns the
 *  instance and its URL without a trailing slash. */
export async function startMiniflare(Miniflare, options) {
  const mf = new Miniflare({ host: '127.0.0.1', port: 0, compatibilityDate: '2025-06-01', cf: false, ...options });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { mf, url };
}

/** Miniflare options for the intake worker whose entry is `scriptPath` (default build/index.js). */
export function capiEdgeWorker(scriptPath = new URL('build/index.js', ROOT).pathname) {
  return {
    modules: true, scriptPath,
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    // Producers only: intake is what a visitor waits for.
    queueProducers: { DELIVERIES: 'deliveries' },
    d1Databases: { LEDGER: 'ledger' },
    bindings: process.env.BENCH_CONFIG_VAR ? { CAPI_CONFIG_JSON: compiledConfig } : {},
  };
}
