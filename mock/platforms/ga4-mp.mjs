// GA4 Measurement Protocol (docs/destinations.md, "ga4-mp"): /mp/collect answers 204 to anything (the mock records
// what GA4 would drop as refused); /debug/mp/collect answers validationMessages.
import { HEX64 } from './rules.mjs';

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const RESERVED = new Set(['ad_click', 'ad_exposure', 'ad_query', 'app_exception', 'error', 'first_open', 'first_visit', 'session_start', 'user_engagement']);
const message = (fieldPath, description, validationCode) => ({ fieldPath, description, validationCode });

function validate(url, body, now, ctx) {
  if (!/^G-[A-Z0-9]+$/.test(url.searchParams.get('measurement_id') || '')) return message('measurement_id', 'measurement_id is required', 'VALUE_REQUIRED');
  const secret = url.searchParams.get('api_secret');
  if (!secret || (ctx.expectTokens?.['ga4-mp'] && ctx.expectTokens['ga4-mp'] !== secret)) return message('api_secret', 'api_secret is not this stream\'s', 'VALUE_INVALID');
  if (!/^\d+\.\d+$/.test(body.client_id || '')) return message('client_id', 'client_id must be two numbers joined by a period', 'VALUE_INVALID');
  if (!Array.isArray(body.events) || body.events.length < 1 || body.events.length > 25) return message('events', 'events must hold 1 to 25 events', 'EXCEEDED_MAX_ENTITIES');
  if (body.timestamp_micros !== undefined && (body.timestamp_micros / 1000 < now - 72 * 3600 * 1000 || body.timestamp_micros / 1000 > now + 600000)) return message('timestamp_micros', 'timestamp_micros is not within the last 72 hours', 'VALUE_OUT_OF_BOUNDS');
  for (const [i, e] of body.events.entries()) {
    if (!NAME.test(e.name || '') || RESERVED.has(e.name)) return message('events', `Event at index: [${i}] has invalid name [${e.name}].`, RESERVED.has(e.name) ? 'NAME_RESERVED' : 'NAME_INVALID');
    if (e.name === 'purchase' && !e.params?.transaction_id) return message(`events[${i}].params.transaction_id`, 'a purchase needs transaction_id', 'VALUE_REQUIRED');
  }
  for (const f of ['sha256_email_address', 'sha256_phone_number']) {
    const v = body.user_data?.[f];
    if (v !== undefined && ![].concat(v).every((h) => HEX64.test(h))) return message(`user_data.${f}`, `${f} must be SHA-256 hex`, 'VALUE_INVALID');
  }
  return null;
}

export default {
  layout: 'ga4-mp',
  matches: (url) => url.pathname === '/mp/collect' || url.pathname === '/debug/mp/collect',
  check({ url, body, now, ctx }) {
    const debug = url.pathname.startsWith('/debug');
    const problem = validate(url, body, now, ctx);
    if (problem) return debug ? { error: [200, { validationMessages: [problem] }] } : { error: [204, null], silent: true };
    const events = body.events.map((e) => ({ ...e, client_id: body.client_id }));
    return { events, test: debug, reply: debug ? [200, { validationMessages: [] }] : [204, null] };
  },
  eventId: (e) => e.params?.transaction_id || `${e.client_id}/${e.name}`,
  eventName: (e) => e.name,
};
