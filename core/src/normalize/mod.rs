//! Raw post bytes to one canonical [`Post`].
//!
//! Three formats are read, told apart by their shape: X API v1.1 statuses, X API v2 filtered-stream
//! messages and Bluesky Jetstream commits. Every failure is a typed [`Error`] naming the field.

mod fields;
mod jetstream;
mod pruned;
mod time_fmt;
mod x_v1;
mod x_v2;

use serde_json::Value;

use crate::{Error, Post};

#[cfg(test)]
pub(crate) use fields::type_name;

/// The largest raw post the core accepts, in bytes: Firehose's own record limit (1,000 KiB).
pub const MAX_RAW_POST_BYTES: usize = 1_000 * 1024;

/// Normalises one raw post (a JSON document in any supported format) into a [`Post`].
///
/// ```
/// let raw = br#"{"id_str":"42","text":"Merry Christmas &amp; a happy new year",
///   "created_at":"Wed Dec 25 10:00:00 +0000 2024","user":{"id_str":"7","screen_name":"elf"},
///   "coordinates":{"type":"Point","coordinates":[-0.1276,51.5072]}}"#;
/// let post = sentimap_core::normalize(raw)?;
/// assert_eq!(post.id, "x:42");
/// assert_eq!(post.text, "Merry Christmas & a happy new year");
/// assert_eq!(post.location.point(), Some((51.5072, -0.1276)));
/// # Ok::<(), sentimap_core::Error>(())
/// ```
pub fn normalize(raw: &[u8]) -> Result<Post, Error> {
    check_bytes(raw)?;
    let value = pruned::from_slice(raw)?;
    normalize_value(&value)
}

/// Checks size and encoding, then parses the bytes as one JSON document.
pub fn parse(raw: &[u8]) -> Result<Value, Error> {
    check_bytes(raw)?;
    Ok(serde_json::from_slice(raw)?)
}

/// The checks every input passes before parsing: size, then encoding.
fn check_bytes(raw: &[u8]) -> Result<(), Error> {
    if raw.len() > MAX_RAW_POST_BYTES {
        return Err(Error::TooLarge {
            len: raw.len(),
            limit: MAX_RAW_POST_BYTES,
        });
    }
    if let Err(e) = std::str::from_utf8(raw) {
        return Err(Error::Utf8 {
            offset: e.valid_up_to(),
        });
    }
    Ok(())
}

/// Normalises an already parsed JSON document.
pub fn normalize_value(value: &Value) -> Result<Post, Error> {
    let Some(obj) = value.as_object() else {
        return Err(Error::UnsupportedShape(format!(
            "expected a JSON object, found {}",
            fields::type_name(value)
        )));
    };
    if obj.contains_key("did") && obj.contains_key("kind") {
        jetstream::normalize(obj)
    } else if obj.contains_key("data") {
        x_v2::normalize(obj)
    } else if ["id_str", "id", "text", "full_text", "extended_tweet"]
        .into_iter()
        .any(|k| obj.contains_key(k))
    {
        x_v1::normalize(obj)
    } else if let Some(kind) = ["delete", "limit", "scrub_geo", "status_withheld", "warning"]
        .into_iter()
        .find(|k| obj.contains_key(*k))
    {
        Err(Error::UnsupportedShape(format!(
            "X stream `{kind}` notice, not a post"
        )))
    } else {
        Err(Error::UnsupportedShape(
            "not an X v1.1 status, an X v2 stream message or a Bluesky Jetstream commit".into(),
        ))
    }
}
