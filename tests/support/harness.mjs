// Test harness: the built worker (build/index.js + Wasm) in workerd through Miniflare's API, with real local
// Queues and D1, sending to the mock CAPI on loopback. Kept outside tests/e2e so `node --test` does not run it.
import { Miniflare } from 'miniflare';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createMock } from '../../mock/capi-mock.mjs';
import { MOCK_CREDENTIALS } from '../../mock/platforms/google-ads.mjs';
import { MOCK_OAUTH } from '../../mock/platforms/x.mjs';

const ROOT = new URL('../../', import.meta.url);
export const read = (path) => readFileSync(new URL(path, ROOT), 'utf8');
export const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something truthy (and returns that), or fails after `ms` naming `what`. */
export async function until(what, check, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await check();
    if (value) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Starts the mock CAPI and the worker. `config` (TOML) replaces capi.toml (compiled into CAPI_CONFIG_JSON); `bindings` adds/overrides. */
/** `scripts`: other entry modules for the two workers ({intake, admin}, paths from the repository root).
 * `d1Persist`: a folder for the ledger, so a test can stop the workers (as a killed consumer) and start them
 * again on the same ledger; `migrate: false` then leaves the schema the first start made. `dlqRetries`: how often
 * the dead-letter queue's consumer tries a batch (Miniflare's default otherwise). */
export async function start({ config, bindings = {}, expectTokens, googleCredentials, xCredentials, scripts = {}, maxRetries = 8, rateLimit = 100000, listen = false, shards = 1, kvPersist, d1Persist, migrate = true, dlqRetries } = {}) {
  // The delivery queue, and its shards (DELIVERIES_2 …) when asked for: each with its consumer, one DLQ for all.
  const queues = Array.from({ length: shards }, (_, i) => i === 0 ? ['DELIVERIES', 'capi-edge-deliveries'] : [`DELIVERIES_${i + 1}`, `capi-edge-deliveries-${i + 1}`]);
  const mock = createMock({ quiet: true, expectTokens, googleCredentials, xCredentials });
  const mockPort = await mock.listen(0);
  // Two workers, as deployed (src/edge/mod.rs): intake on the shop's domain, and the admin worker (queue
  // consumer, scheduled job, dashboard API) behind intake's ADMIN service binding. Both read the same config.
  const secrets = withoutUndefined({
    UPSTREAM_ORIGIN: `http://127.0.0.1:${mockPort}`,
    OPENAI_CAPI_KEY: 'test-openai-key',
    CAPI_ACCESS_TOKEN: 'test-capi-token',
    META_ACCESS_TOKEN: 'test-meta-token',
    RETRY_BASE_SECONDS: '0',
    BACKEND_API_KEY: 'test-backend-key',
    DEBUG_TOKEN: 'test-debug-token',
    SHOPIFY_WEBHOOK_SECRET: 'test-shopify-secret',
    WOOCOMMERCE_WEBHOOK_SECRET: 'test-woo-secret',
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${mockPort}/alerts/slack`,
    // The other platforms' secrets, as the mock expects them (mock/platforms/).
    TIKTOK_ACCESS_TOKEN: 'test-tiktok-token',
    PINTEREST_TOKEN: 'test-pinterest-token',
    SNAP_CAPI_TOKEN: 'test-snap-token',
    REDDIT_CONVERSION_TOKEN: 'test-reddit-token',
    LINKEDIN_TOKEN: 'test-linkedin-token',
    GA4_API_SECRET: 'test-ga4-api-secret',
    GOOGLE_ADS_CLIENT_ID: MOCK_CREDENTIALS.client_id,
    GOOGLE_ADS_CLIENT_SECRET: MOCK_CREDENTIALS.client_secret,
    GOOGLE_ADS_REFRESH_TOKEN: MOCK_CREDENTIALS.refresh_token,
    X_CONSUMER_KEY: MOCK_OAUTH.consumer_key,
    X_CONSUMER_SECRET: MOCK_OAUTH.consumer_secret,
    X_ACCESS_TOKEN: MOCK_OAUTH.token,
    X_ACCESS_TOKEN_SECRET: MOCK_OAUTH.token_secret,
    ...(config ? { CAPI_CONFIG_JSON: compile(config) } : {}),
    ...bindings,
  });
  const worker = (name, script) => ({
    name,
    modules: true,
    scriptPath: new URL(script, ROOT).pathname,
    // Modules named from the repository root when a wrapper entry (bench/cost.mjs's meters) imports the build.
    ...(scripts.intake || scripts.admin ? { modulesRoot: new URL('.', ROOT).pathname } : {}),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2025-06-01',
    bindings: secrets,
    // The config store, empty unless a test publishes to it (in memory, or in `kvPersist`: the folder that
    // `capi-edge publish --local --persist-to DIR` writes through wrangler, as DIR/v3/kv). A test may bind
    // something else as CONFIG_STORE (a broken store).
    kvNamespaces: bindings.CONFIG_STORE === undefined ? { CONFIG_STORE: CONFIG_STORE_ID } : {},
  });
  const mf = new Miniflare({
    cf: false,
    ...(listen ? { host: '127.0.0.1', port: 0 } : {}),
    ...(kvPersist ? { kvPersist } : {}),
    ...(d1Persist ? { d1Persist } : {}),
    workers: [
      {
        ...worker('capi-edge', scripts.intake ?? 'build/index.js'),
        // The static files (scripts/assets.mjs), served before the worker, as [assets] in wrangler.toml does.
        assets: { directory: new URL('build/assets', ROOT).pathname, routerConfig: { has_user_worker: true } },
        serviceBindings: { ADMIN: 'capi-edge-admin' },
        ratelimits: { INTAKE_LIMITER: { simple: { limit: rateLimit, period: 60 } } },
        queueProducers: Object.fromEntries(queues),
      },
      {
        ...worker('capi-edge-admin', scripts.admin ?? 'build/admin/index.js'),
        d1Databases: { LEDGER: 'ledger' },
        queueConsumers: {
          ...Object.fromEntries(queues.map(([, name]) => [name, { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries, deadLetterQueue: 'capi-edge-dlq' }])),
          'capi-edge-dlq': { maxBatchSize: 100, maxBatchTimeout: 1, ...(dlqRetries === undefined ? {} : { maxRetries: dlqRetries }) },
        },
      },
    ],
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const db = await mf.getD1Database('LEDGER', 'capi-edge-admin');
  // Every migration in order, as `wrangler d1 migrations apply` does.
  for (const file of migrate ? readdirSync(new URL('migrations/', ROOT)).filter((f) => f.endsWith('.sql')).sort() : []) {
    for (const stmt of sqlStatements(read(`migrations/${file}`))) await db.prepare(stmt).run();
  }

  const base = 'https://shop.example.com';
  const store = bindings.CONFIG_STORE === undefined ? await mf.getKVNamespace('CONFIG_STORE') : null;
  return {
    mf, mock, db, base, url, store,
    fetch: (path, init = {}) => mf.dispatchFetch(base + path, init),
    /** Every event the mock accepted. */
    accepted: async () => mock.state.accepted,
    /** Waits until `predicate(accepted)` holds, or fails after `ms`. */
    async waitFor(predicate, ms = 15000, what = 'the mock to receive the events') {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        if (predicate(mock.state.accepted)) return mock.state.accepted;
        await sleep(50);
      }
      throw new Error(`timed out waiting for ${what}; accepted: ${JSON.stringify(mock.state.accepted.map((a) => [a.layout, a.event_id]))}; refused: ${JSON.stringify(mock.state.refused)}`);
    },
    /** Runs the Cron Trigger's job (alerts, retention) as the platform would, at `time` (ms; default now). */
    async scheduled(time = Date.now()) {
      const worker = await mf.getWorker('capi-edge-admin');
      return worker.scheduled({ cron: '*/5 * * * *', scheduledTime: new Date(time) });
    },
    ledger: async (where = '1=1') => (await db.prepare(`SELECT * FROM ledger WHERE ${where} ORDER BY destination, event_id`).all()).results,
    async stop() {
      await mf.dispose();
      await mock.close();
    },
  };
}

/** A migration file's statements: split at `;`, except inside a trigger's BEGIN … END (as wrangler does). */
export function sqlStatements(sql) {
  const statements = [];
  let current = '';
  for (const piece of sql.replace(/--.*$/gm, '').split(';')) {
    current += piece;
    const text = current.trim();
    if (/^CREATE\s+TRIGGER/i.test(text) && !/\bEND$/i.test(text)) {
      current += ';';
      continue;
    }
    if (text) statements.push(text);
    current = '';
  }
  return statements;
}

/** The config store's namespace id in wrangler.toml: local KV data is kept per id, so the CLI and the tests meet. */
export const CONFIG_STORE_ID = read('wrangler.toml').match(/binding = "CONFIG_STORE"\s*\nid = "([^"]+)"/)[1];

/** A config's TOML as the worker embeds it: checked and compiled by the native CLI (`capi-edge compile`). */
const compile = (toml) => execFileSync(CLI, ['compile', '-'], { input: toml, encoding: 'utf8' });

/** The native CLI that scripts/build.sh builds (in CARGO_TARGET_DIR when it is set, as cargo does). */
export const CLI = `${process.env.CARGO_TARGET_DIR ?? new URL('target', ROOT).pathname}/release/capi-edge`;

/** Bindings set to `undefined` are left out: a test's way to remove a default binding. */
const withoutUndefined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** A browser Purchase hit on the thank-you page. */
export function purchase(id, extra = {}) {
  return {
    event: 'Purchase',
    event_id: id,
    page: { url: 'https://shop.example.com/thank-you?o=' + id },
    user: { email: ' Jane.Doe@Example.com ', phone: '+1 (650) 555-1212' },
    data: { value: 149, currency: 'USD', contents: [{ id: 'BOOT-42', quantity: 1, price: 149 }] },
    ...extra,
  };
}

export const browserHeaders = {
  'content-type': 'application/json',
  origin: 'https://shop.example.com',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) capi-edge-test',
  'cf-connecting-ip': '2001:db8::42',
};
