/*! capi-edge bridge: the events a page already describes (GA4's dataLayer, Meta's fbq, OpenAI's oaiq) sent to
 *  capi-edge too, once each, with the SAME event id the platform's browser pixel gets, so the platform
 *  deduplicates its browser and server copies. Loaded by s.js when the page asks for it:
 *  <script src="/r/s.js" data-bridge="datalayer fbq oaiq"></script>, or capi('bridge', 'datalayer fbq oaiq'). */
(function (w) {
  'use strict';
  var base = w.capi;
  if (!base || base.bridged) return;
  var seen = {};
  // The standard name of a GA4 or OpenAI event, for telling duplicates apart only: the worker maps names itself.
  var SAME = { purchase: 'Purchase', order_created: 'Purchase', add_to_cart: 'AddToCart', items_added: 'AddToCart',
    begin_checkout: 'InitiateCheckout', checkout_started: 'InitiateCheckout', view_item: 'ViewContent',
    contents_viewed: 'ViewContent', generate_lead: 'Lead', lead_created: 'Lead', sign_up: 'CompleteRegistration',
    registration_completed: 'CompleteRegistration', page_view: 'PageView', page_viewed: 'PageView' };
  var OPENAI = { order_created: 'Purchase', items_added: 'AddToCart', checkout_started: 'InitiateCheckout',
    contents_viewed: 'ViewContent', lead_created: 'Lead', registration_completed: 'CompleteRegistration',
    page_viewed: 'PageView', appointment_scheduled: 'Schedule', subscription_created: 'Subscribe',
    trial_started: 'StartTrial' };
  var GA4 = 'purchase add_to_cart begin_checkout view_item generate_lead sign_up page_view view_item_list ' +
    'select_item remove_from_cart view_cart add_shipping_info add_payment_info refund add_to_wishlist login';
  var user = {};

  // One event from whichever source tells it first: the same name and order (or value) on the same page within
  // a few seconds is the same event. Returns [id, whether to send].
  // A purchase is told by its order id, else by its value on the same page within 30 s (a thank-you page has
  // one); any other event by its value and page within 3 s.
  function once(name, data, id, at) {
    var std = SAME[name] || name, order = data.order_id || data.transaction_id;
    var byOrder = order && std + '|#' + order, byValue = std + '|' + data.value + '|' + location.pathname;
    var now = at || Date.now(), s = byOrder && seen[byOrder];
    var v = seen[byValue];
    if (!s && v && now - v.at < (std === 'Purchase' ? 30000 : 3000) && !(order && v.order && v.order !== order)) s = v;
    if (s) return [s.id, false];
    var e = { id: String(id || base.newId()), at: now, order: order };
    if (byOrder) seen[byOrder] = e;
    seen[byValue] = e;
    return [e.id, true];
  }

  function send(name, data, id) {
    var r = once(name, data, id);
    if (r[1]) base('track', name, data, { event_id: r[0], user: user });
    return r[0];
  }

  // What the page sent before this script arrived counts too.
  (base.sent || []).forEach(function (e) { once(e[0], e[1] || {}, e[2], e[3]); });

  // capi('track', …) itself takes part, so a page that calls it and a platform's pixel counts once.
  w.capi = function (command, name, data, options) {
    if (command === 'track') {
      options = options || {};
      var r = once(String(name), data || {}, options.event_id);
      if (!r[1]) return r[0];
      options.event_id = r[0];
    }
    return base.apply(this, arguments);
  };
  for (var p in base) w.capi[p] = base[p];
  w.capi.bridged = true;

  // Wraps a platform's function (now, or whenever the page defines it) so each call is mirrored before it runs.
  // A Proxy keeps the platform's own object (its queue, callMethod, loaded flags) exactly as it was.
  function hook(name, mirror) {
    function wrap(f) {
      if (typeof f !== 'function' || f.capiBridged || !w.Proxy) return f;
      (f.queue || []).forEach(function (args) { try { mirror(args); } catch (e) { /* never break the page */ } });
      return new Proxy(f, {
        apply: function (target, self, args) {
          try { mirror(args); } catch (e) { /* the platform's call still runs */ }
          return Reflect.apply(target, self, args);
        },
        get: function (target, prop) { return prop === 'capiBridged' ? true : target[prop]; }
      });
    }
    var current = wrap(w[name]);
    try {
      Object.defineProperty(w, name, { configurable: true, enumerable: true,
        get: function () { return current; }, set: function (f) { current = wrap(f); } });
    } catch (e) { w[name] = current; }
  }

  var ZERO = ' BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF ';
  var THREE = ' BHD IQD JOD KWD LYD OMR TND ';
  function major(amount, currency) {
    var c = ' ' + String(currency || '').toUpperCase() + ' ';
    return amount / (ZERO.indexOf(c) >= 0 ? 1 : THREE.indexOf(c) >= 0 ? 1000 : 100);
  }

  var bridges = {
    // fbq('track', name, params, {eventID}); trackCustom; trackSingle(…pixelId…); init's advanced matching.
    fbq: function () {
      var KEYS = { em: 'email', ph: 'phone', fn: 'first_name', ln: 'last_name', ge: 'gender', db: 'date_of_birth',
        ct: 'city', st: 'state', zp: 'zip', country: 'country', external_id: 'external_id' };
      hook('fbq', function (a) {
        var c = a[0], i = /Single/.test(c) ? 2 : 1;
        if (c === 'init' && a[2]) { for (var k in KEYS) if (a[2][k]) user[KEYS[k]] = a[2][k]; return; }
        if (!/^track(Single)?(Custom)?$/.test(c) || !a[i]) return;
        var params = a[i + 1] || {}, data = { client: 'fbq' };
        for (k in params) data[k] = params[k];
        if (!data.contents && params.content_ids) data.contents = [].concat(params.content_ids).map(function (id) { return { id: id }; });
        var opts = a[i + 2] || {};
        var id = send(String(a[i]), data, opts.eventID);
        if (opts.eventID !== id) { var o = {}; for (k in opts) o[k] = opts[k]; o.eventID = id; a[i + 2] = o; if (a.length < i + 3) a.length = i + 3; }
      });
    },
    // oaiq('measure', name, props, {event_id, custom_event_name}); measureSingle(pixelId, …); init's hashed user.
    oaiq: function () {
      var KEYS = { email_sha256: 'email', external_id_sha256: 'external_id', phone_number_sha256: 'phone',
        country: 'country', city: 'city', zip_code: 'zip' };
      hook('oaiq', function (a) {
        var c = a[0], i = c === 'measureSingle' ? 2 : 1;
        if (c === 'init' && a[1] && a[1].user) { for (var k in KEYS) if (a[1].user[k]) user[KEYS[k]] = a[1].user[k]; return; }
        if ((c !== 'measure' && c !== 'measureSingle') || !a[i]) return;
        var props = a[i + 1] || {}, opts = a[i + 2] || {}, data = { client: 'oaiq' };
        for (k in props) if (k !== 'amount' && k !== 'contents' && k !== 'type') data[k] = props[k];
        if (props.amount != null) data.value = major(props.amount, props.currency);
        if (props.contents) data.contents = props.contents.map(function (x) {
          return { id: x.id, name: x.name, quantity: x.quantity, price: x.amount == null ? undefined : major(x.amount, x.currency || props.currency) };
        });
        var name = a[i] === 'custom' ? opts.custom_event_name || 'custom' : OPENAI[a[i]] || a[i];
        var id = send(name, data, opts.event_id);
        if (opts.event_id !== id) { var o = {}; for (k in opts) o[k] = opts[k]; o.event_id = id; a[i + 2] = o; if (a.length < i + 3) a.length = i + 3; }
      });
    },
    // GA4's ecommerce events, pushed before or after this script: {event, ecommerce} objects, and gtag's
    // ['event', name, params] argument lists. {ecommerce: null} only clears the previous object.
    datalayer: function () {
      var dl = w.dataLayer = w.dataLayer || [];
      function take(e) {
        var name, params;
        if (e && e[0] === 'event' && typeof e[1] === 'string') { name = e[1]; params = e[2] || {}; }
        else if (e && typeof e.event === 'string') { name = e.event; params = e.ecommerce || {}; }
        if (!name || GA4.split(' ').indexOf(name) < 0) return;
        var data = { client: 'datalayer' };
        for (var k in params) if (k !== 'items') data[k] = params[k];
        if (params.items) data.contents = params.items.map(function (x) {
          return { id: x.item_id || x.item_name, name: x.item_name, price: x.price, quantity: x.quantity, category: x.item_category };
        });
        if (params.transaction_id) data.order_id = params.transaction_id;
        send(name, data, params.transaction_id || (e.eventModel || {}).event_id);
      }
      for (var i = 0; i < dl.length; i++) take(dl[i]);
      var push = dl.push, inside = false;
      var mine = function () {
        // A tag manager's push may call the push it found (ours) again: the entry is taken once, then stored.
        if (inside) return Array.prototype.push.apply(dl, arguments);
        inside = true;
        try {
          for (var j = 0; j < arguments.length; j++) { try { take(arguments[j]); } catch (e) { /* GA4 still gets it */ } }
          return push.apply(dl, arguments);
        } finally { inside = false; }
      };
      // A tag manager that loads later replaces push with its own: keep ours in front of whatever it sets.
      try {
        Object.defineProperty(dl, 'push', { configurable: true, get: function () { return mine; },
          set: function (f) { push = f; } });
      } catch (e) { dl.push = mine; }
    }
  };

  function bridge(list) {
    String(list || '').split(/[\s,]+/).forEach(function (b) {
      if (bridges[b]) { bridges[b](); bridges[b] = null; }
    });
  }
  w.capi.bridge = bridge;
  bridge(base.bridges);
})(window);
