/*! capi-edge preview panel: loaded by the pixel only in a tab opened from a preview link (#capi-preview=…).
 *  Each hit of the tab ran the draft config in preview mode; this lists what each did: the tags that fired or not
 *  and why, and what each destination would get. Nothing here is counted: preview traffic goes to the
 *  platforms' test modes, or nowhere. */
(function (w, d) {
  'use strict';
  var capi = w.capi;
  if (!capi || d.getElementById('capi-preview')) return;
  function el(tag, text, style) {
    var e = d.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (style) e.style.cssText = style;
    return e;
  }
  var box = el('div', undefined, 'position:fixed;right:12px;bottom:12px;z-index:2147483647;width:min(380px,calc(100vw - 24px));' +
    'max-height:60vh;overflow:auto;background:#fff;color:#1d232a;border:2px solid #6366f1;border-radius:10px;' +
    'box-shadow:0 6px 24px rgba(0,0,0,.2);font:13px/1.4 system-ui,sans-serif;padding:10px 12px');
  box.id = 'capi-preview';
  var head = el('div', undefined, 'display:flex;justify-content:space-between;align-items:center;gap:8px');
  head.appendChild(el('strong', 'capi-edge preview: the draft config'));
  var end = el('button', 'End preview', 'font:inherit;font-size:12px');
  end.onclick = function () {
    capi.endPreview();
    box.remove();
  };
  head.appendChild(end);
  box.appendChild(head);
  var list = el('div');
  list.id = 'capi-preview-hits';
  box.appendChild(list);
  (d.body || d.documentElement).appendChild(box);

  function show(answer) {
    var item = el('div', undefined, 'border-top:1px solid #e5e7eb;margin-top:8px;padding-top:6px');
    item.className = 'capi-preview-hit';
    if (answer.error) {
      item.appendChild(el('div', answer.detail || answer.error, 'color:#dc2626'));
      // The link ended: later hits of this tab are ordinary ones again; the panel stays to say so.
      if (/^preview_link_/.test(answer.error)) capi.endPreview();
      list.insertBefore(item, list.firstChild);
      return;
    }
    (answer.traces || []).forEach(function (t) {
      item.appendChild(el('div', (t.hit && t.hit.event || 'hit') + ' · ' + ((t.event_ids || [])[0] || ''), 'font-weight:600'));
      (t.tags || []).forEach(function (tag) {
        var line = el('div', (tag.fired ? '✓ ' : '✗ ') + tag.tag + (tag.fired ? ' fired' : ': ' + (tag.reason || 'did not fire')),
          'color:' + (tag.fired ? '#16a34a' : '#6b7280'));
        line.className = tag.fired ? 'fired' : 'not-fired';
        item.appendChild(line);
      });
      (t.outbound || []).forEach(function (r) {
        var line = el('div', '→ sent to ' + r.destination + ' in its test mode', 'color:#1d232a');
        line.className = 'outbound';
        item.appendChild(line);
      });
      (t.not_sent || []).forEach(function (n) {
        var line = el('div', '· not sent to ' + n.destination + ': ' + (n.reason || n.status), 'color:#b45309');
        line.className = 'not-sent';
        item.appendChild(line);
      });
      if (t.no_tag_fired) item.appendChild(el('div', t.no_tag_fired, 'color:#b45309'));
    });
    list.insertBefore(item, list.firstChild);
  }
  capi.preview = function (shown) {
    shown.then(show, function () { show({ error: 'network', detail: 'the hit did not reach the worker' }); });
  };
  capi.previewing.forEach(capi.preview);
})(window, document);
