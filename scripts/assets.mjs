// The worker's static files, for wrangler's [assets] (issue 15): the pixel script, its bridge, the dashboard and
// config pages need no Wasm, so they are rendered here, at build time, under the config's path prefix, and served by
// Cloudflare before the worker runs. A change of path_prefix therefore needs a build and deploy (it needs new
// routes anyway).
//   node scripts/assets.mjs build/capi.compiled.json build/assets
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [compiled, out] = process.argv.slice(2);
const prefix = JSON.parse(readFileSync(compiled, 'utf8')).site.path_prefix;
if (!/^\/[A-Za-z0-9._~\/-]*$/.test(prefix) || prefix.includes('..')) throw new Error(`path_prefix ${JSON.stringify(prefix)} is not a plain path`);
const www = (f) => readFileSync(join(root, 'www', f), 'utf8');
// The scripts every visitor's browser loads, minified (esbuild, as the worker's build uses it); the `/*!` header
// with the usage stays.
const minified = (code) => execFileSync(join(root, 'node_modules/.bin/esbuild'), ['--minify', '--legal-comments=inline', '--loader=js'], { input: code, encoding: 'utf8' });
const dir = join(out, prefix);
rmSync(out, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 's.js'), minified(www('pixel.js').replaceAll('__CAPI_ENDPOINT__', `${prefix}/e`)));
writeFileSync(join(dir, 'b.js'), minified(www('bridge.js')));
// The preview panel, loaded by the pixel only in a tab opened from a preview link.
writeFileSync(join(dir, 'p.js'), minified(www('preview.js')));
// The config checker (build/checker, wasm-bindgen's web target), loaded by the dashboard's config page only.
mkdirSync(join(dir, 'checker'), { recursive: true });
for (const f of ['capi_edge.js', 'capi_edge_bg.wasm']) copyFileSync(join(root, 'build/checker', f), join(dir, 'checker', f));
// The events dashboard, and the config page it links to (the editor, diff, publish, versions, trace).
for (const page of ['dashboard.html', 'config.html']) writeFileSync(join(dir, page), www(page).replaceAll('__CAPI_PREFIX__', prefix));
// Headers Cloudflare adds to these files (wrangler reads _headers at deploy and in `wrangler dev`).
writeFileSync(join(out, '_headers'), [
  `${prefix}/s.js`, '  Cache-Control: public, max-age=3600',
  `${prefix}/b.js`, '  Cache-Control: public, max-age=3600',
  `${prefix}/p.js`, '  Cache-Control: public, max-age=3600',
  `${prefix}/dashboard`, '  Cache-Control: no-store', '  X-Robots-Tag: noindex',
  `${prefix}/config`, '  Cache-Control: no-store', '  X-Robots-Tag: noindex',
  `${prefix}/checker/*`, '  Cache-Control: no-cache', '  X-Robots-Tag: noindex', '',
].join('\n'));
console.log(`${out}: ${prefix}/s.js, ${prefix}/b.js, ${prefix}/p.js, ${prefix}/dashboard, ${prefix}/config, ${prefix}/checker/`);
