// `wrangler dev` with two configs gives `--var` and `--env-file` to the first worker only; the second reads the
// `.dev.vars` beside its own config. So the local loop (scripts/dev.sh) and the wrangler tests run the admin
// worker from a copy of wrangler.admin.toml in a folder of their own, paths made absolute, with its variables
// in a `.dev.vars` there. Prints the copy's path.
//   node scripts/admin-dev-config.mjs DIR NAME=VALUE ...
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const [dir, ...pairs] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/admin-dev-config.mjs DIR NAME=VALUE ...');
  process.exit(2);
}
const out = resolve(dir);
mkdirSync(out, { recursive: true });
const toml = readFileSync(join(root, 'wrangler.admin.toml'), 'utf8')
  .replace(/^main = "([^"]+)"/m, (_, p) => `main = ${JSON.stringify(join(root, p))}`)
  .replace(/^migrations_dir = "([^"]+)"/m, (_, p) => `migrations_dir = ${JSON.stringify(join(root, p))}`);
writeFileSync(join(out, 'wrangler.toml'), toml);
const vars = pairs.map((p) => {
  const i = p.indexOf('=');
  if (i < 1 || /[\r\n]/.test(p)) throw new Error(`not NAME=VALUE: ${p}`);
  return `${p.slice(0, i)}=${JSON.stringify(p.slice(i + 1))}`;
});
writeFileSync(join(out, '.dev.vars'), vars.join('\n') + '\n', { mode: 0o600 });
console.log(join(out, 'wrangler.toml'));
