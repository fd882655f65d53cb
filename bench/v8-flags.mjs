// Miniflare with V8 flags for workerd, for the bench scripts' experiments (`--v8-flags "…"`). Miniflare has no
// option for workerd's `v8Flags` config field, so this makes a copy of Miniflare under target/ whose generated
// workerd config carries the flags, and loads it. Diagnostics only: nothing deployed can set V8 flags.
//   const Miniflare = await miniflareWithV8Flags(['--no-flush-liftoff-code']);
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const ROOT = new URL('../', import.meta.url);
const SOURCE = new URL('node_modules/miniflare/', ROOT);
// Under the repo, so the copy resolves Miniflare's own dependencies (workerd, undici, …) from node_modules.
const COPY = new URL('target/bench-miniflare-v8-flags/node_modules/miniflare/', ROOT);
const ENTRY = 'dist/src/index.js';
// The end of the workerd config Miniflare assembles (its `#assembleConfig`).
const CONFIG_TAIL = '      extensions,\n      structuredLogging: this.#structuredWorkerdLogs\n    };';

/** The Miniflare class; with flags, one whose workerd runs with them. */
export async function miniflareWithV8Flags(flags = []) {
  if (flags.length === 0) return (await import('miniflare')).Miniflare;
  const source = readFileSync(new URL(ENTRY, SOURCE), 'utf8');
  if (!source.includes(CONFIG_TAIL)) {
    throw new Error(`this Miniflare's config assembly changed; update CONFIG_TAIL in bench/v8-flags.mjs`);
  }
  // A copy of the installed Miniflare (again after an upgrade), then its entry with the flags.
  const version = (dir) => JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')).version;
  if (!existsSync(new URL('package.json', COPY)) || version(COPY) !== version(SOURCE)) {
    rmSync(COPY, { recursive: true, force: true });
    cpSync(SOURCE, COPY, { recursive: true });
  }
  writeFileSync(new URL(ENTRY, COPY), source.replace(CONFIG_TAIL, CONFIG_TAIL.replace(
    'extensions,', 'extensions,\n      v8Flags: JSON.parse(process.env.CAPI_EDGE_BENCH_V8_FLAGS || "[]"),',
  )));
  process.env.CAPI_EDGE_BENCH_V8_FLAGS = JSON.stringify(flags);
  return (await import(pathToFileURL(new URL(ENTRY, COPY).pathname).href)).Miniflare;
}

/** `--v8-flags "<flags>"` from the command line, split on spaces; [] when absent. */
export function v8FlagsArg(argv = process.argv) {
  const i = argv.indexOf('--v8-flags');
  return i > 0 ? argv[i + 1].split(' ').filter(Boolean) : [];
}
