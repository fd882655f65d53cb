// How the bench scripts start a built capi-edge intake worker in Miniflare (bench/run.mjs, bench/first-hits.mjs,
// bench/profile.mjs): its modules (the bundled JS and the Wasm beside it) and the bindings a browser hit uses.
// It serves the config it embeds (build/capi.compiled.json, loaded when the module starts), as `make deploy`
// ships it. BENCH_CONFIG_VAR=1 passes the same config as CAPI_CONFIG_JSON instead, as the tests and previews do
// (and as the bench did before session 7): an isolate's first request then parses it again.
import { readFileSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);
export const compiledConfig = readFileSync(new URL('build/capi.compiled.json', ROOT), 'utf8');

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
