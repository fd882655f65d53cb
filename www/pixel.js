/*! capi-edge first-party pixel. Served by your own domain; sends hits to the capi-edge worker.
 *  capi('track', 'Purchase', {value: 149, currency: 'USD'}, {event_id: 'ord-1001', user: {email: 'a@b.co'}})
 *  returns the event_id, so the platform's own browser pixel can be given the same one (dedup).
 *  capi('consent', {ad_storage: 'denied'}) applies to every later hit.
 *  data-bridge="datalayer fbq oaiq" on this script tag (or capi('bridge', …)) also sends what the page already
 *  tells GA4's dataLayer, Meta's fbq and OpenAI's oaiq, with the same event ids (www/bridge.js). */
(function (w, d) {
  'use strict';
  var ENDPOINT = '__CAPI_ENDPOINT__';
  var consent = {};
  var me = d.currentScript;
  // A preview link (#capi-preview=<token>, from the config page): this tab's hits run the draft; p.js shows them.
  var PK = 'capi-preview', preview = null, ss;
  try {
    ss = w.sessionStorage;
    var m = /capi-preview=([\w.]+)/.exec(location.hash);
    if (m) { ss.setItem(PK, m[1]); history.replaceState(null, '', location.href.split('#')[0]); }
    preview = ss.getItem(PK);
  } catch (e) { /* no storage, no preview */ }

  function newId() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = '';
    for (i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1);
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function send(hit) {
    var body = JSON.stringify(hit);
    if (preview && w.fetch) {
      var shown = w.fetch(ENDPOINT, { method: 'POST', body: body, credentials: 'include',
        headers: { 'content-type': 'text/plain', 'x-capi-preview': preview } }).then(function (r) { return r.json(); });
      capi.previewing.push(shown);
      if (capi.preview) capi.preview(shown);
      return 'preview';
    }
    // sendBeacon survives page unloads; it sends a string as text/plain, which needs no CORS preflight.
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(ENDPOINT, body)) return 'beacon';
    } catch (e) { /* fall through */ }
    if (w.fetch) {
      w.fetch(ENDPOINT, { method: 'POST', body: body, keepalive: true, credentials: 'include',
        headers: { 'content-type': 'text/plain' } })['catch'](function () {});
      return 'fetch';
    }
    var q = 'n=' + encodeURIComponent(hit.event) + '&i=' + encodeURIComponent(hit.event_id) +
      '&u=' + encodeURIComponent(hit.page.url);
    for (var k in hit.data) if (typeof hit.data[k] !== 'object') q += '&d.' + encodeURIComponent(k) + '=' + encodeURIComponent(hit.data[k]);
    new Image().src = ENDPOINT + '?' + q;
    return 'image';
  }

  function load(file) { // the bridge or the preview panel, only when asked for
    var s = d.createElement('script');
    s.src = ENDPOINT.replace(/e$/, file);
    return (d.head || d.documentElement).appendChild(s);
  }

  function track(event, data, options) {
    options = options || {};
    var id = options.event_id || newId();
    var hit = {
      event: String(event),
      event_id: String(id),
      time: Math.floor(Date.now() / 1000),
      page: { url: location.href, referrer: d.referrer || undefined, title: d.title || undefined },
      user: options.user || {},
      data: data || {},
      context: { consent: consent }
    };
    capi.lastTransport = send(hit);
    capi.sent.push([hit.event, hit.data, hit.event_id, Date.now()]);
    return id;
  }

  function capi(command) {
    var a = arguments;
    if (command === 'track') return track(a[1], a[2], a[3]);
    if (command === 'consent') { for (var k in a[1]) consent[k] = a[1][k]; return; }
    if (command === 'page') return track('PageView', a[1], a[2]);
    // The bridge (dataLayer, fbq, oaiq) is a separate script, loaded only by the pages that ask for it.
    if (command === 'bridge') {
      capi.bridges += ' ' + a[1];
      if (w.capi.bridge) return w.capi.bridge(a[1]);
      if (!capi.loading) capi.loading = load('b.js');
    }
  }
  capi.newId = newId;
  capi.previewing = [];
  capi.endPreview = function () { preview = null; try { ss.removeItem(PK); } catch (e) { /* none kept */ } };
  capi.sent = [];
  capi.bridges = '';

  if (preview) load('p.js');

  var queued = (w.capi && w.capi.q) || [];
  w.capi = capi;
  for (var i = 0; i < queued.length; i++) capi.apply(null, queued[i]);
  if (me && me.getAttribute('data-bridge')) capi('bridge', me.getAttribute('data-bridge'));
})(window, document);
