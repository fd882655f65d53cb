// LinkedIn Conversions API (docs/destinations.md, "linkedin"): versioned headers, all or nothing, "Index: n" errors.
import { bearer, DAY_MS, inWindow, isHash, tokenOk } from './rules.mjs';

const refused = (status, message) => [status, { message, status }];

export default {
  layout: 'linkedin',
  matches: (url) => url.pathname === '/rest/conversionEvents',
  check({ headers, body, now, ctx }) {
    if (!tokenOk(ctx, 'linkedin', bearer(headers))) return { error: [401, { status: 401, serviceErrorCode: 65600, code: 'INVALID_ACCESS_TOKEN', message: 'Invalid access token' }] };
    if (!/^\d{6}$/.test(headers['linkedin-version'] || '')) return { error: refused(400, 'LinkedIn-Version header is required (YYYYMM)') };
    if (headers['x-restli-protocol-version'] !== '2.0.0') return { error: refused(400, 'X-Restli-Protocol-Version 2.0.0 is required') };
    if (headers['x-restli-method'] !== 'BATCH_CREATE') return { error: refused(400, 'a batch needs X-RestLi-Method: BATCH_CREATE') };
    const elements = body.elements;
    if (!Array.isArray(elements) || elements.length < 1 || elements.length > 5000) return { error: refused(400, 'elements must hold 1 to 5000 events') };
    for (const [i, e] of elements.entries()) {
      const bad = (path, why) => ({ error: refused(422, `Index: ${i}, ERROR :: ${path} :: ${why}\n`) });
      if (!/^urn:lla:llaPartnerConversion:\d+$/.test(e.conversion || '')) return { error: refused(400, `Incorrect conversions information provided. Conversion's method should be CONVERSIONS_API, indices [${i}] (0-indexed)`) };
      if (!Number.isInteger(e.conversionHappenedAt) || !inWindow(e.conversionHappenedAt, now, 90 * DAY_MS)) return bad('/conversionHappenedAt', 'must be epoch ms within the last 90 days');
      if (!Array.isArray(e.user?.userIds)) return bad('/user/userIds', 'field is required but not found and has no default value');
      if (e.user.userIds.some((u) => u.idType === 'SHA256_EMAIL' && !isHash(u.idValue))) return bad('/user/userIds', 'SHA256_EMAIL must be a SHA-256 hash');
      if (e.conversionValue && (typeof e.conversionValue.amount !== 'string' || !e.conversionValue.currencyCode)) return bad('/conversionValue/amount', 'amount must be a decimal string with a currencyCode');
    }
    return { events: elements, test: false, reply: [200, { elements: elements.map(() => ({ status: 201 })) }] };
  },
  eventId: (e) => e.eventId,
  eventName: (e) => e.conversion,
  reject: (i) => refused(422, `Index: ${i}, ERROR :: /user :: Invalid parameter (injected)\n`),
};
