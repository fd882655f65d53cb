// Pinterest API for Conversions v5 (docs/destinations.md, "pinterest"): per-event statuses, unknown keys refused.
import { bearer, hashList, inWindow, tokenOk } from './rules.mjs';

const NAMES = ['add_payment_info', 'add_to_cart', 'add_to_wishlist', 'app_install', 'checkout', 'custom', 'initiate_checkout', 'lead',
  'page_visit', 'search', 'signup', 'subscribe', 'view_category', 'view_content', 'watch_video'];
const EVENT_KEYS = new Set(['event_name', 'action_source', 'event_time', 'event_id', 'event_source_url', 'opt_out', 'partner_name', 'user_data', 'custom_data', 'app_id', 'app_name', 'app_version', 'device_brand', 'device_carrier', 'device_model', 'device_type', 'os_version', 'wifi', 'language']);
const CUSTOM_KEYS = new Set(['currency', 'value', 'content_ids', 'content_name', 'content_category', 'content_brand', 'contents', 'num_items', 'order_id', 'search_string', 'opt_out_type', 'np']);
const HASHED = ['em', 'ph', 'fn', 'ln', 'ge', 'db', 'ct', 'st', 'zp', 'country', 'external_id', 'hashed_maids'];
const error = (status, code, message) => [status, { code, message }];

export default {
  layout: 'pinterest',
  matches: (url) => /^\/v5\/ad_accounts\/[^/]+\/events$/.test(url.pathname),
  check({ url, headers, body, now, faults, ctx }) {
    if (!tokenOk(ctx, 'pinterest', bearer(headers))) return { error: error(401, 2, 'Authentication failed.') };
    const account = url.pathname.split('/')[3];
    if (!/^\d{1,18}$/.test(account) || (faults.unknown_pids || []).includes(account)) return { error: error(403, 29, 'You are not permitted to access that resource.') };
    const data = body.data;
    if (!Array.isArray(data) || data.length < 1 || data.length > 1000) return { error: error(400, 1, 'Invalid request: data must hold 1 to 1000 events') };
    const statuses = [];
    for (const e of data) {
      const extra = Object.keys(e).find((k) => !EVENT_KEYS.has(k)) || Object.keys(e.custom_data || {}).find((k) => !CUSTOM_KEYS.has(k));
      if (extra) return { error: error(400, 1, `Invalid request: Additional properties are not allowed ('${extra}' was unexpected)`) };
      const fail = (m) => statuses.push({ status: 'failed', error_message: m, warning_message: null });
      const u = e.user_data || {};
      const cd = e.custom_data || {};
      if (!NAMES.includes(e.event_name)) fail(`event_name ${e.event_name} is not a Pinterest event`);
      else if (!Number.isInteger(e.event_time) || !inWindow(e.event_time * 1000, now)) fail('event_time must be unix seconds within the last 7 days');
      else if (typeof e.event_id !== 'string' || !e.event_id) fail('event_id is required');
      else if (!['web', 'app_android', 'app_ios', 'offline'].includes(e.action_source)) fail('action_source is required');
      else if (!u.em && !u.hashed_maids && !(u.client_ip_address && u.client_user_agent)) fail('user_data needs em, hashed_maids, or client_ip_address and client_user_agent');
      else if (HASHED.some((f) => u[f] !== undefined && !hashList(u[f]))) fail('user_data fields must be lists of SHA-256 hashes');
      else if (cd.value !== undefined && typeof cd.value !== 'string') fail('custom_data.value must be a string');
      else if ((cd.contents || []).some((c) => c.item_price !== undefined && typeof c.item_price !== 'string')) fail('contents.item_price must be a string');
      else if (faults.reject_event_id && e.event_id === faults.reject_event_id) fail('Invalid parameter (injected)');
      else statuses.push({ status: 'processed', error_message: null, warning_message: null });
    }
    const processed = statuses.filter((s) => s.status === 'processed').length;
    const answer = { num_events_received: data.length, num_events_processed: processed, events: statuses };
    return { events: data.filter((_, i) => statuses[i].status === 'processed'), refusedEvents: data.filter((_, i) => statuses[i].status === 'failed'), test: url.searchParams.get('test') === 'true', reply: [processed === data.length ? 200 : 422, answer] };
  },
  eventId: (e) => e.event_id,
  eventName: (e) => e.event_name,
  // One event refused, the rest taken: Pinterest's partial answer.
  partialReject: true,
};
