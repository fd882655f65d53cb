// How long `make dev` takes to answer: scripts/dev.sh started in a fresh state folder, timed until its worker
// answers /health, then stopped; `--runs N` times. The first run after a code change includes the build; the
// others are warm starts (the build is up to date and skipped). Prints each run and the warm median.
//   node bench/dev-start.mjs [--runs 3]
// It leaves build/ as `make dev` builds it (fast, unoptimized): `make test` and `bench/run.mjs` build again.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const runs = Number(arg('--runs', 3));
const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });

async function once() {
  const state = mkdtempSync(join(tmpdir(), 'capi-dev-start-'));
  const [worker, mock] = [await freePort(), await freePort()];
  const started = Date.now();
  const child = spawn('bash', ['scripts/dev.sh'], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WORKER_PORT: String(worker), MOCK_PORT: String(mock), CAPI_EDGE_DEV_STATE: state, LOG_LEVEL: 'warn' },
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`make dev exited ${child.exitCode}:\n${out}`);
      try {
        const res = await fetch(`http://127.0.0.1:${worker}/r/health`);
        if (res.ok) break;
      } catch { /* not yet */ }
      if (Date.now() - started > 15 * 60 * 1000) throw new Error(`no answer in 15 minutes:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { ms: Date.now() - started, built: !/\[build\] up to date/.test(out) };
  } finally {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    await new Promise((r) => setTimeout(r, 1500));
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    rmSync(state, { recursive: true, force: true });
  }
}

const results = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  results.push(r);
  console.log(`make dev start ${i + 1}: answered in ${(r.ms / 1000).toFixed(1)} s (${r.built ? 'built' : 'build up to date'})`);
}
const warm = results.filter((r) => !r.built).map((r) => r.ms).sort((a, b) => a - b);
if (warm.length) console.log(`make dev warm start: median ${(warm[Math.floor(warm.length / 2)] / 1000).toFixed(1)} s over ${warm.length} runs (target: under 60 s)`);
