// Mock Conversions API: accepts the `openai`, `capi` and `meta` layouts, and every other kind's API (one module
// each in mock/platforms/: tiktok, pinterest, snap, reddit, linkedin, ga4-mp, google-ads with its OAuth token
// endpoint, x with its OAuth 1.0a signature), on loopback; enforces their documented rules, answers like the
// real APIs, and prints each accepted event. Tests drive it through /__mock/*.
//   node mock/capi-mock.mjs [--port 9999] [--quiet]
// Alerts: POST /alerts/slack takes a Slack-style {"text"} (GET /__mock/alerts lists them).
// Faults (POST /__mock/faults, or mock.state.faults): alerts_down, fail_rate, timeout_rate, timeout_ms, delay_ms, reject_event_id,
// and unknown_pids: OpenAI pixel ids answered with 403 "unknown pid", as OpenAI answers a pid it does not know.
import http from 'node:http';
import tiktok from './platforms/tiktok.mjs';
import pinterest from './platforms/pinterest.mjs';
import snap from './platforms/snap.mjs';
import reddit from './platforms/reddit.mjs';
import linkedin from './platforms/linkedin.mjs';
import ga4mp from './platforms/ga4-mp.mjs';
import x from './platforms/x.mjs';
import { createGoogleAds } from './platforms/google-ads.mjs';

const DAY_MS = 24 * 3600 * 1000;
const HEX64 = /^[0-9a-f]{64}$/;
// OpenAI: 1-64 of [a-z0-9_-], starting and ending with a letter or digit (capi-edge sends lowercase).
const CUSTOM_EVENT_NAME = /^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/;
const OPENAI_TYPES = {
  page_viewed: 'contents', contents_viewed: 'contents', items_added: 'contents', checkout_started: 'contents',
  order_created: 'contents', lead_created: 'customer_action', registration_completed: 'customer_action',
  appointment_scheduled: 'customer_action', subscription_created: 'plan_enrollment', trial_started: 'plan_enrollment',
  app_installed: 'customer_action', app_opened: 'customer_action', custom: 'custom',
};
const OPENAI_SOURCES = ['web', 'mobile_app', 'offline', 'physical_store', 'phone_call', 'email', 'other'];
const META_SOURCES = ['email', 'website', 'app', 'phone_call', 'chat', 'physical_store', 'system_generated', 'business_messaging', 'other'];
const OPENAI_HASHED = ['emails_sha256', 'phone_numbers_sha256', 'external_ids_sha256', 'first_names_sha256', 'last_names_sha256'];
const META_HASHED = ['em', 'ph', 'fn', 'ln', 'db', 'ge', 'ct', 'st', 'zp', 'country', 'external_id'];

export function createMock({ quiet = false, expectTokens = null, googleCredentials = null, xCredentials = null } = {}) {
  // The platforms beyond OpenAI and Meta: one module each (mock/platforms/), each enforcing its documented rules.
  const googleAds = createGoogleAds();
  const platforms = [tiktok, pinterest, snap, reddit, linkedin, ga4mp, googleAds, x];
  const platformCtx = { expectTokens, googleCredentials, xCredentials };
  const state = { accepted: [], requests: 0, refused: [], faults: {}, rng: 1, injected: { 500: 0, 429: 0, timeout: 0 }, scriptFetches: 0, beacons: [], ga4: [], alerts: [] };
  const log = (...a) => { if (!quiet) console.log('[mock-capi]', ...a); };
  const random = () => { // deterministic per seed, so a fault run is repeatable
    state.rng = (state.rng * 1103515245 + 12345) % 2147483648;
    return state.rng / 2147483648;
  };

  function openaiError(status, message, code, param = null) {
    return [status, { error: { message, type: 'invalid_request_error', param, code } }];
  }
  function metaError(message, code, subcode) {
    return [400, { error: { message, type: 'OAuthException', code, error_subcode: subcode, fbtrace_id: 'AmockTrace' } }];
  }
  function tokenOk(layout, token) {
    if (!token) return false;
    return !expectTokens || !expectTokens[layout] || expectTokens[layout] === token;
  }

  function checkOpenAI(url, headers, body, now) {
    const auth = headers.authorization || '';
    if (!auth.startsWith('Bearer ') || !tokenOk('openai', auth.slice(7))) return openaiError(401, 'Unauthorized', null);
    const pid = url.searchParams.get('pid');
    if (!pid) return openaiError(400, "[{'type': 'missing', 'loc': ('query', 'pid'), 'msg': 'Field required'}]", null);
    if ((state.faults.unknown_pids || []).includes(pid)) return openaiError(403, `Unknown pid: ${pid}`, 'unknown_pid', 'pid');
    if (!Array.isArray(body.events)) return openaiError(400, 'events is required', 'missing_events', 'events');
    if (body.events.length < 1 || body.events.length > 1000) return openaiError(400, 'events must hold 1 to 1000 events', 'invalid_batch', 'events');
    for (const [i, e] of body.events.entries()) {
      const p = `events[${i}]`;
      const bad = (msg, code, field, status = 400) => openaiError(status, `Invalid event at ${p}. ${msg}`, code, `${p}${field}`);
      if (typeof e.id !== 'string' || !e.id) return bad('id is required.', 'missing_id', '.id');
      if (!(e.type in OPENAI_TYPES)) return bad('type must be a supported event.', 'invalid_event_type', '.type');
      if (e.type === 'custom' && !CUSTOM_EVENT_NAME.test(e.custom_event_name || '')) return bad('custom_event_name must be 1-64 letters, digits, _ or -, starting and ending with a letter or digit.', 'invalid_custom_event_name', '.custom_event_name');
      if (!Number.isInteger(e.timestamp_ms)) return bad('timestamp_ms must be an integer.', 'invalid_timestamp', '.timestamp_ms');
      if (e.timestamp_ms < now - 7 * DAY_MS) return openaiError(422, 'event_timestamp_ms must be within the last 7 days.', 'event_timestamp_too_old', `${p}.timestamp_ms`);
      if (e.timestamp_ms > now + 10 * 60 * 1000) return openaiError(422, 'event_timestamp_ms must be at most 10 minutes ahead.', 'event_timestamp_in_future', `${p}.timestamp_ms`);
      if (e.action_source !== undefined && !OPENAI_SOURCES.includes(e.action_source)) return bad('action_source is not valid.', 'invalid_action_source', '.action_source');
      if (e.action_source === 'web' && !e.source_url) return bad('source_url is required when action_source is web.', 'missing_source_url', '.source_url');
      if (!e.data || e.data.type !== OPENAI_TYPES[e.type]) return bad(`data.type must be ${OPENAI_TYPES[e.type]}.`, 'missing_event_data_type', '.data.type');
      if (e.data.amount !== undefined && (!Number.isInteger(e.data.amount) || !/^[A-Z]{3}$/.test(e.data.currency || ''))) return bad('amount must be an integer in minor units, with a currency.', 'invalid_amount', '.data.amount');
      for (const f of OPENAI_HASHED) {
        const v = e.user && e.user[f];
        if (v !== undefined && !(Array.isArray(v) && v.every((h) => HEX64.test(h)))) return bad(`user.${f} must be a list of lowercase SHA-256 hex.`, 'invalid_hash', `.user.${f}`);
      }
    }
    return null;
  }

  function checkMetaEvents(data, now) {
    if (!Array.isArray(data) || data.length < 1 || data.length > 1000) return metaError('data must hold 1 to 1000 events', 100);
    for (const [i, e] of data.entries()) {
      if (!e.event_name || !e.event_id) return metaError(`data[${i}]: event_name and event_id are required`, 100);
      if (!Number.isInteger(e.event_time)) return metaError(`data[${i}]: event_time must be a unix timestamp in seconds`, 100);
      if (e.event_time * 1000 < now - 7 * DAY_MS) return metaError('Invalid parameter: event_time is too far in the past', 100, 2804003);
      if (e.event_time * 1000 > now + 10 * 60 * 1000) return metaError('Invalid parameter: event_time is in the future', 100, 2804004);
      if (!META_SOURCES.includes(e.action_source)) return metaError(`data[${i}]: action_source is required`, 100);
      const cd = e.custom_data || {};
      if (e.event_name === 'Purchase' && (typeof cd.value !== 'number' || !/^[A-Za-z]{3}$/.test(cd.currency || '')))
        return metaError(`data[${i}]: a Purchase needs custom_data.value and custom_data.currency`, 100);
      if (cd.num_items !== undefined && !Number.isInteger(cd.num_items)) return metaError(`data[${i}].custom_data.num_items must be an integer`, 100);
      if (e.action_source === 'website' && (!e.event_source_url || !e.user_data || !e.user_data.client_user_agent))
        return metaError(`data[${i}]: website events need event_source_url and client_user_agent`, 100);
      for (const f of META_HASHED) {
        const v = e.user_data && e.user_data[f];
        if (v !== undefined && ![].concat(v).every((h) => HEX64.test(h))) return metaError(`data[${i}].user_data.${f} must be SHA-256 hashed`, 100);
      }
    }
    return null;
  }

  function route(req, url, body, now) {
    const path = url.pathname;
    if (/^\/v[0-9.]+\/[^/]+\/events$/.test(path) && !path.startsWith('/v1/events')) {
      if (!body.access_token || !tokenOk('meta', body.access_token)) return ['meta', metaError('Invalid OAuth access token.', 190)];
      return ['meta', checkMetaEvents(body.data, now), body.data];
    }
    if (path === '/v1/events' && body && body.pixel_id !== undefined) {
      if (!body.access_token || !tokenOk('capi', body.access_token)) return ['capi', metaError('Invalid OAuth access token.', 190)];
      return ['capi', checkMetaEvents(body.data, now), body.data];
    }
    if (path === '/v1/events') return ['openai', checkOpenAI(url, req.headers, body, now), body.events];
    if (path.startsWith('/hook')) {
      if (!Array.isArray(body.events)) return ['webhook', [400, { error: 'events is required' }]];
      return ['webhook', null, body.events];
    }
    return [null, [404, { error: { message: `no API at ${path}` } }]];
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://mock');
      const reply = (status, obj) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      reply.raw = (status) => { res.writeHead(status); res.end(); };
      if (url.pathname.startsWith('/__mock/')) return control(url, req, Buffer.concat(chunks), reply);
      if (req.method === 'POST' && url.pathname === '/alerts/slack') {
        // Stands in for a Slack incoming webhook: takes {"text": …} and answers "ok", or 503 while alerts_down.
        if (state.faults.alerts_down) { res.writeHead(503); return res.end('down'); }
        let body;
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = null; }
        if (!body || typeof body.text !== 'string' || !body.text) { res.writeHead(400); return res.end('invalid_payload'); }
        state.alerts.push(body);
        log('alert:', body.text);
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('ok');
      }
      if (req.method === 'POST' && url.pathname === '/v1/pixel') {
        state.beacons.push({ body: Buffer.concat(chunks).toString('utf8'), contentType: req.headers['content-type'], cookie: req.headers.cookie });
        return reply(202, { ok: true });
      }
      if (req.method === 'POST' && url.pathname === '/g/collect') {
        // Stands in for Google's collection endpoint: what a ga4 destination passed on, answered as Google does.
        const query = url.searchParams;
        const forward = { query: url.search.slice(1), body: Buffer.concat(chunks).toString('utf8'),
          userAgent: req.headers['user-agent'], contentType: req.headers['content-type'], uip: query.get('_uip') };
        if (!query.get('tid') || query.get('v') !== '2') {
          state.refused.push({ layout: 'ga4', status: 400, body: forward });
          res.writeHead(400);
          return res.end();
        }
        state.ga4.push(forward);
        log(`ga4 received ${forward.body ? forward.body.split('\n').length + ' events' : query.get('en')} tid=${query.get('tid')}`);
        res.writeHead(204, { 'cache-control': 'no-cache, no-store, must-revalidate' });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/token') {
        // Google's OAuth token endpoint: a refresh-token grant for the google-ads kind.
        const [status, answer] = googleAds.token(Buffer.concat(chunks).toString('utf8'), platformCtx);
        if (status !== 200) state.refused.push({ layout: 'google-oauth', status, body: answer });
        return reply(status, answer);
      }
      if (req.method === 'GET' && url.pathname === '/sdk/oaiq.min.js') {
        // Stands in for OpenAI's browser pixel script: records what the page gives it.
        state.scriptFetches++;
        res.writeHead(200, { 'content-type': 'application/javascript' });
        return res.end("window.oaiq=window.oaiq||function(){(window.oaiq.calls=window.oaiq.calls||[]).push([].slice.call(arguments))};window.oaiq.stub='capi-edge mock';");
      }
      state.requests++;
      const f = state.faults;
      if (f.timeout_rate && random() < f.timeout_rate) {
        // Lost on the way: hold the connection past the worker's timeout, then drop it unprocessed.
        state.injected.timeout++;
        setTimeout(() => res.destroy(), f.timeout_ms || 3000);
        return;
      }
      if (f.fail_rate && random() < f.fail_rate) {
        const status = random() < 0.5 ? 500 : 429;
        state.injected[status]++;
        return status === 500
          ? reply(500, { error: { message: 'Internal error (injected)', type: 'server_error', code: null } })
          : reply(429, { error: { message: 'Too many requests (injected)', type: 'rate_limit', code: 'rate_limited' } });
      }
      if (f.delay_ms) return setTimeout(() => handle(req, res, url, chunks, reply), f.delay_ms);
      handle(req, res, url, chunks, reply);
    });
  });

  function handle(req, res, url, chunks, reply) {
      const f = state.faults;
      let body;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return reply(400, { error: { message: 'body is not JSON', code: 'invalid_json' } }); }
      const now = Date.now();
      const platform = platforms.find((p) => p.matches(url));
      if (platform) return handlePlatform(platform, req, url, body, now, reply);
      const [layout, error, events] = route(req, url, body, now);
      if (!error && f.reject_event_id) {
        const i = (events || []).findIndex((e) => (e.id || e.event_id) === f.reject_event_id);
        if (i >= 0) {
          const err = layout === 'openai'
            ? openaiError(400, `Invalid event at events[${i}]. See errors for details.`, 'invalid_event', `events[${i}]`)
            : metaError(`data[${i}]: Invalid parameter (injected)`, 100);
          state.refused.push({ layout, event_id: f.reject_event_id, status: err[0] });
          return reply(...err);
        }
      }
      if (error) {
        state.refused.push({ layout, status: error[0], body: error[1] });
        log(`refused ${layout || 'request'} ${req.method} ${url.pathname}: ${error[0]} ${JSON.stringify(error[1])}`);
        return reply(...error);
      }
      for (const e of events) {
        const rec = { layout, event_id: e.id || e.event_id, event_name: e.type || e.event_name, event: e, at: now,
          test: layout === 'openai' ? body.validate_only === true : body.test_event_code !== undefined };
        state.accepted.push(rec);
        const user = e.user || e.user_data || {};
        const em = [].concat(user.emails_sha256 || user.em || user.em_sha256 || [])[0];
        const amount = e.data && e.data.amount !== undefined ? `${e.data.amount} ${e.data.currency}` : (e.custom_data ? `${e.custom_data.value} ${e.custom_data.currency}` : '');
        log(`${layout} accepted ${rec.event_name} id=${rec.event_id}${em ? ` em=${em.slice(0, 12)}…` : ''} ${amount}`.trim());
      }
      if (layout === 'openai') return reply(200, { accepted_events: events.length });
      return reply(200, { events_received: events.length, messages: [], fbtrace_id: 'AmockTrace' });
  }

  function handlePlatform(p, req, url, body, now, reply) {
    const f = state.faults;
    const result = p.check({ url, headers: req.headers, body, now, faults: f, ctx: platformCtx });
    const send = ([status, answer]) => (answer === null ? (reply.raw(status)) : reply(status, answer));
    if (result.error) {
      state.refused.push({ layout: p.layout, status: result.error[0], body: result.error[1] });
      log(`refused ${p.layout} ${req.method} ${url.pathname}: ${result.error[0]} ${JSON.stringify(result.error[1])}`);
      return send(result.error);
    }
    const events = result.events;
    if (f.reject_event_id && p.reject) {
      const i = events.findIndex((e) => p.eventId(e) === f.reject_event_id);
      if (i >= 0) {
        const err = p.reject(i);
        state.refused.push({ layout: p.layout, event_id: f.reject_event_id, status: err[0] });
        return send(err);
      }
    }
    for (const e of result.refusedEvents || []) state.refused.push({ layout: p.layout, event_id: p.eventId(e), status: result.reply[0] });
    for (const e of events) {
      state.accepted.push({ layout: p.layout, event_id: p.eventId(e), event_name: p.eventName(e), event: e, at: now, test: result.test });
      log(`${p.layout} accepted ${p.eventName(e)} id=${p.eventId(e)}${result.test ? ' (test)' : ''}`);
    }
    return send(result.reply);
  }

  function control(url, req, raw, reply) {
    if (url.pathname === '/__mock/events') return reply(200, state.accepted);
    if (url.pathname === '/__mock/alerts') return reply(200, state.alerts);
    if (url.pathname === '/__mock/stats') return reply(200, { requests: state.requests, accepted: state.accepted.length, refused: state.refused, injected: state.injected });
    if (url.pathname === '/__mock/reset') {
      state.accepted = []; state.ga4 = []; state.alerts = []; state.requests = 0; state.refused = []; state.faults = {}; state.rng = 1; state.injected = { 500: 0, 429: 0, timeout: 0 };
      return reply(200, { ok: true });
    }
    if (url.pathname === '/__mock/faults' && req.method === 'POST') {
      state.faults = JSON.parse(raw.toString('utf8') || '{}');
      state.rng = state.faults.seed || 1;
      return reply(200, { ok: true, faults: state.faults });
    }
    return reply(404, { error: 'unknown control path' });
  }

  return {
    server, state,
    listen: (port = 0, host = '127.0.0.1') => new Promise((resolve) => server.listen(port, host, () => resolve(server.address().port))),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
  const mock = createMock({ quiet: process.argv.includes('--quiet') });
  const port = await mock.listen(Number(arg('--port', process.env.MOCK_PORT || 9999)));
  console.log(`[mock-capi] listening on http://127.0.0.1:${port} (openai: /v1/events?pid=…, capi: /v1/events, meta: /<version>/<pixel>/events)`);
}
