//! The Sentimap core for JavaScript, built with wasm-bindgen (`--target web` for browsers,
//! `--target nodejs` for Node).
//!
//! This crate only converts types: every function hands its input to [`sentimap_core::api`] and
//! turns the JSON result into a JavaScript value, or an error object into a thrown `Error`,
//! through the one helper `into_js`. No scoring or normalisation logic lives here.

use js_sys::{Reflect, Uint8Array, JSON};
use sentimap_core::api;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** One token, emoticon or emoji that moved the score, with its valence. */
export interface Evidence {
  token: string;
  valence: number;
  kind: "word" | "idiom" | "emoticon" | "emoji";
}
/** The score of one text. */
export interface Sentiment {
  label: "positive" | "neutral" | "negative";
  /** Normalised score in [-1, 1]. */
  compound: number;
  positive: number;
  neutral: number;
  negative: number;
  method: "emoticon" | "lexicon" | "none";
  lexicon_applied: boolean;
  /** The original system's four labels. */
  compat: "Positive" | "Negative" | "Neutral" | "Confused";
  /** What decided, in text order. */
  evidence: Evidence[];
  /** Every emoji and emoticon found, rated or not, in text order. */
  emoji: string[];
}
/** What a bad input gave instead of a value (also the fields of a thrown SentimapError). */
export interface ApiError { kind: string; field: string | null; reason: string; }
/** One text of a batch: a string, or a text with its language tag. */
export type BatchItem = string | { text: string; lang?: string | null };
/** A batch result: the sentiment, or the error for that item. */
export type BatchResult = Sentiment | { error: ApiError };
/** The index document of a post (see the core's IndexDoc). */
export interface IndexDoc {
  id: string;
  source: "x_v1" | "x_v2" | "bluesky";
  created_at: string;
  text: string;
  lang?: string;
  author: { id?: string; name?: string; handle?: string; stated_location?: string };
  hashtags: string[];
  hashtags_folded: string[];
  mentions: string[];
  urls: string[];
  location: {
    point?: { lat: number; lon: number };
    precision: "point" | "place" | "none";
    place_name?: string;
    country_code?: string;
  };
  retweet_of?: string;
  quote_of?: string;
  matching_rules?: string[];
  sentiment: Sentiment;
  schema_version: number;
}
"#;

/// The one place results become JavaScript values: JSON is parsed into a value, and an error object
/// becomes a thrown `Error` named `SentimapError` carrying `kind`, `field` and `reason`.
fn into_js(json: &str) -> Result<JsValue, JsValue> {
    match api::parse_error(json.as_bytes()) {
        Some(e) => {
            let err = js_sys::Error::new(&e.reason);
            err.set_name("SentimapError");
            let obj: &JsValue = err.as_ref();
            Reflect::set(obj, &"kind".into(), &e.kind.as_str().into())?;
            let field = e.field.as_deref().map_or(JsValue::NULL, JsValue::from_str);
            Reflect::set(obj, &"field".into(), &field)?;
            Reflect::set(obj, &"reason".into(), &e.reason.as_str().into())?;
            Err(err.into())
        }
        None => JSON::parse(json),
    }
}

/// A request error raised before reaching the core (an argument of the wrong JavaScript type).
fn type_error(field: &str, reason: &str) -> Result<JsValue, JsValue> {
    let e = api::ApiError {
        kind: "request".into(),
        field: Some(field.into()),
        reason: reason.into(),
    };
    into_js(&e.to_json())
}

/// The request format version of the core (a request header's `"v"`; not the plain module's
/// `abi_version`, which numbers its exports).
#[wasm_bindgen(js_name = apiVersion)]
pub fn api_version() -> u32 {
    api::API_VERSION
}

/// Scores one text. `lang` is the text's language tag when known (non-English texts get only
/// their emoji and emoticons scored). Throws a `SentimapError` when the text is over the limit.
#[wasm_bindgen(unchecked_return_type = "Sentiment")]
pub fn score(text: &str, lang: Option<String>) -> Result<JsValue, JsValue> {
    into_js(&api::score_json(text, lang.as_deref()))
}

/// Scores a batch of texts (strings or `{text, lang}` objects). Returns one result per item, in
/// order: a `Sentiment`, or `{error}` for an item that could not be scored.
#[wasm_bindgen(js_name = scoreBatch, unchecked_return_type = "BatchResult[]")]
pub fn score_batch(
    #[wasm_bindgen(unchecked_param_type = "BatchItem[]")] items: JsValue,
) -> Result<JsValue, JsValue> {
    match JSON::stringify(&items).ok().and_then(|s| s.as_string()) {
        Some(json) => into_js(&api::score_batch_json(json.as_bytes())),
        None => type_error("items", "expected an array of texts"),
    }
}

/// Normalises one raw post (a string or the raw bytes, in any supported format) and scores it.
/// With `postOnly`, returns the canonical post without a score. Throws a `SentimapError` (with
/// `kind`, `field` and `reason`) when the post cannot be used.
#[wasm_bindgen(unchecked_return_type = "IndexDoc")]
pub fn normalize(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] raw: JsValue,
    #[wasm_bindgen(js_name = postOnly)] post_only: Option<bool>,
) -> Result<JsValue, JsValue> {
    let bytes = if let Some(s) = raw.as_string() {
        s.into_bytes()
    } else if let Some(a) = raw.dyn_ref::<Uint8Array>() {
        a.to_vec()
    } else {
        return type_error("raw", "expected a string or a Uint8Array");
    };
    if post_only.unwrap_or(false) {
        into_js(&api::normalize_post_json(&bytes))
    } else {
        into_js(&api::normalize_json(&bytes))
    }
}

/// The OpenSearch/Elasticsearch composable index template for indices matching `pattern`.
#[wasm_bindgen(js_name = indexTemplate)]
pub fn index_template(pattern: &str) -> Result<JsValue, JsValue> {
    into_js(&api::index_template_json(pattern))
}

/// The raw facade: one request (a JSON header line, `\n`, a body) in, the result JSON bytes out,
/// exactly as every other runtime returns them. Never throws on input.
#[wasm_bindgen]
pub fn process(request: &[u8]) -> Vec<u8> {
    api::process(request)
}

/// `process` with the result as a string (the same UTF-8 JSON): faster, no new `Uint8Array`.
#[wasm_bindgen(js_name = processText, unchecked_return_type = "string")]
pub fn process_text(request: &[u8]) -> JsValue {
    thread_local! {
        /// The result buffer, kept from call to call: a warm call allocates nothing for its result.
        static RESULT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    RESULT.with_borrow_mut(|out| {
        api::process_into(request, out);
        // A string decoded from the module's memory by the glue's one `TextDecoder` (no copy
        // into a new buffer as `process`'s bytes need, about 1 us in V8). A result is always
        // UTF-8, so the decoder's replacement of bad bytes never happens, and the bytes are not
        // checked again in the module first, as `JsValue::from_str` would need.
        JsValue::from_utf8_lossy(out)
    })
}
