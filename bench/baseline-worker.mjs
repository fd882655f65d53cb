// The competitor: the hand-written "direct API integration" of the setup article, done fairly in a plain JS
// worker. It parses the hit, checks the purchase trigger, normalizes and hashes email and phone with
// crypto.subtle, builds the OpenAI and the Meta-style payloads, and enqueues both, answering 204.
const encoder = new TextEncoder();

async function sha256(text) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

function normalizeEmail(email) {
  const e = String(email || '').trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) ? e : null;
}

function normalizePhone(phone) {
  const digits = String(phone || '').replace(/\D/g, '').replace(/^0+/, '');
  return digits.length >= 7 && digits.length <= 15 ? digits : null;
}

export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return Response.json({ error: 'method_not_allowed' }, { status: 405 });
    let hit;
    try {
      hit = await request.json();
    } catch {
      return Response.json({ error: 'invalid_json' }, { status: 400 });
    }
    if (!hit || typeof hit.event !== 'string') return Response.json({ error: 'invalid_hit' }, { status: 400 });
    const url = hit.page && hit.page.url ? hit.page.url : request.headers.get('referer');
    if (hit.event !== 'Purchase' || !url || !new URL(url).pathname.startsWith('/thank-you')) return new Response(null, { status: 204 });

    const user = hit.user || {};
    const email = normalizeEmail(user.email);
    const phone = normalizePhone(user.phone);
    const [em, ph] = await Promise.all([email ? sha256(email) : null, phone ? sha256(phone) : null]);
    const ip = request.headers.get('cf-connecting-ip');
    const ua = request.headers.get('user-agent');
    const id = hit.event_id || crypto.randomUUID();
    const timeMs = hit.time ? Math.round(hit.time * 1000) : Date.now();
    const data = hit.data || {};
    const value = Number(data.value);
    const currency = String(data.currency || 'USD').toUpperCase();

    const openai = {
      id, type: 'order_created', timestamp_ms: timeMs, action_source: 'web', source_url: url,
      user: { ...(em && { emails_sha256: [em] }), ...(ph && { phone_numbers_sha256: [ph] }), ip_address: ip, user_agent: ua },
      data: { type: 'contents', amount: Math.round(value * 100), currency },
    };
    const capi = {
      event_name: 'Purchase', event_time: Math.floor(timeMs / 1000), event_id: id, action_source: 'website', event_source_url: url,
      user_data: { ...(em && { em: [em] }), ...(ph && { ph: [ph] }), client_ip_address: ip, client_user_agent: ua },
      custom_data: { value, currency },
    };
    await env.DELIVERIES.sendBatch([
      { body: { destination: 'openai', payload: JSON.stringify(openai) } },
      { body: { destination: 'capi', payload: JSON.stringify(capi) } },
    ]);
    return new Response(null, { status: 204 });
  },
};
