// The eight other platforms, end to end in workerd: TikTok, Pinterest, Snap, Reddit, LinkedIn, GA4's Measurement
// Protocol, Google Ads (with its OAuth token exchange) and X (with its OAuth 1.0a signature), each against the mock's
// module that enforces that platform's documented rules (mock/platforms/). With 30% of upstream requests failing,
// timeouts, one bad event and duplicates, every valid event reaches each platform exactly once; a bad token
// on each is a config error the stats API (the dashboard) shows in words, without a retry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserHeaders, purchase, start, until } from '../support/harness.mjs';

const KINDS = ['tiktok', 'pinterest', 'snap', 'reddit', 'linkedin', 'ga4-mp', 'google-ads', 'x'];
export const PLATFORMS_CONFIG = `
[site]
path_prefix = "/r"
allowed_origins = ["https://shop.example.com"]

[[destination]]
name = "tiktok"
kind = "tiktok"
pixel_code = "CMOCKPIXEL0000000001"
token_secret = "TIKTOK_ACCESS_TOKEN"

[[destination]]
name = "pinterest"
kind = "pinterest"
ad_account_id = "549755885175"
token_secret = "PINTEREST_TOKEN"

[[destination]]
name = "snap"
kind = "snap"
pixel_id = "8e2d4c7a-1b2c-4d5e-9f00-aa11bb22cc33"
token_secret = "SNAP_CAPI_TOKEN"

[[destination]]
name = "reddit"
kind = "reddit"
ad_account_id = "a2_mockpixel"
token_secret = "REDDIT_CONVERSION_TOKEN"

[[destination]]
name = "linkedin"
kind = "linkedin"
token_secret = "LINKEDIN_TOKEN"
conversion_rule = "12345678"

[[destination]]
name = "ga4-mp"
kind = "ga4-mp"
measurement_id = "G-MOCK123"
api_secret_secret = "GA4_API_SECRET"

[[destination]]
name = "google-ads"
kind = "google-ads"
customer_id = "123-456-7890"
conversion_action = "987654321"
oauth_secrets = { client_id = "GOOGLE_ADS_CLIENT_ID", client_secret = "GOOGLE_ADS_CLIENT_SECRET", refresh_token = "GOOGLE_ADS_REFRESH_TOKEN" }

[[destination]]
name = "x"
kind = "x"
pixel_id = "o8z6j"
event_id = "tw-o8z6j-o87ne"
oauth_secrets = { consumer_key = "X_CONSUMER_KEY", consumer_secret = "X_CONSUMER_SECRET", token = "X_ACCESS_TOKEN", token_secret = "X_ACCESS_TOKEN_SECRET" }

[[tag]]
name = "purchase"
destinations = ${JSON.stringify(KINDS)}
event = "Purchase"
`;

const send = (w, ids) => w.fetch('/r/e', { method: 'POST', headers: browserHeaders, body: JSON.stringify(ids.map((id) => purchase(id))) });

async function drained(w, expected, ms = 180000) {
  return until('every row final', async () => {
    const rows = (await w.db.prepare('SELECT status, COUNT(*) AS n FROM ledger GROUP BY status').all()).results;
    const total = rows.reduce((a, r) => a + r.n, 0);
    const open = rows.filter((r) => !['sent', 'failed', 'dead_letter'].includes(r.status)).reduce((a, r) => a + r.n, 0);
    return total === expected && open === 0 ? rows : null;
  }, ms);
}

describe('eight platforms through faults', () => {
  let w;
  before(async () => { w = await start({ config: PLATFORMS_CONFIG, maxRetries: 20 }); }, { timeout: 60000 });
  after(async () => { await w?.stop(); });

  test('every valid event arrives once per platform; the bad one fails alone with the platform\'s words', { timeout: 240000 }, async () => {
    const EVENTS = 120;
    const BAD = 'ord-bad-7';
    w.mock.state.faults = { fail_rate: 0.3, timeout_rate: 0.03, timeout_ms: 3000, reject_event_id: BAD };
    w.mock.state.rng = 11;
    const ids = Array.from({ length: EVENTS }, (_, i) => (i === 7 ? BAD : `ord-${i}`));
    for (let i = 0; i < EVENTS; i += 40) assert.equal((await send(w, ids.slice(i, i + 40))).status, 204);
    assert.equal((await send(w, ids.slice(0, 10))).status, 204, 'the browser fires again');
    await drained(w, KINDS.length * EVENTS);

    const seen = new Map();
    for (const a of w.mock.state.accepted) seen.set(`${a.layout}/${a.event_id}`, (seen.get(`${a.layout}/${a.event_id}`) || 0) + 1);
    assert.deepEqual([...seen].filter(([, n]) => n > 1), [], 'no event reached a platform twice');
    // GA4's /mp/collect refuses nothing (it answers 204 to anything): the "bad" event is taken there.
    const refusing = KINDS.filter((k) => k !== 'ga4-mp');
    for (const kind of KINDS) {
      const missing = ids.filter((id) => id !== BAD && !seen.has(`${kind}/${id}`));
      assert.deepEqual(missing, [], `every valid event reached ${kind}`);
      assert.equal(seen.has(`${kind}/${BAD}`), !refusing.includes(kind), `${kind} and the bad event`);
    }
    const bad = await w.ledger(`event_id = '${BAD}'`);
    assert.deepEqual(bad.map((r) => [r.destination, r.status]), KINDS.slice().sort().map((k) => [k, refusing.includes(k) ? 'failed' : 'sent']));
    const why = Object.fromEntries(bad.map((r) => [r.destination, r.response]));
    assert.match(why.tiktok, /TikTok code 40002: data\.\d+\.properties: Invalid parameter \(injected\)/);
    assert.match(why.pinterest, /Pinterest: Invalid parameter \(injected\)/);
    assert.match(why['google-ads'], /Google Ads INVALID_USER_IDENTIFIER: Invalid parameter \(injected\)/);
    assert.match(why.reddit, /HTTP 400: .*None were processed.*\(Invalid parameter \(injected\)\)/);
    assert.match(why.x, /HTTP 400 INVALID_PARAMETER: Invalid parameter \(injected\)/);
    const sent = (await w.db.prepare("SELECT destination, SUM(status = 'sent') AS sent, SUM(duplicates) AS duplicates FROM ledger GROUP BY destination").all()).results;
    for (const row of sent) {
      assert.equal(row.sent, w.mock.state.accepted.filter((a) => a.layout === row.destination).length, `ledger and mock agree for ${row.destination}`);
      assert.equal(row.duplicates, 10, `${row.destination}: the duplicates were counted, not sent`);
    }
    const inj = w.mock.state.injected;
    assert.ok(inj[500] > 0 && inj[429] > 0, 'faults happened');
    const exchanges = w.mock.state.refused.filter((r) => r.layout === 'google-oauth').length;
    assert.equal(exchanges, 0, 'the OAuth refresh was never refused');
    console.log(`platforms: ${EVENTS} events × ${KINDS.length} platforms through ${w.mock.state.requests} upstream requests (injected ${inj[500]} × 500, ${inj[429]} × 429, ${inj.timeout} timeouts)`);
  });
});

describe('a bad token on each platform', () => {
  let w;
  // What each platform takes: not what the worker's secrets hold, until the test "fixes" them.
  const expectTokens = { tiktok: 'another', pinterest: 'another', snap: 'another', reddit: 'another', linkedin: 'another' };
  const googleCredentials = { client_id: 'test-google-client-id', client_secret: 'test-google-client-secret', refresh_token: 'a-newer-one' };
  const xCredentials = { consumer_key: 'test-x-consumer-key', consumer_secret: 'rotated', token: 'test-x-token', token_secret: 'test-x-token-secret' };
  before(async () => {
    w = await start({ config: PLATFORMS_CONFIG, maxRetries: 3, expectTokens, googleCredentials, xCredentials });
  }, { timeout: 60000 });
  after(async () => { await w?.stop(); });

  test('is a config error at once, in words, and the dashboard shows it', { timeout: 60000 }, async () => {
    assert.equal((await send(w, ['ord-token'])).status, 204);
    const rows = await until('every platform failed', async () => {
      const r = await w.ledger("event_id = 'ord-token' AND status = 'failed'");
      return r.length === KINDS.length - 1 ? r : null; // GA4's /mp/collect takes anything (204): it cannot tell
    }, 30000);
    for (const r of rows) assert.equal(r.attempts, 1, `${r.destination}: not retried, no retry can fix a token`);
    const why = Object.fromEntries(rows.map((r) => [r.destination, r.response]));
    assert.match(why.tiktok, /TikTok refused the access token .*TIKTOK_ACCESS_TOKEN/);
    assert.match(why.pinterest, /Pinterest refused the access token .*PINTEREST_TOKEN/);
    assert.match(why.snap, /Snap refused the token or pixel .*SNAP_CAPI_TOKEN/);
    assert.match(why.reddit, /Reddit refused the access token .*REDDIT_CONVERSION_TOKEN/);
    assert.match(why.linkedin, /LinkedIn refused the access token .*60 days/);
    assert.match(why['google-ads'], /Google refused the OAuth refresh \(HTTP 400: invalid_grant/);
    assert.match(why.x, /X refused the request's signature/);
    const stats = await (await w.fetch('/r/api/stats?days=1', { headers: { authorization: 'Bearer test-debug-token' } })).json();
    assert.match(JSON.stringify(stats), /TikTok refused the access token/, 'the stats API behind the dashboard shows the reason');
    assert.doesNotMatch(JSON.stringify(stats), /test-tiktok-token|test-x-consumer-secret|test-google-client-secret/, 'no secret in what the dashboard shows');

    // The platforms take the worker's secrets again (a rotated token put back): a replay sends each once.
    for (const k of Object.keys(expectTokens)) delete expectTokens[k];
    googleCredentials.refresh_token = 'test-google-refresh-token';
    xCredentials.consumer_secret = 'test-x-consumer-secret';
    const res = await w.fetch('/r/api/replay', { method: 'POST', headers: { authorization: 'Bearer test-debug-token' }, body: JSON.stringify({ status: 'failed' }) });
    const done = await res.json();
    assert.equal(done.sent, KINDS.length - 1, JSON.stringify(done));
    const arrived = w.mock.state.accepted.filter((a) => a.event_id === 'ord-token').map((a) => a.layout).sort();
    assert.deepEqual(arrived, KINDS.slice().sort(), 'each platform has it once (GA4 had it from the first send)');
    for (const r of await w.ledger("event_id = 'ord-token'")) assert.equal(r.status, 'sent', r.destination);
  });
});
