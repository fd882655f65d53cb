//! Direct calls into JS, where the `worker` crate's wrappers cost time or size.
//! - Intake's crossings of the Wasm boundary, batched. Every call from Wasm into JS costs a few µs (glue, string
//!   copies, a handle per object), and the wrappers make one per header read, per header set and per queued
//!   field. A browser hit pays for that on every request, so intake reads its headers in one call, builds its
//!   response in one, and queues in one. Measured with bench/profile.mjs (README, "Performance").
//! - Outbound requests (`fetch_upstream`): the wrappers' `Request::new_with_init` and `Fetch` link ~20 KB of
//!   Wasm for options this worker never sets.

use crate::base::guard::header_lines;
use wasm_bindgen::prelude::*;
#[cfg(feature = "intake")]
use wasm_bindgen::JsCast;
use worker::worker_sys::web_sys;

#[wasm_bindgen(inline_js = r#"
export function pick_headers(headers, names) {
  let s = '';
  for (const name of names.split('\n')) {
    const value = headers.get(name);
    s += value === null ? '\u0000\n' : value + '\n';
  }
  return s;
}
function header_pairs(lines) {
  const headers = [];
  for (const line of lines.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.push([line.slice(0, i), line.slice(i + 1)]);
  }
  return headers;
}
export function response(status, lines, body) {
  return new Response(body, { status, headers: header_pairs(lines) });
}
export function rate_limit(env, binding, key) {
  const limiter = env[binding];
  if (!limiter || typeof limiter.limit !== 'function') return Promise.resolve(0);
  return limiter.limit({ key }).then((outcome) => (outcome && outcome.success === false ? 2 : 1), () => 0);
}
export function send_text_batch(queue, bodies) {
  return queue.sendBatch(bodies.split('\n').map((body) => ({ body, contentType: 'text' })));
}
export async function fetch_upstream(method, url, lines, body, timeout_ms) {
  const init = { method, headers: header_pairs(lines), body };
  if (timeout_ms > 0) init.signal = AbortSignal.timeout(timeout_ms);
  const r = await fetch(url, init);
  return [r.status, r.headers.get('content-type') ?? '', new Uint8Array(await r.arrayBuffer())];
}
"#)]
extern "C" {
    /// The value of each header named in `names` (a name per line), a value per line; `\0` for a missing one.
    fn pick_headers(headers: &web_sys::Headers, names: &str) -> String;
    #[wasm_bindgen(catch)]
    fn response(
        status: u16,
        lines: &str,
        body: Option<Box<[u8]>>,
    ) -> Result<web_sys::Response, JsValue>;
    fn rate_limit(env: &JsValue, binding: &str, key: &str) -> js_sys::Promise;
    #[wasm_bindgen(catch)]
    fn send_text_batch(queue: &JsValue, bodies: &str) -> Result<js_sys::Promise, JsValue>;
    fn fetch_upstream(
        method: &str,
        url: &str,
        lines: &str,
        body: Option<Box<[u8]>>,
        timeout_ms: u32,
    ) -> js_sys::Promise;
}

#[cfg(feature = "intake")]
/// The request headers a handler reads, fetched across the boundary in one call. (Iterating all of a
/// `Headers` from JS costs more than a dozen `get`s: workerd builds an array per entry.)
pub struct RequestHeaders<const N: usize> {
    names: [&'static str; N],
    values: Vec<Option<String>>,
}

#[cfg(feature = "intake")]
impl<const N: usize> RequestHeaders<N> {
    pub fn read(request: &web_sys::Request, names: [&'static str; N]) -> RequestHeaders<N> {
        let lines = pick_headers(&request.headers(), &names.join("\n"));
        // A header value never holds a line break (the Fetch spec forbids CR and LF in values).
        let values = lines
            .split('\n')
            .take(N)
            .map(|v| (v != "\0").then(|| v.to_string()))
            .collect();
        RequestHeaders { names, values }
    }

    /// The header's value, as `Headers.get` gives it; `None` when absent or not among the names read.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.names.iter().position(|n| *n == name)?;
        self.values.get(i)?.as_deref()
    }
}

#[cfg(feature = "intake")]
/// A response built in one call. Its headers cross as one line each (`guard::header_lines`), which refuses any
/// value that could end a line: a hostile value never becomes a header of its own, and the request fails instead.
pub fn build_response(
    status: u16,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> worker::Result<web_sys::Response> {
    let lines = header_lines(headers).map_err(|e| worker::Error::RustError(e.to_string()))?;
    response(status, &lines, body.map(Box::from)).map_err(worker::Error::from)
}

/// An upstream's answer.
pub struct Upstream {
    pub status: u16,
    // Read by the proxy (intake).
    #[cfg_attr(not(feature = "intake"), allow(dead_code))]
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Fetches `url`; `timeout_ms = 0` waits as long as the runtime allows. `Err` is a network error or the timeout,
/// in the runtime's words, or a header that cannot be sent.
pub async fn fetch(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeout_ms: u32,
) -> Result<Upstream, String> {
    // As `Headers.set` does: surrounding whitespace is trimmed (a secret pasted with a trailing newline still
    // works); a line break inside a value is refused (here it would also split the line-per-header list).
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (*name, value.trim_matches([' ', '\t', '\r', '\n'])))
        .collect();
    let lines = header_lines(&headers).map_err(|e| e.to_string())?;
    let promise = fetch_upstream(method, url, &lines, body.map(Box::from), timeout_ms);
    let answer = js_sys::futures::JsFuture::from(promise)
        .await
        .map_err(|e| {
            e.as_string()
                .or_else(|| {
                    js_sys::Reflect::get(&e, &"message".into())
                        .ok()?
                        .as_string()
                })
                .unwrap_or_else(|| "fetch failed".into())
        })?;
    let parts = js_sys::Array::from(&answer);
    Ok(Upstream {
        status: parts.get(0).as_f64().unwrap_or(0.0) as u16,
        content_type: parts.get(1).as_string().unwrap_or_default(),
        body: js_sys::Uint8Array::new(&parts.get(2)).to_vec(),
    })
}

#[cfg(feature = "intake")]
/// Sends JSON texts to a queue binding in one `sendBatch`, as `text` messages. Compact JSON has no raw line
/// break, so the texts travel joined by `\n`. At most 100 per call (the Queues limit).
pub async fn send_texts(env: &worker::Env, binding: &str, texts: &[String]) -> worker::Result<()> {
    let queue = js_sys::Reflect::get(env, &JsValue::from_str(binding))?;
    if queue.is_undefined() {
        return Err(worker::Error::RustError(format!(
            "no queue is bound as {binding}"
        )));
    }
    let promise = send_text_batch(&queue, &texts.join("\n"))?;
    js_sys::futures::JsFuture::from(promise).await?;
    Ok(())
}

#[cfg(feature = "intake")]
/// Asks the Workers rate-limit binding named `binding` about `key`, in one call: `Some(true)` over the limit,
/// `Some(false)` under it, `None` without the binding or when it fails. (The `worker` crate's `RateLimiter` makes
/// about ten boundary crossings for the same: the binding's type check and its options and answer through
/// serde_wasm_bindgen.)
pub async fn over_rate_limit(env: &worker::Env, binding: &str, key: &str) -> Option<bool> {
    let answer = js_sys::futures::JsFuture::from(rate_limit(env, binding, key))
        .await
        .ok()?;
    match answer.as_f64() {
        Some(1.0) => Some(false),
        Some(2.0) => Some(true),
        _ => None,
    }
}

#[cfg(feature = "intake")]
/// The request body's bytes.
pub async fn body_bytes(request: &web_sys::Request) -> worker::Result<Vec<u8>> {
    let buffer = js_sys::futures::JsFuture::from(request.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(buffer.unchecked_ref()).to_vec())
}
