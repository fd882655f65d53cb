// Reddit Conversions API v3 (docs/destinations.md, "reddit"): all or nothing, the bad events named in fields[].
import { bearer, inWindow, isHash, tokenOk } from './rules.mjs';

const TYPES = new Set(['PURCHASE', 'ADD_TO_CART', 'ADD_TO_WISHLIST', 'VIEW_CONTENT', 'LEAD', 'SIGN_UP', 'SEARCH', 'PAGE_VISIT', 'CUSTOM']);
const refused = (message, fields) => [400, { error: { code: 400, message, ...(fields ? { fields } : {}) } }];

export default {
  layout: 'reddit',
  matches: (url) => /^\/api\/v3\/pixels\/[^/]+\/conversion_events$/.test(url.pathname),
  check({ url, headers, body, now, faults, ctx }) {
    if (!tokenOk(ctx, 'reddit', bearer(headers))) return { error: [401, { error: { code: 401, message: 'UNAUTHORIZED' } }] };
    const pixel = url.pathname.split('/')[4];
    if ((faults.unknown_pids || []).includes(pixel)) return { error: [403, { error: { code: 403, message: `You're not authorized to post conversions to Pixel ID ${pixel}.` } }] };
    if (!headers['user-agent'] || /^(node|undici|curl|python)/i.test(headers['user-agent'])) return { error: [429, { error: { code: 429, message: 'Your user agent was automatically ratelimited.' } }] };
    const events = body.data?.events;
    if (!Array.isArray(events) || events.length < 1 || events.length > 1000) return { error: refused('Bad Request') };
    const fields = [];
    for (const [i, e] of events.entries()) {
      const at = `$.data.events[${i}]`;
      const t = e.type || {};
      if (!Number.isInteger(e.event_at) || !inWindow(e.event_at, now)) fields.push({ field: `${at}.event_at`, message: 'event_at must be unix ms within the last 7 days' });
      else if (!['WEBSITE', 'APP', 'PHYSICAL_STORE', 'OTHER'].includes(e.action_source)) fields.push({ field: `${at}.action_source`, message: `invalid action_source: ${e.action_source}` });
      else if (!TYPES.has(t.tracking_type) || (t.tracking_type === 'CUSTOM' && !t.custom_event_name)) fields.push({ field: `${at}.type`, message: 'invalid tracking_type' });
      else if (e.metadata?.value !== undefined && typeof e.metadata.value !== 'number') fields.push({ field: `${at}.metadata.value`, message: 'value must be a number' });
      else if (['email', 'phone_number'].some((f) => e.user?.[f] !== undefined && !isHash(e.user[f]))) fields.push({ field: `${at}.user`, message: 'match keys must be SHA-256 hashed' });
    }
    if (fields.length) return { error: refused(`There were ${fields.length} invalid conversion events. None were processed.`, fields) };
    return { events, test: body.data.test_id !== undefined, reply: [200, { data: { message: `Successfully processed ${events.length} conversion events.` } }] };
  },
  eventId: (e) => e.metadata?.conversion_id,
  eventName: (e) => e.type?.tracking_type,
  reject: (i) => refused('There were 1 invalid conversion events. None were processed.', [{ field: `$.data.events[${i}].metadata`, message: 'Invalid parameter (injected)' }]),
};
