// X Conversion API (docs/destinations.md, "x"): every request's OAuth 1.0a signature is checked against the
// mock's four credentials, as X checks it, for the URL the worker signed (X's own host and this path).
import crypto from 'node:crypto';
import { inWindow, isHash } from './rules.mjs';

export const MOCK_OAUTH = { consumer_key: 'test-x-consumer-key', consumer_secret: 'test-x-consumer-secret', token: 'test-x-token', token_secret: 'test-x-token-secret' };
const pe = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const errors = (status, code, message) => [status, { errors: [{ code, message, parameter: '' }], request: { params: {} } }];

/** Whether the Authorization header is a valid OAuth 1.0a HMAC-SHA1 signature of POST `url` with `creds`. */
export function signatureOk(header, url, creds, now) {
  if (!header?.startsWith('OAuth ')) return false;
  const params = Object.fromEntries([...header.slice(6).matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], decodeURIComponent(m[2])]));
  if (params.oauth_consumer_key !== creds.consumer_key || params.oauth_token !== creds.token) return false;
  if (params.oauth_signature_method !== 'HMAC-SHA1' || params.oauth_version !== '1.0' || !params.oauth_nonce) return false;
  if (Math.abs(Number(params.oauth_timestamp) * 1000 - now) > 5 * 60 * 1000) return false;
  const pairs = Object.entries(params).filter(([k]) => k !== 'oauth_signature').map(([k, v]) => [pe(k), pe(v)]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const base = `POST&${pe(url)}&${pe(pairs.map(([k, v]) => `${k}=${v}`).join('&'))}`;
  const expected = crypto.createHmac('sha1', `${pe(creds.consumer_secret)}&${pe(creds.token_secret)}`).update(base).digest('base64');
  return expected === params.oauth_signature;
}

export default {
  layout: 'x',
  matches: (url) => /^\/12\/measurement\/conversions\/[^/]+$/.test(url.pathname),
  check({ url, headers, body, now, faults, ctx }) {
    if (!signatureOk(headers.authorization, `https://ads-api.x.com${url.pathname}`, ctx.xCredentials || MOCK_OAUTH, now)) return { error: errors(401, 'UNAUTHORIZED_ACCESS', 'This request is not properly authenticated') };
    const pixel = url.pathname.split('/')[4];
    if ((faults.unknown_pids || []).includes(pixel)) return { error: errors(404, 'NOT_FOUND', `User does not have access to account ${pixel}`) };
    const conversions = body.conversions;
    if (!Array.isArray(conversions) || conversions.length < 1 || conversions.length > 500) return { error: errors(400, 'INVALID_PARAMETER', 'Conversion count limit is 500') };
    for (const c of conversions) {
      if (!TIME.test(c.conversion_time || '') || !inWindow(Date.parse(c.conversion_time), now)) return { error: errors(400, 'INVALID_PARAMETER', 'Expected Time in yyyy-MM-ddTHH:mm:ss.SSSZ') };
      if (!/^(tw-[a-z0-9]+-)?[a-z0-9]+$/.test(c.event_id || '')) return { error: errors(400, 'INVALID_PARAMETER', 'Event ID was not found') };
      const ids = c.identifiers || [];
      const strong = ids.some((i) => i.twclid || i.hashed_email || i.hashed_phone_number);
      if (!strong) return { error: errors(400, 'INVALID_PARAMETER', 'At least one user identifier must be provided') };
      const badHash = ids.find((i) => (i.hashed_email !== undefined && !isHash(i.hashed_email)) || (i.hashed_phone_number !== undefined && !isHash(i.hashed_phone_number)));
      if (badHash) return { error: errors(400, 'INVALID_PARAMETER', 'hashed_email is not a valid SHA-256 hash') };
    }
    return { events: conversions, test: false, reply: [200, { request: { params: { account_id: 'mock' } }, data: { conversions_processed: conversions.length, debug_id: 'mock-debug' } }] };
  },
  eventId: (e) => e.conversion_id,
  eventName: (e) => e.event_id,
  reject: () => errors(400, 'INVALID_PARAMETER', 'Invalid parameter (injected)'),
};
