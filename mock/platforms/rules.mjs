// Rules the platforms share, for the mock's platform modules (mock/platforms/*.mjs).
export const DAY_MS = 24 * 3600 * 1000;
export const HEX64 = /^[0-9a-f]{64}$/;
export const isHash = (v) => typeof v === 'string' && HEX64.test(v);
export const hashList = (v) => Array.isArray(v) && v.length > 0 && v.every(isHash);
export const bearer = (headers) => (headers.authorization || '').startsWith('Bearer ') ? headers.authorization.slice(7) : '';
/** A token the mock takes: the one the test expects for this layout, or any non-empty one. */
export const tokenOk = (ctx, layout, token) => Boolean(token) && (!ctx.expectTokens?.[layout] || ctx.expectTokens[layout] === token);
/** Within the last `maxAgeMs` and at most 10 minutes ahead. */
export const inWindow = (ms, now, maxAgeMs = 7 * DAY_MS) => Number.isFinite(ms) && ms >= now - maxAgeMs && ms <= now + 10 * 60 * 1000;
