// Google Ads click conversions (docs/destinations.md, "google-ads"): an OAuth token from POST /token, then
// uploadClickConversions with per-conversion failures in partialFailureError, and orderId dedup per action.
import { isHash } from './rules.mjs';

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/;
const ACTION = /^customers\/\d{10}\/conversionActions\/\d+$/;
export const MOCK_CREDENTIALS = { client_id: 'test-google-client-id', client_secret: 'test-google-client-secret', refresh_token: 'test-google-refresh-token' };
const failure = (index, code, message) => ({ errorCode: { conversionUploadError: code }, message, location: { fieldPathElements: [{ fieldName: 'conversions', index }] } });

export function createGoogleAds() {
  const issued = new Set();
  const orders = new Set();
  let exchanges = 0;
  return {
    layout: 'google-ads',
    get exchanges() { return exchanges; },
    /** The OAuth token endpoint: a refresh-token grant with the mock's credentials gets a token for an hour. */
    token(form, ctx) {
      const p = new URLSearchParams(form);
      const expected = ctx.googleCredentials || MOCK_CREDENTIALS;
      if (p.get('grant_type') !== 'refresh_token') return [400, { error: 'unsupported_grant_type' }];
      if (p.get('client_id') !== expected.client_id || p.get('client_secret') !== expected.client_secret) return [401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' }];
      if (p.get('refresh_token') !== expected.refresh_token) return [400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }];
      exchanges++;
      const token = `ya29.mock-${exchanges}`;
      issued.add(token);
      return [200, { access_token: token, expires_in: 3599, scope: 'https://www.googleapis.com/auth/adwords', token_type: 'Bearer' }];
    },
    matches: (url) => /^\/v\d+\/customers\/\d{10}:uploadClickConversions$/.test(url.pathname),
    check({ headers, body, faults }) {
      const token = (headers.authorization || '').replace(/^Bearer /, '');
      if (!issued.has(token)) return { error: [401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED', details: [{ errors: [{ errorCode: { authenticationError: 'OAUTH_TOKEN_INVALID' }, message: 'Oauth token is invalid.' }] }] } }] };
      if (body.partialFailure !== true) return { error: [400, { error: { code: 400, message: 'partial_failure must be true', status: 'INVALID_ARGUMENT', details: [{ errors: [{ errorCode: { partialFailureError: 'PARTIAL_FAILURE_MODE_REQUIRED' }, message: 'partial_failure must be true' }] }] } }] };
      const conversions = body.conversions;
      if (!Array.isArray(conversions) || conversions.length < 1 || conversions.length > 2000) return { error: [400, { error: { code: 400, message: 'Upload fewer than 2001 events in a single request', status: 'INVALID_ARGUMENT' } }] };
      const errors = [];
      const taken = [];
      for (const [i, c] of conversions.entries()) {
        const clicks = ['gclid', 'gbraid', 'wbraid'].filter((k) => c[k]);
        const ids = c.userIdentifiers || [];
        if (!ACTION.test(c.conversionAction || '')) errors.push(failure(i, 'INVALID_CONVERSION_ACTION', 'The conversion action is not a resource name.'));
        else if (!TIME.test(c.conversionDateTime || '')) errors.push(failure(i, 'INVALID_CONVERSION_DATE_TIME', 'conversionDateTime must be yyyy-mm-dd hh:mm:ss+hh:mm.'));
        else if (clicks.length > 1) errors.push(failure(i, clicks.includes('gclid') ? 'VALUE_MUST_BE_UNSET' : 'GBRAID_WBRAID_BOTH_SET', 'Only one click id may be set.'));
        else if (clicks.length === 1 && clicks[0] !== 'gclid' && ids.length) errors.push(failure(i, 'VALUE_MUST_BE_UNSET', 'A braid goes without user identifiers.'));
        else if (!clicks.length && !ids.length) errors.push(failure(i, 'EVENT_NOT_FOUND', 'No click id and no user identifier.'));
        else if (ids.some((u) => (u.hashedEmail !== undefined && !isHash(u.hashedEmail)) || (u.hashedPhoneNumber !== undefined && !isHash(u.hashedPhoneNumber)))) errors.push(failure(i, 'INVALID_USER_IDENTIFIER', 'User identifiers must be SHA-256 hashed.'));
        else if (faults.reject_event_id && c.orderId === faults.reject_event_id) errors.push(failure(i, 'INVALID_USER_IDENTIFIER', 'Invalid parameter (injected)'));
        else if (c.orderId && orders.has(`${c.conversionAction}/${c.orderId}`)) errors.push(failure(i, 'ORDER_ID_ALREADY_IN_USE', 'The order id was already used for this conversion action.'));
        else taken.push(c);
      }
      if (!body.validateOnly) for (const c of taken) if (c.orderId) orders.add(`${c.conversionAction}/${c.orderId}`);
      const reply = { results: conversions.map((c) => (taken.includes(c) ? { gclid: c.gclid, conversionAction: c.conversionAction, conversionDateTime: c.conversionDateTime } : {})), jobId: '1' };
      if (errors.length) reply.partialFailureError = { code: 3, message: 'Request contains an invalid argument.', details: [{ '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure', errors }] };
      return { events: taken, refusedEvents: conversions.filter((c) => !taken.includes(c)), test: body.validateOnly === true, reply: [200, reply] };
    },
    eventId: (e) => e.orderId,
    eventName: (e) => e.conversionAction,
    partialReject: true,
  };
}
