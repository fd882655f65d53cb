//! Workers KV in a few direct JS calls. The `worker` crate's `KvStore` moves options and listings through
//! serde-wasm-bindgen (a listing's metadata into a `serde_json::Value` through it), which cost ~25 KB of gzipped
//! Wasm; here values cross as text, and a listing as one JSON text that serde_json (linked anyway) reads.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function kv_get(ns, key, cache_ttl, timeout_ms) {
  const get = ns.get(key, cache_ttl > 0 ? { type: 'text', cacheTtl: cache_ttl } : { type: 'text' });
  if (!(timeout_ms > 0)) return get;
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${timeout_ms} ms`)), timeout_ms); });
  return Promise.race([get, late]).finally(() => clearTimeout(timer));
}
export function kv_put(ns, key, value, metadata) {
  return metadata ? ns.put(key, value, { metadata: JSON.parse(metadata) }) : ns.put(key, value);
}
export async function kv_list(ns, prefix, max_pages) {
  const keys = [];
  let cursor;
  for (let page = 0; page < max_pages; page++) {
    const r = await ns.list({ prefix, cursor });
    for (const k of r.keys) keys.push({ name: k.name, metadata: k.metadata ?? null });
    if (r.list_complete || !r.cursor) break;
    cursor = r.cursor;
  }
  return JSON.stringify(keys);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn kv_get(
        ns: &JsValue,
        key: &str,
        cache_ttl: u32,
        timeout_ms: u32,
    ) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn kv_put(
        ns: &JsValue,
        key: &str,
        value: &str,
        metadata: &str,
    ) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn kv_list(ns: &JsValue, prefix: &str, max_pages: u32) -> Result<js_sys::Promise, JsValue>;
}

/// A KV namespace binding.
pub struct Namespace(JsValue);

/// The error in the runtime's words.
fn words(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()?
                .as_string()
        })
        .unwrap_or_else(|| "KV call failed".into())
}

async fn settle(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, String> {
    js_sys::futures::JsFuture::from(promise.map_err(words)?)
        .await
        .map_err(words)
}

impl Namespace {
    /// The namespace bound as `binding`, if any.
    pub fn bound(env: &worker::Env, binding: &str) -> Option<Namespace> {
        let ns = js_sys::Reflect::get(env, &JsValue::from_str(binding)).ok()?;
        (!ns.is_undefined() && !ns.is_null()).then_some(Namespace(ns))
    }

    /// A key's text, `None` when it does not exist. `cache_ttl_s` > 0 sets KV's `cacheTtl`; `timeout_ms` > 0 gives
    /// up after that long (an error).
    pub async fn get(
        &self,
        key: &str,
        cache_ttl_s: u32,
        timeout_ms: u32,
    ) -> Result<Option<String>, String> {
        Ok(settle(kv_get(&self.0, key, cache_ttl_s, timeout_ms))
            .await?
            .as_string())
    }

    #[cfg(feature = "admin")]
    pub async fn put(&self, key: &str, value: &str) -> Result<(), String> {
        settle(kv_put(&self.0, key, value, "")).await.map(|_| ())
    }

    /// `put`, with metadata (JSON text) that a listing returns with the key.
    #[cfg(feature = "admin")]
    pub async fn put_with_metadata(
        &self,
        key: &str,
        value: &str,
        metadata: &str,
    ) -> Result<(), String> {
        settle(kv_put(&self.0, key, value, metadata))
            .await
            .map(|_| ())
    }

    /// Every key under `prefix` with its metadata, as `[{"name", "metadata"}]`, over at most `max_pages` pages.
    pub async fn list(&self, prefix: &str, max_pages: u32) -> Result<Vec<Key>, String> {
        let text = settle(kv_list(&self.0, prefix, max_pages))
            .await?
            .as_string()
            .unwrap_or_default();
        serde_json::from_str(&text).map_err(|e| format!("a KV listing did not read: {e}"))
    }
}

/// A listed key.
#[derive(serde::Deserialize)]
pub struct Key {
    pub name: String,
    pub metadata: Option<serde_json::Value>,
}
