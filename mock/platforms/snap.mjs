// Snap Conversions API v3 (docs/destinations.md, "snap"): the token in the query, INVALID with the event's index.
import { hashList, inWindow, isHash, tokenOk } from './rules.mjs';

const NAMES = new Set(['PURCHASE', 'ADD_CART', 'START_CHECKOUT', 'VIEW_CONTENT', 'SIGN_UP', 'SEARCH', 'PAGE_VIEW', 'SUBSCRIBE', 'START_TRIAL', 'ADD_BILLING',
  'ADD_TO_WISHLIST', 'LIST_VIEW', 'LOGIN', 'SAVE', 'SHARE', 'APP_INSTALL', 'APP_OPEN', 'CUSTOM_EVENT_1', 'CUSTOM_EVENT_2', 'CUSTOM_EVENT_3', 'CUSTOM_EVENT_4', 'CUSTOM_EVENT_5']);
const invalid = (reason, event) => [400, { status: 'INVALID', reason, ...(event === undefined ? {} : { event }), errors: { codes: ['INVALID'], error_msgs: [reason] } }];

export default {
  layout: 'snap',
  matches: (url) => /^\/v3\/[^/]+\/events(\/validate)?$/.test(url.pathname),
  check({ url, body, now, faults, ctx }) {
    if (!tokenOk(ctx, 'snap', url.searchParams.get('access_token'))) return { error: [401, { status: 'INVALID', reason: 'Invalid access token' }] };
    const pixel = url.pathname.split('/')[2];
    if ((faults.unknown_pids || []).includes(pixel)) return { error: [403, { status: 'INVALID', reason: `Unauthorized for pixel ${pixel}` }] };
    const data = body.data;
    if (!Array.isArray(data) || data.length < 1 || data.length > 2000) return { error: invalid('data must hold 1 to 2000 events') };
    for (const [i, e] of data.entries()) {
      const u = e.user_data || {};
      const cd = e.custom_data || {};
      if (!NAMES.has(e.event_name)) return { error: invalid(`event_name ${e.event_name} is not supported`, i) };
      if (!Number.isInteger(e.event_time) || !inWindow(e.event_time * 1000, now, 37 * 24 * 3600 * 1000)) return { error: invalid('Timestamp invalid or out of range', i) };
      if (!['WEB', 'MOBILE_APP', 'OFFLINE'].includes(e.action_source)) return { error: invalid('action_source is required', i) };
      if (e.action_source === 'WEB' && !e.event_source_url) return { error: invalid('event_source_url is required for WEB events', i) };
      if (!u.em && !u.ph && !(u.client_ip_address && u.client_user_agent) && !u.madid) return { error: invalid('Insufficient PII', i) };
      for (const f of ['em', 'ph', 'fn', 'ln', 'ge', 'ct', 'st', 'zp', 'country', 'external_id']) {
        if (u[f] !== undefined && !(isHash(u[f]) || hashList(u[f]))) return { error: invalid('Unhashed PII', i) };
      }
      if (e.event_name === 'PURCHASE' && (cd.value === undefined || !cd.currency)) return { error: invalid('PURCHASE needs price and currency', i) };
    }
    const validate = url.pathname.endsWith('/validate');
    return { events: data, test: validate || body.test_event_code !== undefined, reply: [200, validate ? { status: 'VALID', test_event: true, reason: '', event_logs: [] } : { status: 'VALID', reason: '' }] };
  },
  eventId: (e) => e.event_id,
  eventName: (e) => e.event_name,
  reject: (i) => invalid('Invalid parameter (injected)', i),
};
