// Starts `wrangler dev` (the local loop developers use) on a free loopback port, with its own state folder,
// against a mock CAPI. Stops it by the PID of wrangler itself, so workerd goes with it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const ROOT = new URL('../../', import.meta.url).pathname;
const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

function run(args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(join(ROOT, 'node_modules/.bin/wrangler'), args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrangler ${args[0]} failed: ${out}`))));
  });
}

export async function startWranglerDev({ mockPort }) {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), 'capi-edge-dev-'));
  const env = {
    ...process.env,
    CAPI_EDGE_BUILD: '--skip',
    WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', WRANGLER_HIDE_BANNER: 'true',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  };
  await run(['d1', 'migrations', 'apply', 'capi-edge-ledger', '-c', 'wrangler.admin.toml', '--local', '--persist-to', state], env);
  // Both workers, as `make dev` runs them: intake gets its variables as --var, the admin worker from a .dev.vars
  // beside a copy of its config (scripts/admin-dev-config.mjs).
  const vars = ['SERVE_DEMO=true', `UPSTREAM_ORIGIN=http://127.0.0.1:${mockPort}`, 'OPENAI_CAPI_KEY=dev-openai-key',
    'CAPI_ACCESS_TOKEN=dev-capi-token', 'META_ACCESS_TOKEN=dev-meta-token', 'TIKTOK_ACCESS_TOKEN=dev-tiktok-token', 'BACKEND_API_KEY=dev-backend-key'];
  const adminConfig = execFileSync('node', [join(ROOT, 'scripts/admin-dev-config.mjs'), join(state, 'admin'), ...vars], { encoding: 'utf8' }).trim();
  const child = spawn(join(ROOT, 'node_modules/.bin/wrangler'), [
    'dev', '-c', 'wrangler.toml', '-c', adminConfig, '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state, '--log-level', 'warn',
    ...vars.flatMap((v) => ['--var', `${v.slice(0, v.indexOf('='))}:${v.slice(v.indexOf('=') + 1)}`]),
  ], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60000;
  for (;;) {
    try {
      if ((await fetch(`${url}/r/health`)).ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > until || child.exitCode !== null) throw new Error(`wrangler dev did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(state, { recursive: true, force: true });
    },
  };
}
