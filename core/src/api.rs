//! The one JSON-in/JSON-out facade of the core that every shell calls.
//!
//! The native CLI, the wasmtime engine, the plain WebAssembly module (`core/abi`), the wasm-bindgen
//! package (`core/js`) and every test runner go through these functions, so every runtime returns
//! the same bytes for the same input. Nothing here does I/O, and no input makes it panic: a bad
//! input comes back as an error object.
//!
//! # Results
//! A call returns either its value as JSON (a [`Sentiment`], an [`IndexDoc`], a [`Post`], an index
//! template, ...) or an error object, which always starts with the bytes [`ERROR_PREFIX`]:
//!
//! ```json
//! {"error":{"kind":"missing_field","field":"data.id","reason":"missing field `data.id`"}}
//! ```
//!
//! `kind` is one of [`crate::Error::kind`]'s names or `"request"` (the request itself is malformed);
//! `field` is `null` when the error is not about one field.
//!
//! # Requests (format version 1)
//! [`process`] takes one request: a header line, a `\n`, then a body of raw bytes.
//!
//! ```text
//! {"v":1,"op":"score","lang":"en"}\nWhat a lovely day :)
//! ```
//!
//! The header is a JSON object: `v` (must be [`API_VERSION`]) and `op`, plus the fields that op
//! reads. The body may hold any bytes (so invalid UTF-8 reaches the core and is reported rather
//! than lost in transport). Requests over [`MAX_REQUEST_BYTES`] are refused whole.
//!
//! | `op`             | header fields          | body                                  | result                           |
//! |------------------|------------------------|---------------------------------------|----------------------------------|
//! | `score`          | `lang` (optional)      | the text, UTF-8, at most [`MAX_TEXT_BYTES`] | [`Sentiment`]              |
//! | `score_batch`    |                        | JSON array of strings or `{"text","lang"}` objects, at most [`MAX_BATCH_ITEMS`] | JSON array: a [`Sentiment`] or an error object per item |
//! | `normalize`      | `post_only` (optional) | one raw post (X v1.1, X v2, Jetstream) | [`IndexDoc`] (scored) or [`Post`] |
//! | `index_template` | `pattern`              | empty                                 | the `_index_template` body       |
//! | `info`           |                        | empty                                 | versions and limits              |
//!
//! ```
//! use sentimap_core::api;
//!
//! let out = api::process(b"{\"v\":1,\"op\":\"index_template\",\"pattern\":\"posts-*\"}");
//! let out = String::from_utf8(out).unwrap_or_default();
//! assert!(out.contains(r#""index_patterns":["posts-*"]"#));
//! let bad = api::process(b"{\"v\":1,\"op\":\"score\"}\n\xff");
//! assert!(api::is_error(&bad));
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sentiment::{CompatLabel, Evidence, EvidenceKind, Label, Method};
use crate::{room, Error, IndexDoc, Post, Sentiment};

mod batch;

/// The request format version this core speaks (the header's `"v"`); the plain module's
/// `abi_version` is a separate number.
pub const API_VERSION: u32 = 1;

/// The largest request [`process`] accepts, header and body together: 4 MiB.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The largest text [`score_json`] scores: 1 MiB (a post is far smaller; this bounds the work).
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// The most texts one `score_batch` request may hold.
pub const MAX_BATCH_ITEMS: usize = 10_000;

/// Every error result starts with these bytes, and no other result does.
pub const ERROR_PREFIX: &[u8] = b"{\"error\":";

/// The error half of a result: what went wrong, on which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable name: one of [`Error::kind`]'s, or `"request"` for a malformed request.
    pub kind: String,
    /// The dotted path of the field concerned, if the error is about one.
    pub field: Option<String>,
    /// A human-readable explanation.
    pub reason: String,
}

impl ApiError {
    fn request(field: Option<&str>, reason: impl Into<String>) -> Self {
        ApiError {
            kind: "request".into(),
            field: field.map(str::to_owned),
            reason: reason.into(),
        }
    }

    fn too_large(len: usize, limit: usize) -> Self {
        ApiError::from(Error::TooLarge { len, limit })
    }

    /// The error object as JSON: `{"error":{"kind":..,"field":..,"reason":..}}`.
    pub fn to_json(&self) -> String {
        // Strings and an option only: serialising cannot fail.
        serde_json::to_string(&ErrorObject { error: self }).unwrap_or_else(|_| {
            String::from(
                r#"{"error":{"kind":"internal","field":null,"reason":"serialisation failed"}}"#,
            )
        })
    }
}

/// An error result: `{"error": ..}`.
#[derive(Serialize)]
struct ErrorObject<'a> {
    error: &'a ApiError,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError {
            kind: e.kind().into(),
            field: e.field().map(str::to_owned),
            reason: e.to_string(),
        }
    }
}

/// Whether a result is an error object.
pub fn is_error(result: &[u8]) -> bool {
    result.starts_with(ERROR_PREFIX)
}

/// Reads an error result back into an [`ApiError`]; `None` when `result` is not an error object.
pub fn parse_error(result: &[u8]) -> Option<ApiError> {
    #[derive(Deserialize)]
    struct Wrapper {
        error: ApiError,
    }
    if !is_error(result) {
        return None;
    }
    serde_json::from_slice::<Wrapper>(result)
        .ok()
        .map(|w| w.error)
}

/// Appends `value` as JSON to `out`. Results are built as bytes in one buffer (a request's whole
/// answer, a batch's every item) and become a `String` only where a public function returns one.
fn write_json<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    // The core's output types hold only strings, numbers, booleans, vectors and string-keyed
    // objects, so serialisation cannot fail; the fallback keeps that promise checkable.
    let start = out.len();
    if let Err(e) = value.serialize(&mut serde_json::Serializer::new(&mut *out)) {
        out.truncate(start);
        out.extend_from_slice(
            ApiError {
                kind: "internal".into(),
                field: None,
                reason: format!("serialisation failed: {e}"),
            }
            .to_json()
            .as_bytes(),
        );
    }
}

/// A new result buffer with room for a typical answer (a scored text is about 300 bytes; serde_json's
/// own 128 would be grown and copied three times).
fn result_buffer() -> Vec<u8> {
    Vec::with_capacity(512)
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = result_buffer();
    write_json(&mut out, value);
    out
}

/// A result as a `String`: serde_json writes only UTF-8, so the fallback is never taken.
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn to_json<T: Serialize>(value: &T) -> String {
    into_string(json_bytes(value))
}

fn check_text(text: &[u8]) -> Result<&str, ApiError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ApiError::too_large(text.len(), MAX_TEXT_BYTES));
    }
    std::str::from_utf8(text).map_err(|e| {
        ApiError::from(Error::Utf8 {
            offset: e.valid_up_to(),
        })
    })
}

/// Scores one text: a [`Sentiment`] as JSON, or an error object when the text is over
/// [`MAX_TEXT_BYTES`].
///
/// ```
/// let out = sentimap_core::api::score_json("hello", Some("en"));
/// assert!(out.starts_with(r#"{"label":"#));
/// ```
pub fn score_json(text: &str, lang: Option<&str>) -> String {
    let mut out = result_buffer();
    write_score(&mut out, text, lang);
    into_string(out)
}

/// Appends the score of `text` (or the error object) to `out`.
fn write_score(out: &mut Vec<u8>, text: &str, lang: Option<&str>) {
    if text.len() > MAX_TEXT_BYTES {
        let e = ApiError::too_large(text.len(), MAX_TEXT_BYTES);
        return write_json(out, &ErrorObject { error: &e });
    }
    crate::sentiment::score_with(text, lang, |s| write_sentiment(out, s));
}

/// Appends `s` as JSON to `out`: the bytes serde_json writes for it (the
/// `sentiment_writer_matches_serde` test checks it), without serde's per-field machinery. The
/// keys and the enums' names are fixed, so they are copied whole; the strings and numbers still go
/// through serde_json. A score is the most frequent result, and serde spent about 120 instructions
/// on each short string (keys included), more than scoring an empty text.
///
/// Every piece but the strings is copied into room made before ([`SENTIMENT_ROOM`], then
/// [`AFTER_STRING_ROOM`] after each string) with [`room::extend`], with no check that could grow
/// `out` (1.2% of the instructions of a tweet in WebAssembly; see [`crate::room`]).
fn write_sentiment(out: &mut Vec<u8>, s: &Sentiment) {
    // Destructured whole, so a new field fails to compile here rather than go missing.
    let Sentiment {
        label,
        compound,
        positive,
        neutral,
        negative,
        method,
        lexicon_applied,
        compat,
        evidence,
        emoji,
    } = s;
    out.reserve(SENTIMENT_ROOM);
    put(
        out,
        match label {
            Label::Positive => &const { Piece::new(br#"{"label":"positive","compound":"#) },
            Label::Neutral => &const { Piece::new(br#"{"label":"neutral","compound":"#) },
            Label::Negative => &const { Piece::new(br#"{"label":"negative","compound":"#) },
        },
    );
    write_f64(out, *compound);
    room::extend(out, br#","positive":"#);
    write_f64(out, *positive);
    room::extend(out, br#","neutral":"#);
    write_f64(out, *neutral);
    room::extend(out, br#","negative":"#);
    write_f64(out, *negative);
    put(
        out,
        match method {
            Method::Emoticon => {
                &const { Piece::new(br#","method":"emoticon","lexicon_applied":"#) }
            }
            Method::Lexicon => &const { Piece::new(br#","method":"lexicon","lexicon_applied":"#) },
            Method::None => &const { Piece::new(br#","method":"none","lexicon_applied":"#) },
        },
    );
    put(
        out,
        if *lexicon_applied {
            &const { Piece::new(b"true") }
        } else {
            &const { Piece::new(b"false") }
        },
    );
    put(
        out,
        match compat {
            CompatLabel::Positive => &const { Piece::new(br#","compat":"Positive","evidence":["#) },
            CompatLabel::Negative => &const { Piece::new(br#","compat":"Negative","evidence":["#) },
            CompatLabel::Neutral => &const { Piece::new(br#","compat":"Neutral","evidence":["#) },
            CompatLabel::Confused => &const { Piece::new(br#","compat":"Confused","evidence":["#) },
        },
    );
    for (i, e) in evidence.iter().enumerate() {
        let Evidence {
            token,
            valence,
            kind,
        } = e;
        put(
            out,
            if i == 0 {
                &const { Piece::new(br#"{"token":"#) }
            } else {
                &const { Piece::new(br#",{"token":"#) }
            },
        );
        write_token(out, token);
        room::extend(out, br#","valence":"#);
        write_f64(out, *valence);
        put(
            out,
            match kind {
                EvidenceKind::Word => &const { Piece::new(br#","kind":"word"}"#) },
                EvidenceKind::Idiom => &const { Piece::new(br#","kind":"idiom"}"#) },
                EvidenceKind::Emoticon => &const { Piece::new(br#","kind":"emoticon"}"#) },
                EvidenceKind::Emoji => &const { Piece::new(br#","kind":"emoji"}"#) },
            },
        );
    }
    room::extend(out, br#"],"emoji":["#);
    for (i, e) in emoji.iter().enumerate() {
        if i > 0 {
            room::extend(out, b",");
        }
        write_token(out, e);
    }
    room::extend(out, b"]}");
}

/// Room [`write_sentiment`] makes before it starts: for all it writes up to its first string (keys,
/// names, four numbers of at most 25 bytes each as serde_json writes an `f64`), or all of it when it
/// writes none, and for the fixed-size copies ([`put`], [`write_decimal`]) that reach up to 40
/// bytes past that before being cut back.
const SENTIMENT_ROOM: usize = 384;

/// Room [`write_token`] leaves after a string: for all [`write_sentiment`] writes up to its next
/// string or its end (a valence, an evidence kind, the next item's key or the closing brackets),
/// and the widest fixed-size copy past that.
const AFTER_STRING_ROOM: usize = 128;

/// [`write_str`], then room for [`AFTER_STRING_ROOM`] bytes: out of line, so that the growth is one
/// call for both.
#[inline(never)]
fn write_token(out: &mut Vec<u8>, s: &str) {
    write_str(out, s);
    out.reserve(AFTER_STRING_ROOM);
}

/// Appends `v` as serde_json writes an `f64` (`out` must have room for 8 bytes). A score's numbers
/// are rounded to four decimals (its valences to three), so they are written by
/// [`write_decimal`]; any other goes through serde_json.
/// Inlined (a score writes five numbers or more): a call costs a WebAssembly function's prologue,
/// and the general case's shadow-stack frame would be set up for every number.
#[inline(always)]
fn write_f64(out: &mut Vec<u8>, v: f64) {
    if !write_decimal(out, v) {
        write_f64_general(out, v);
    }
}

/// [`write_f64`] for a number [`write_decimal`] does not take: serde_json's shortest digits.
#[cold]
#[inline(never)]
fn write_f64_general(out: &mut Vec<u8>, v: f64) {
    use serde::Serializer as _;
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::Serializer::new(&mut *out).serialize_f64(v);
}

/// [`write_decimal`] takes values below this magnitude: a share, a compound, a valence.
const DECIMAL_LIMIT: f64 = 10.0;

/// Appends `v` as serde_json writes it, if `v` is the `f64` nearest some `n / 10^4` with
/// `|v| <` [`DECIMAL_LIMIT`] (checked by dividing back: the scorer rounds with the same division),
/// and returns whether it did (`out` must have room for 8 bytes). serde_json writes the shortest
/// decimal that reads back as `v`; for such a `v` that is `n / 10^4`'s digits, trailing zeros
/// trimmed, at least one digit after the point (`0.5719`, `-0.25`, `1.0`): a different decimal as
/// short would lie at least `10^-4` away, beyond `v`'s rounding interval. The
/// `decimal_writer_matches_serde` test checks every such `v`.
/// This spares the general shortest-digits search, whose 128-bit multiplications are library
/// calls in WebAssembly (there, about a fifth of the cost of scoring a tweet).
#[inline(always)]
fn write_decimal(out: &mut Vec<u8>, v: f64) -> bool {
    // A share of nothing, the most frequent number: its text whole.
    if v.to_bits() == 0 {
        room::extend(out, b"0.0");
        return true;
    }
    // NaN and the infinities fail this too.
    if v.abs().partial_cmp(&DECIMAL_LIMIT) != Some(std::cmp::Ordering::Less) {
        return false;
    }
    let t = v * 1e4;
    // `t` is within a few ulps of an integer when `v` qualifies: rounding it is plain truncation.
    let n = (t + if t < 0.0 { -0.5 } else { 0.5 }) as i32;
    // Bits, not `==`: `-0.0` is not `0 / 10^4` (serde_json writes `-0.0`; left to it).
    if (f64::from(n) / 1e4).to_bits() != v.to_bits() {
        return false;
    }
    let m = n.unsigned_abs(); // below 100,000
    let (int, frac) = (m / 10_000, m % 10_000);
    // Two digits, the first in the low byte (`p < 100`).
    let pair =
        |p: u32| u64::from(p / 10 + u32::from(b'0')) | u64::from(p % 10 + u32::from(b'0')) << 8;
    // `d.dddd` in one word (the first byte lowest), written with a fixed-size copy and cut to its
    // length: short copies of a varying length are library calls in WebAssembly.
    let mut text = u64::from(b'0' + int as u8)
        | u64::from(b'.') << 8
        | pair(frac / 100) << 16
        | pair(frac % 100) << 32;
    // Trailing zeros trimmed, one decimal kept.
    let mut len = 6;
    while len > 3 && (text >> (8 * (len - 1))) & 0xff == u64::from(b'0') {
        len -= 1;
    }
    if n < 0 {
        text = text << 8 | u64::from(b'-');
        len += 1;
    }
    let end = out.len() + len;
    room::extend(out, &text.to_le_bytes());
    out.truncate(end);
    true
}

/// A fixed piece of a result, padded to [`Piece::SIZE`] bytes.
struct Piece {
    bytes: [u8; Piece::SIZE],
    len: usize,
}

impl Piece {
    /// Room for the longest piece (a compile-time error if one is longer).
    const SIZE: usize = 40;

    const fn new(text: &[u8]) -> Self {
        let mut bytes = [0; Piece::SIZE];
        let mut i = 0;
        while i < text.len() {
            bytes[i] = text[i];
            i += 1;
        }
        Piece {
            bytes,
            len: text.len(),
        }
    }
}

/// Appends `piece`: a copy of a fixed size, cut back to the piece's length (`out` must have room
/// for [`Piece::SIZE`] bytes). The pieces of a `match` differ in length, and a copy of a varying
/// length is a library call in WebAssembly (a call into the host for a few bytes: about ten per
/// score).
#[inline(always)]
fn put(out: &mut Vec<u8>, piece: &'static Piece) {
    let end = out.len() + piece.len;
    room::extend(out, &piece.bytes);
    out.truncate(end);
}

/// Appends `s` as a JSON string, as serde_json writes it: a string with nothing to escape (no `"`,
/// `\` or control character, the usual case) is copied whole; any other goes through serde_json.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    // Most strings written are a token or an emoji, eight bytes or fewer: tested as one word
    // (byte by byte, the WebAssembly build spent about 12 instructions a byte) and written whole.
    if let Some(w) = crate::bytes::le_u64(b) {
        if !needs_escape(w, b.len()) {
            // The closing quote goes in the word when the string leaves room for it.
            let n = b.len();
            let end = out.len() + n + 2;
            out.reserve(10);
            out.push(b'"');
            let quote = u64::from(b'"').checked_shl(8 * n as u32).unwrap_or(0);
            out.extend_from_slice(&(w | quote).to_le_bytes());
            if n == 8 {
                out.push(b'"');
            }
            out.truncate(end);
            return;
        }
    } else if b
        .chunks(8)
        .all(|c| crate::bytes::le_u64(c).is_some_and(|w| !needs_escape(w, c.len())))
    {
        // `append` may write up to 16 bytes for a shorter string before cutting back.
        out.reserve(b.len().max(crate::bytes::APPEND_ROOM) + 2);
        out.push(b'"');
        crate::bytes::append(out, b);
        out.push(b'"');
        return;
    }
    use serde::Serializer as _;
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::Serializer::new(&mut *out).serialize_str(s);
}

/// Whether the `n` (at most 8) low bytes of `w` need an escape in a JSON string: a control byte,
/// `"` or `\`. The bytes above them are taken as spaces.
#[inline(always)]
fn needs_escape(w: u64, n: usize) -> bool {
    use crate::bytes::{below, ONES};
    let w = w
        | (ONES * u64::from(b' '))
            .checked_shl(8 * n as u32)
            .unwrap_or(0);
    // Whether some byte is a control byte, `"` or `\`.
    below(w, 0x20)
        | below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1)
        != 0
}

/// Scores one text given as bytes, checking that they are UTF-8 first.
pub fn score_bytes_json(text: &[u8], lang: Option<&str>) -> String {
    into_string(score_bytes(text, lang))
}

fn score_bytes(text: &[u8], lang: Option<&str>) -> Vec<u8> {
    let mut out = result_buffer();
    write_score_bytes(&mut out, text, lang);
    out
}

/// Appends the score of `text` given as bytes (or the error object) to `out`.
fn write_score_bytes(out: &mut Vec<u8>, text: &[u8], lang: Option<&str>) {
    match check_text(text) {
        Ok(t) => write_score(out, t, lang),
        Err(e) => write_json(out, &ErrorObject { error: &e }),
    }
}

/// Scores a batch. `items` is a JSON array whose items are strings or `{"text": .., "lang": ..}`
/// objects; the result is a JSON array holding, per item and in order, a [`Sentiment`] or an error
/// object. A body that is not such an array gives one error object.
///
/// ```
/// let out = sentimap_core::api::score_batch_json(br#"["good", {"text": "bad", "lang": "en"}]"#);
/// assert!(out.starts_with(r#"[{"label":"#));
/// ```
pub fn score_batch_json(items: &[u8]) -> String {
    into_string(score_batch(items))
}

fn score_batch(items: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_batch(&mut out, items);
    out
}

/// Appends the result of a batch (or its one error object) to `out`.
fn write_batch(out: &mut Vec<u8>, items: &[u8]) {
    let values = match std::str::from_utf8(items) {
        Err(e) => {
            return write_error(
                out,
                &ApiError::from(Error::Utf8 {
                    offset: e.valid_up_to(),
                }),
            )
        }
        Ok(body) => match batch::parse(body) {
            Ok(batch::Body::Items(values)) => values,
            Ok(batch::Body::Not(kind)) => {
                return write_error(
                    out,
                    &ApiError::request(
                        Some("items"),
                        format!("expected a JSON array of texts, found {kind}"),
                    ),
                )
            }
            Err(e) => return write_error(out, &ApiError::from(Error::from(e))),
        },
    };
    if values.len() > MAX_BATCH_ITEMS {
        return write_error(
            out,
            &ApiError::request(
                Some("items"),
                format!(
                    "{} items exceed the limit of {MAX_BATCH_ITEMS}",
                    values.len()
                ),
            ),
        );
    }
    out.reserve(values.len() * 320 + 2);
    out.push(b'[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match &value.0 {
            Some((text, lang)) => write_score(out, text, lang.as_deref()),
            None => write_json(
                out,
                &ErrorObject {
                    error: &ApiError::request(
                        Some(&format!("items[{i}]")),
                        "expected a string or an object {\"text\": string, \"lang\": string | null}",
                    ),
                },
            ),
        }
    }
    out.push(b']');
}

/// Appends `e` as an error object to `out`.
fn write_error(out: &mut Vec<u8>, e: &ApiError) {
    write_json(out, &ErrorObject { error: e });
}

/// Normalises and scores one raw post: an [`IndexDoc`] as JSON, or an error object naming the
/// kind, the field and the reason.
///
/// ```
/// let raw = br#"{"id_str":"42","text":"Merry Christmas","created_at":"Wed Dec 25 10:00:00 +0000 2024"}"#;
/// let doc = sentimap_core::api::normalize_json(raw);
/// assert!(doc.starts_with(r#"{"id":"x:42","source":"x_v1""#));
/// let err = sentimap_core::api::normalize_json(b"[1]");
/// assert!(err.starts_with(r#"{"error":{"kind":"unsupported_shape""#));
/// ```
pub fn normalize_json(raw: &[u8]) -> String {
    into_string(normalize_bytes(raw))
}

fn normalize_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = result_buffer();
    write_normalized(&mut out, raw, false);
    out
}

/// Appends the normalised post (the scored [`IndexDoc`], or with `post_only` the [`Post`]) or the
/// error object to `out`.
fn write_normalized(out: &mut Vec<u8>, raw: &[u8], post_only: bool) {
    match crate::normalize(raw) {
        Ok(post) if post_only => write_json::<Post>(out, &post),
        Ok(post) => write_json(out, &IndexDoc::score(post)),
        Err(e) => write_error(out, &ApiError::from(e)),
    }
}

/// Normalises one raw post without scoring it: the canonical [`Post`] as JSON, or an error object.
pub fn normalize_post_json(raw: &[u8]) -> String {
    let mut out = result_buffer();
    write_normalized(&mut out, raw, true);
    into_string(out)
}

/// The composable index template for indices matching `pattern`, as JSON.
pub fn index_template_json(pattern: &str) -> String {
    if pattern.is_empty() {
        return ApiError::request(Some("pattern"), "the index pattern is empty").to_json();
    }
    to_json(&crate::index_template(pattern))
}

/// What an `info` request returns.
#[derive(Serialize)]
struct Info {
    api_version: u32,
    doc_schema_version: u32,
    max_request_bytes: usize,
    max_text_bytes: usize,
    max_raw_post_bytes: usize,
    max_batch_items: usize,
}

/// Versions and limits of this core, as JSON.
pub fn info_json() -> String {
    to_json(&info())
}

fn info() -> Info {
    Info {
        api_version: API_VERSION,
        doc_schema_version: crate::DOC_SCHEMA_VERSION,
        max_request_bytes: MAX_REQUEST_BYTES,
        max_text_bytes: MAX_TEXT_BYTES,
        max_raw_post_bytes: crate::MAX_RAW_POST_BYTES,
        max_batch_items: MAX_BATCH_ITEMS,
    }
}

/// The operation a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// Score one text (the body).
    Score,
    /// Score a JSON array of texts (the body).
    ScoreBatch,
    /// Normalise (and score) one raw post (the body).
    Normalize,
    /// The index template for `pattern`.
    IndexTemplate,
    /// Versions and limits.
    Info,
}

/// A request header: the first line of a [`process`] request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The request format version: [`API_VERSION`].
    pub v: u32,
    /// The operation.
    pub op: Op,
    /// `score`: the text's language tag, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// `normalize`: return the bare [`Post`] instead of the scored [`IndexDoc`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_only: bool,
    /// `index_template`: the index pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl Header {
    /// A header for `op` with no optional fields.
    pub fn new(op: Op) -> Self {
        Header {
            v: API_VERSION,
            op,
            lang: None,
            post_only: false,
            pattern: None,
        }
    }

    /// Builds the request bytes: this header, `\n`, then `body`.
    pub fn request(&self, body: &[u8]) -> Vec<u8> {
        let mut out = to_json(self).into_bytes();
        out.reserve(body.len() + 1);
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    }
}

/// A request header as [`dispatch`] reads it: borrowed from the request where it can be.
#[derive(Debug, PartialEq)]
struct Head<'a> {
    op: Op,
    lang: Option<Cow<'a, str>>,
    post_only: bool,
    pattern: Option<Cow<'a, str>>,
}

impl<'a> Head<'a> {
    fn new(op: Op) -> Self {
        Head {
            op,
            lang: None,
            post_only: false,
            pattern: None,
        }
    }
}

impl From<Header> for Head<'_> {
    fn from(h: Header) -> Self {
        Head {
            op: h.op,
            lang: h.lang.map(Cow::Owned),
            post_only: h.post_only,
            pattern: h.pattern.map(Cow::Owned),
        }
    }
}

/// The headers hosts send for the frequent ops, exactly as [`Header::request`] writes them
/// (`{"v":1,"op":"score"}`, with a `"lang"` of letters, digits, `-` and `_`, `score_batch`,
/// `normalize` with or without `"post_only"`), recognised by their bytes: they need no JSON parser,
/// which costs more than scoring a short text. `None` for any other header, even an equivalent one
/// (spaces, another key order, escapes): serde_json reads those. The result is always the one
/// serde_json would give (the `fast_header_agrees_with_serde` test checks it).
fn canonical_header(head: &[u8]) -> Option<Head<'_>> {
    let rest = head.strip_prefix(br#"{"v":1,"op":""#)?;
    let op = |op| Some(Head::new(op));
    match rest {
        br#"score"}"# => op(Op::Score),
        br#"score_batch"}"# => op(Op::ScoreBatch),
        br#"normalize"}"# | br#"normalize","post_only":false}"# => op(Op::Normalize),
        br#"normalize","post_only":true}"# => Some(Head {
            post_only: true,
            ..Head::new(Op::Normalize)
        }),
        _ => {
            let tag = rest
                .strip_prefix(br#"score","lang":""#)?
                .strip_suffix(br#""}"#)?;
            if !tag
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return None;
            }
            Some(Head {
                lang: Some(Cow::Borrowed(std::str::from_utf8(tag).ok()?)),
                ..Head::new(Op::Score)
            })
        }
    }
}

/// Reads a header line: the canonical forms by their bytes, anything else with serde_json.
fn read_header(head: &[u8]) -> Result<Head<'_>, ApiError> {
    if let Some(h) = canonical_header(head) {
        return Ok(h);
    }
    let head = std::str::from_utf8(head).map_err(|e| {
        ApiError::request(
            None,
            format!("the header is not UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    // A well-formed header parses straight into `Header` (no intermediate `Value`). Anything else
    // takes the slow path, which names what is wrong.
    match serde_json::from_str::<Header>(head) {
        Ok(h) if h.v == API_VERSION => Ok(h.into()),
        _ => header_error(head).map(Head::from),
    }
}

/// Explains why `head` is not a valid header. `Ok` only for a header that is valid after all.
fn header_error(head: &str) -> Result<Header, ApiError> {
    let value: Value = serde_json::from_str(head)
        .map_err(|e| ApiError::request(None, format!("the header is not a JSON object: {e}")))?;
    match value.get("v") {
        Some(v) if v.as_u64() == Some(u64::from(API_VERSION)) => {}
        Some(v) => {
            return Err(ApiError::request(
                Some("v"),
                format!("unsupported request version {v}: this core speaks {API_VERSION}"),
            ))
        }
        None => {
            return Err(ApiError::request(
                Some("v"),
                format!("the header has no version `v` (this core speaks {API_VERSION})"),
            ))
        }
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::request(None, format!("invalid header: {e}")))
}

/// Answers one request (see the [module documentation](self) for the format). Never panics: a
/// malformed, oversized or non-UTF-8 input gives an error object.
pub fn process(request: &[u8]) -> Vec<u8> {
    let mut out = result_buffer();
    process_into(request, &mut out);
    out
}

/// Answers one request, the result as a `String`: the same bytes as [`process`] (a result is
/// always UTF-8).
pub fn process_json(request: &[u8]) -> String {
    into_string(process(request))
}

/// Answers one request into `out`, which is cleared first: the same bytes as [`process`], in a
/// buffer the caller keeps from request to request (the plain module does, so a warm call
/// allocates nothing for its result).
pub fn process_into(request: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if let Err(e) = dispatch(request, out) {
        out.clear();
        write_error(out, &e);
    }
}

/// The most frequent request's header line, `\n` included, as [`Header::request`] writes it for
/// `score` with no language.
const SCORE_HEAD: &[u8] = b"{\"v\":1,\"op\":\"score\"}\n";

fn dispatch(request: &[u8], out: &mut Vec<u8>) -> Result<(), ApiError> {
    if request.len() > MAX_REQUEST_BYTES {
        return Err(ApiError::too_large(request.len(), MAX_REQUEST_BYTES));
    }
    // A plain `score` request is known by its first bytes (compared a word at a time), before any
    // search for the line's end: that search, a byte at a time, cost about 160 of an empty
    // score's 2,100 instructions in WebAssembly.
    if let Some(text) = request.strip_prefix(SCORE_HEAD) {
        write_score_bytes(out, text, None);
        return Ok(());
    }
    let (head, body) = match request.iter().position(|&b| b == b'\n') {
        Some(i) => (&request[..i], &request[i + 1..]),
        None => (request, &request[request.len()..]),
    };
    let header = read_header(head)?;
    let require_empty = |what: &str| {
        if body.is_empty() {
            Ok(())
        } else {
            Err(ApiError::request(
                Some("body"),
                format!("`{what}` takes no body"),
            ))
        }
    };
    match header.op {
        Op::Score => write_score_bytes(out, body, header.lang.as_deref()),
        Op::ScoreBatch => write_batch(out, body),
        Op::Normalize => write_normalized(out, body, header.post_only),
        Op::IndexTemplate => {
            require_empty("index_template")?;
            let pattern = header.pattern.ok_or_else(|| {
                ApiError::request(Some("pattern"), "`index_template` needs a `pattern`")
            })?;
            if pattern.is_empty() {
                return Err(ApiError::request(
                    Some("pattern"),
                    "the index pattern is empty",
                ));
            }
            write_json(out, &crate::index_template(&pattern));
        }
        Op::Info => {
            require_empty("info")?;
            write_json(out, &info());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_str_writes_what_serde_json_writes() {
        let plain = "abcdéfghijklmnopq";
        for len in 0..=plain.len() {
            let Some(base) = plain.get(..len) else {
                continue;
            };
            for at in 0..len.max(1) {
                for c in (0..=0x7fu8).map(char::from).chain(['é', '😀']) {
                    let mut t = String::from(base);
                    if at < len && t.is_char_boundary(at) && t.is_char_boundary(at + 1) {
                        t.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
                    }
                    let mut out = b"x".to_vec();
                    write_str(&mut out, &t);
                    let want = format!("x{}", serde_json::to_string(&t).unwrap_or_default());
                    assert_eq!(String::from_utf8_lossy(&out), want, "{t:?}");
                }
            }
        }
    }

    fn req(header: &str, body: &[u8]) -> Vec<u8> {
        let mut r = header.as_bytes().to_vec();
        r.push(b'\n');
        r.extend_from_slice(body);
        r
    }

    fn err_of(out: &[u8]) -> ApiError {
        parse_error(out).unwrap_or_else(|| panic!("not an error: {}", String::from_utf8_lossy(out)))
    }

    #[test]
    fn score_round_trips_through_process() {
        let out = process(&req(r#"{"v":1,"op":"score","lang":"en"}"#, b"nice day"));
        assert_eq!(out, score_json("nice day", Some("en")).into_bytes());
        let s: Sentiment = serde_json::from_slice(&out).unwrap();
        assert!((-1.0..=1.0).contains(&s.compound));
    }

    #[test]
    fn header_builder_matches_hand_written() {
        let mut h = Header::new(Op::Score);
        h.lang = Some("fr".into());
        assert_eq!(
            h.request(b"x"),
            req(r#"{"v":1,"op":"score","lang":"fr"}"#, b"x")
        );
    }

    #[test]
    fn invalid_utf8_text_is_an_error_with_offset() {
        let e = err_of(&process(&req(r#"{"v":1,"op":"score"}"#, b"ab\xffcd")));
        assert_eq!(e.kind, "utf8");
        assert_eq!(e.reason, "invalid UTF-8 at byte 2");
        assert_eq!(e.field, None);
    }

    #[test]
    fn oversized_inputs_are_refused() {
        let big = vec![b'a'; MAX_TEXT_BYTES + 1];
        assert_eq!(
            err_of(score_bytes_json(&big, None).as_bytes()).kind,
            "too_large"
        );
        let huge = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(err_of(&process(&huge)).kind, "too_large");
        let ok = vec![b'a'; MAX_TEXT_BYTES];
        assert!(!is_error(score_bytes_json(&ok, None).as_bytes()));
    }

    #[test]
    fn malformed_headers_are_request_errors() {
        for (raw, field) in [
            (&b""[..], None),
            (b"\xff\n", None),
            (b"[]", Some("v")),
            (br#"{"v":2,"op":"score"}"#, Some("v")),
            (br#"{"v":1,"op":"dance"}"#, None),
            (br#"{"v":1,"op":"score","colour":"red"}"#, None),
            (br#"{"v":1,"op":"index_template"}"#, Some("pattern")),
            (b"{\"v\":1,\"op\":\"info\"}\nbody", Some("body")),
        ] {
            let e = err_of(&process(raw));
            assert_eq!(e.kind, "request", "{}", String::from_utf8_lossy(raw));
            assert_eq!(
                e.field.as_deref(),
                field,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn normalize_errors_carry_kind_and_field() {
        let e = err_of(&process(&req(
            r#"{"v":1,"op":"normalize"}"#,
            br#"{"data":{"text":"x"}}"#,
        )));
        assert_eq!(e.kind, "missing_field");
        assert_eq!(e.field.as_deref(), Some("data.id"));
    }

    #[test]
    fn batch_scores_each_item_and_reports_bad_items() {
        let out = score_batch_json(br#"["good", {"text":"bad","lang":"en"}, 3]"#);
        let v: Vec<Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(v.len(), 3);
        assert!(v[0].get("label").is_some());
        assert_eq!(v[2]["error"]["field"], "items[2]");
        assert_eq!(
            err_of(score_batch_json(b"{}").as_bytes()).field.as_deref(),
            Some("items")
        );
    }

    #[test]
    fn batch_items_take_the_shapes_the_api_documents() {
        let out = score_batch_json(
            br#"["a", {"text":"b","lang":null,"extra":1}, {"text":"c","lang":"fr"},
                {"text":1}, {"lang":"en"}, {"text":"d","lang":5}, null, ["e"]]"#,
        );
        let v: Vec<Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(v.len(), 8);
        assert_eq!(v[0], serde_json::to_value(crate::score("a", None)).unwrap());
        assert_eq!(v[1], serde_json::to_value(crate::score("b", None)).unwrap());
        assert_eq!(
            v[2],
            serde_json::to_value(crate::score("c", Some("fr"))).unwrap()
        );
        for (i, item) in v.iter().enumerate().skip(3) {
            assert_eq!(item["error"]["field"], format!("items[{i}]"), "{item}");
        }
    }

    #[test]
    fn plain_score_request_is_known_by_its_first_bytes() {
        assert_eq!(SCORE_HEAD, Header::new(Op::Score).request(b"").as_slice());
        // The same texts through the header parser (an equivalent header, spaced) give the same
        // bytes, errors included.
        let texts: [&[u8]; 6] = [
            b"",
            b"not bad at all :)",
            b"a\nb",
            b"\xff",
            b"{\"v\":1}",
            b"\n",
        ];
        for text in texts {
            let mut fast = SCORE_HEAD.to_vec();
            fast.extend_from_slice(text);
            let slow = req(r#"{"v": 1, "op": "score"}"#, text);
            assert_eq!(process(&fast), process(&slow), "{text:?}");
        }
    }

    /// The headers read by their bytes give exactly what serde_json gives; near misses are left to
    /// serde_json (and give its answer, error or not).
    #[test]
    fn fast_header_agrees_with_serde() {
        let recognised = [
            r#"{"v":1,"op":"score"}"#,
            r#"{"v":1,"op":"score","lang":"en"}"#,
            r#"{"v":1,"op":"score","lang":"zh-Hant_TW"}"#,
            r#"{"v":1,"op":"score","lang":""}"#,
            r#"{"v":1,"op":"score_batch"}"#,
            r#"{"v":1,"op":"normalize"}"#,
            r#"{"v":1,"op":"normalize","post_only":true}"#,
            r#"{"v":1,"op":"normalize","post_only":false}"#,
        ];
        for head in recognised {
            let fast = canonical_header(head.as_bytes());
            let serde: Header = serde_json::from_str(head).unwrap();
            assert_eq!(fast, Some(Head::from(serde)), "{head}");
        }
        let mut lang = Header::new(Op::Score);
        lang.lang = Some("pt-BR".into());
        for h in [
            Header::new(Op::Score),
            lang,
            Header::new(Op::ScoreBatch),
            Header::new(Op::Normalize),
            Header {
                post_only: true,
                ..Header::new(Op::Normalize)
            },
        ] {
            let request = h.request(b"");
            let head = &request[..request.len() - 1];
            assert_eq!(canonical_header(head), Some(Head::from(h)));
        }
        for head in [
            r#"{"v":1,"op":"score","lang":"e\u006e"}"#,
            r#"{"v":1,"op":"score","lang":"a b"}"#,
            r#"{"v":1,"op":"score","lang":"en"} "#,
            r#"{"v":1,"op":"score","lang":null}"#,
            r#"{"v":1,"op":"score", "lang":"en"}"#,
            r#"{"v":1,"op":"score","lang":"en","lang":"fr"}"#,
            r#"{"v":1,"op":"score","lang":"en","colour":"red"}"#,
            r#"{"v":1,"op":"score""#,
            r#"{"v":1,"op":"scor"}"#,
            r#"{"v":2,"op":"score"}"#,
            r#"{"v":1.0,"op":"score"}"#,
            r#"{"op":"score","v":1}"#,
            r#"{"v":1,"op":"normalize","post_only":1}"#,
            r#"{"v":1,"op":"index_template","pattern":"p-*"}"#,
            r#"{"v":1,"op":"info"}"#,
        ] {
            assert_eq!(canonical_header(head.as_bytes()), None, "{head}");
        }
    }

    #[test]
    fn process_into_reuses_the_buffer_and_matches_process() {
        let mut out = Vec::new();
        for request in [
            &b"{\"v\":1,\"op\":\"score\",\"lang\":\"en\"}\nnot bad at all :)"[..],
            b"{\"v\":1,\"op\":\"score\"}\n\xff",
            b"{\"v\":1,\"op\":\"score\" , \"lang\":\"fr\"}\nc'est bon",
            br#"{"v":1,"op":"index_template","pattern":""}"#,
            br#"{"v":1,"op":"index_template","pattern":"posts-*"}"#,
            b"{\"v\":1,\"op\":\"normalize\",\"post_only\":true}\n[1]",
            b"{\"v\":1,\"op\":\"score_batch\"}\n[\"good\",2]",
            br#"{"v":1,"op":"info"}"#,
            b"nonsense",
        ] {
            out.extend_from_slice(b"stale bytes");
            process_into(request, &mut out);
            assert_eq!(
                out,
                process(request),
                "{}",
                String::from_utf8_lossy(request)
            );
        }
        assert_eq!(
            process(br#"{"v":1,"op":"index_template","pattern":""}"#),
            index_template_json("").into_bytes()
        );
        assert_eq!(process(br#"{"v":1,"op":"info"}"#), info_json().into_bytes());
        assert_eq!(
            process_json(b"{\"v\":1,\"op\":\"score\"}\n:)").into_bytes(),
            process(b"{\"v\":1,\"op\":\"score\"}\n:)")
        );
    }

    /// The hand-written writer gives serde_json's bytes: texts that make every enum value, evidence
    /// kind and string escape, and non-finite numbers.
    #[test]
    fn sentiment_writer_matches_serde() {
        let texts = [
            "",
            "hello",
            "What a lovely day :)",
            "not bad at all, but the service was SO rude :( 😡😡",
            "I \"love\" it\\n \u{1} \t :) :( 😀😢",
            "kick the bucket... break a leg!! #NotHappy @you https://x.co",
            "so sad :( but happy :)",
            "meh",
        ];
        let mut seen = std::collections::BTreeSet::new();
        for text in texts {
            for lang in [None, Some("en"), Some("fr")] {
                let s = crate::score(text, lang);
                let mut out = Vec::new();
                write_sentiment(&mut out, &s);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    serde_json::to_string(&s).unwrap(),
                    "{text:?} {lang:?}"
                );
                seen.insert(format!("{:?} {:?} {:?}", s.label, s.method, s.compat));
            }
        }
        assert!(seen.len() >= 5, "{seen:?}");
        let mut s = crate::score("great :)", None);
        s.evidence.iter_mut().for_each(|e| e.valence = f64::NAN);
        s.compound = f64::INFINITY;
        s.evidence.push(Evidence {
            token: "a\"b\u{7f}é\u{1f}".into(),
            valence: -0.0,
            kind: EvidenceKind::Idiom,
        });
        s.emoji.push("\\".into());
        s.label = Label::Negative;
        s.method = Method::None;
        s.compat = CompatLabel::Confused;
        s.lexicon_applied = false;
        let mut out = Vec::new();
        write_sentiment(&mut out, &s);
        assert_eq!(
            String::from_utf8_lossy(&out),
            serde_json::to_string(&s).unwrap()
        );
    }

    /// The decimal writer gives serde_json's bytes for every value it takes, and declines the rest:
    /// every `n / 10^4` below ten in magnitude (all the shares, compounds and valences a score can
    /// hold), their neighbours, a spread of larger `n`, and values it must leave to serde_json.
    #[test]
    fn decimal_writer_matches_serde() {
        fn check(v: f64) -> bool {
            let mut out = b"x".to_vec();
            out.reserve(8);
            write_f64(&mut out, v);
            let want = serde_json::to_string(&v).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out[1..]),
                want,
                "{v:e} ({:#x})",
                v.to_bits()
            );
            let mut fast = Vec::with_capacity(8);
            write_decimal(&mut fast, v)
        }
        for n in -100_000i64..=100_000 {
            let v = n as f64 / 1e4;
            assert_eq!(check(v), n.abs() < 100_000, "{n}");
            assert!(!check(v.next_up()) || n == -1, "{n}");
            assert!(!check(v.next_down()) || n == 1, "{n}");
        }
        // A spread of larger n (a xorshift generator, fixed seed), at every magnitude.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = ((x >> 8) % 10u64.pow(1 + (x % 16) as u32)) as i64;
            let v = if x & 1 == 0 { n } else { -n } as f64 / 1e4;
            assert_eq!(check(v), v.abs() < DECIMAL_LIMIT, "{v}");
        }
        assert!(!check(-0.0));
        for v in [
            0.1 + 0.2,
            1.0 / 3.0,
            1e-5,
            5e-5,
            5e-324,
            f64::MIN_POSITIVE,
            DECIMAL_LIMIT,
            DECIMAL_LIMIT.next_down(),
            1e300,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert!(!check(v) && !check(-v), "{v}");
        }
        let mut out = Vec::with_capacity(64);
        assert!(write_decimal(&mut out, 0.5719) && write_decimal(&mut out, -2.0));
        assert!(write_decimal(&mut out, 0.0) && write_decimal(&mut out, -9.9999));
        assert_eq!(out, b"0.5719-2.00.0-9.9999");
    }

    #[test]
    fn info_reports_limits() {
        let v: Value = serde_json::from_slice(&process(br#"{"v":1,"op":"info"}"#)).unwrap();
        assert_eq!(v["api_version"], API_VERSION);
        assert_eq!(v["max_request_bytes"], MAX_REQUEST_BYTES);
    }
}
