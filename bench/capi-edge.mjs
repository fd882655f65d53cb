// How the bench scripts start a built capi-edge intake worker in Miniflare (bench/run.mjs, bench/first-hits.mjs,
// bench/profile.mjs): its modules (the bundled JS and the Wasm beside it), the bindings a browser hit uses, and
// build/capi.compiled.json as CAPI_CONFIG_JSON (what tests and previews use; NO_CONFIG_VAR=1 leaves it out, so
// the worker serves the config it embeds).
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
    bindings: process.env.NO_CONFIG_VAR ? {} : { CAPI_CONFIG_JSON: compiledConfig },
  };
}
