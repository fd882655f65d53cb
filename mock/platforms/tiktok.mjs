// TikTok Events API 2.0 (docs/destinations.md, "tiktok"): refusals come back with HTTP 200 and a non-zero code.
import { hashList, inWindow, isHash, tokenOk } from './rules.mjs';

const EVENTS = new Set(['Purchase', 'AddToCart', 'InitiateCheckout', 'ViewContent', 'Lead', 'CompleteRegistration', 'Search', 'Pageview',
  'Subscribe', 'StartTrial', 'Schedule', 'AddPaymentInfo', 'AddToWishlist', 'Contact', 'Download', 'SubmitApplication', 'CompletePayment']);
const answer = (code, message) => [200, { code, message, request_id: 'mock-request', data: {} }];

export default {
  layout: 'tiktok',
  matches: (url) => url.pathname === '/open_api/v1.3/event/track/',
  check({ headers, body, now, faults, ctx }) {
    if (!tokenOk(ctx, 'tiktok', headers['access-token'])) return { error: answer(40105, 'Access token is invalid or has expired.') };
    if (!['web', 'app', 'offline'].includes(body.event_source)) return { error: answer(40002, 'Invalid value for event_source: must be web, app or offline.') };
    if (typeof body.event_source_id !== 'string' || !body.event_source_id) return { error: answer(40002, 'event_source_id: Missing data for required field.') };
    if ((faults.unknown_pids || []).includes(body.event_source_id)) return { error: answer(40001, `No permission to operate pixel code: ${body.event_source_id}.`) };
    const data = body.data;
    if (!Array.isArray(data) || data.length < 1 || data.length > 1000) return { error: answer(40002, 'data: Length must be between 1 and 1000.') };
    for (const [i, e] of data.entries()) {
      const bad = (m) => ({ error: answer(40002, `data.${i}.${m}`) });
      if (typeof e.event !== 'string' || !e.event) return bad('event: Missing data for required field.');
      if (!Number.isInteger(e.event_time) || !inWindow(e.event_time * 1000, now)) return bad('event_time: must be unix seconds within the last 7 days.');
      if (typeof e.event_id !== 'string') return bad('event_id: Not a valid string.');
      for (const f of ['email', 'phone', 'external_id', 'first_name', 'last_name', 'zip_code']) {
        const v = e.user?.[f];
        if (v !== undefined && !(isHash(v) || hashList(v))) return bad(`user.${f}: must be SHA-256 hashed.`);
      }
      for (const [j, c] of (e.properties?.contents || []).entries()) {
        if (typeof c.content_id !== 'string') return bad(`properties.contents.${j}.content_id: Not a valid string`);
      }
    }
    return { events: data, test: body.test_event_code !== undefined, reply: answer(0, 'OK') };
  },
  eventId: (e) => e.event_id,
  eventName: (e) => e.event,
  reject: (i) => answer(40002, `data.${i}.properties: Invalid parameter (injected)`),
  names: EVENTS,
};
