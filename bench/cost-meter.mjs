// The bindings a worker is billed for, wrapped and counted (bench/cost.mjs): every fetch the worker makes (a
// subrequest), every Queue message sent, received, acked and retried (with its size: Queues bill an operation per
// 64 KB written, read or deleted), every D1 statement's rows read and written as D1 reports them in `meta`, and
// every KV read. A generated entry module imports this first, then the built worker, and answers GET /__cost
// with the counts (a real request never reaches that path: the entry exists only in the bench).
import { WorkerEntrypoint } from 'cloudflare:workers';

export const counts = {
  invocations: 0, queue_invocations: 0,
  queue_messages_sent: 0, queue_write_ops: 0, queue_messages_received: 0, queue_read_ops: 0, queue_acks: 0, queue_delete_ops: 0, queue_retries: 0,
  d1_statements: 0, d1_rows_read: 0, d1_rows_written: 0, kv_reads: 0, subrequests: 0,
};
const bytes = (body) => new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body ?? null)).length;
const ops = (body) => Math.max(1, Math.ceil(bytes(body) / 65536));

const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => { counts.subrequests++; return realFetch(...args); };

/** Rows written per statement, by its SQL's start (`--by-statement` prints them). */
export const bySql = {};

function meter(result, sql = '') {
  const meta = result?.meta;
  counts.d1_statements++;
  if (meta) {
    counts.d1_rows_read += meta.rows_read ?? 0;
    counts.d1_rows_written += meta.rows_written ?? 0;
    const key = sql.replace(/\s+/g, ' ').slice(0, 70);
    const entry = (bySql[key] ??= { statements: 0, rows_written: 0, rows_read: 0 });
    entry.statements++;
    entry.rows_written += meta.rows_written ?? 0;
    entry.rows_read += meta.rows_read ?? 0;
  }
  return result;
}

// The wrappers carry the class names worker-rs checks bindings by (`constructor.name`).
class D1PreparedStatement {
  constructor(inner, sql) { this.inner = inner; this.sql = sql; }
  bind(...values) { return new D1PreparedStatement(this.inner.bind(...values), this.sql); }
  async all() { return meter(await this.inner.all(), this.sql); }
  async run() { return meter(await this.inner.run(), this.sql); }
  async raw(options) { const r = await this.inner.all(); meter(r, this.sql); return this.inner.raw(options).then((rows) => { counts.d1_statements--; return rows; }); }
  // `first` returns no meta: read it through `all`, as `first` would.
  async first(column) {
    const r = meter(await this.inner.all(), this.sql);
    const row = r.results?.[0];
    if (row === undefined) return null;
    return column === undefined ? row : (row[column] ?? null);
  }
}
class D1Database {
  constructor(inner) { this.inner = inner; }
  prepare(sql) { return new D1PreparedStatement(this.inner.prepare(sql), sql); }
  async batch(statements) { return (await this.inner.batch(statements.map((s) => s.inner ?? s))).map((r, i) => meter(r, statements[i].sql)); }
  async exec(sql) { counts.d1_statements++; return this.inner.exec(sql); }
  dump() { return this.inner.dump(); }
}
class WorkerQueue {
  constructor(inner) { this.inner = inner; }
  send(body, options) { counts.queue_messages_sent++; counts.queue_write_ops += ops(body); return this.inner.send(body, options); }
  sendBatch(messages, options) {
    for (const m of messages) { counts.queue_messages_sent++; counts.queue_write_ops += ops(m.body); }
    return this.inner.sendBatch(messages, options);
  }
}
class KvNamespace {
  constructor(inner) { this.inner = inner; }
  get(key, options) { counts.kv_reads++; return this.inner.get(key, options); }
  getWithMetadata(key, options) { counts.kv_reads++; return this.inner.getWithMetadata(key, options); }
  put(...a) { return this.inner.put(...a); }
  delete(...a) { return this.inner.delete(...a); }
  list(...a) { return this.inner.list(...a); }
}

/** `env` with its Queue, D1 and KV bindings counted. */
export function metered(env) {
  const out = { ...env };
  for (const [name, value] of Object.entries(env)) {
    const kind = value?.constructor?.name;
    if (kind === 'WorkerQueue') out[name] = new WorkerQueue(value);
    else if (kind === 'D1Database') out[name] = new D1Database(value);
    else if (kind === 'KvNamespace') out[name] = new KvNamespace(value);
  }
  return out;
}

/** A queue batch whose messages' reads, acks and retries are counted. */
export function meteredBatch(batch) {
  const messages = batch.messages.map((m) => {
    counts.queue_messages_received++;
    counts.queue_read_ops += ops(m.body);
    return {
      get id() { return m.id; }, get timestamp() { return m.timestamp; }, get body() { return m.body; }, get attempts() { return m.attempts; },
      ack() { counts.queue_acks++; counts.queue_delete_ops += ops(m.body); return m.ack(); },
      retry(options) { counts.queue_retries++; return m.retry(options); },
    };
  });
  return {
    get queue() { return batch.queue; },
    messages,
    ackAll() { for (const m of messages) m.ack(); },
    retryAll(options) { for (const m of messages) m.retry(options); },
  };
}

/** The entry class around the built worker's (worker-build exports a WorkerEntrypoint class): each call makes
 * the worker's instance with the metered env, as the runtime would with the real one. */
export function entry(Worker) {
  return class Metered extends WorkerEntrypoint {
    async fetch(request) {
      if (new URL(request.url).pathname === '/__cost') return Response.json({ ...counts, by_statement: bySql });
      counts.invocations++;
      return new Worker(this.ctx, metered(this.env)).fetch(request);
    }
    async queue(batch) {
      counts.queue_invocations++;
      return new Worker(this.ctx, metered(this.env)).queue(meteredBatch(batch));
    }
    async scheduled(event) {
      counts.invocations++;
      return new Worker(this.ctx, metered(this.env)).scheduled(event);
    }
  };
}
