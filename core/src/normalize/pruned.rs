//! Parses JSON into a [`Value`] that keeps only the object keys normalisation reads.
//!
//! A v1.1 status is mostly metadata the core never looks at (a user object alone has some forty
//! fields). Skipping those keys with [`IgnoredAny`] still validates the whole document, so errors are
//! the same as a full parse, but builds no maps or strings for them.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Every object key any format's reader asks for. A key missing here reads as absent, so each
/// reader's keys must be listed (the golden tests compare against a full parse).
fn is_read(key: &str) -> bool {
    matches!(
        key,
        "$type"
            | "author_id"
            | "bbox"
            | "bounding_box"
            | "collection"
            | "commit"
            | "coordinates"
            | "country_code"
            | "createdAt"
            | "created_at"
            | "data"
            | "delete"
            | "did"
            | "embed"
            | "entities"
            | "expanded_url"
            | "extended_tweet"
            | "facets"
            | "features"
            | "full_name"
            | "full_text"
            | "geo"
            | "hashtags"
            | "id"
            | "id_str"
            | "includes"
            | "kind"
            | "lang"
            | "langs"
            | "limit"
            | "location"
            | "matching_rules"
            | "mentions"
            | "name"
            | "operation"
            | "place"
            | "place_id"
            | "places"
            | "quoted_status"
            | "quoted_status_id_str"
            | "record"
            | "referenced_tweets"
            | "retweeted_status"
            | "rkey"
            | "screen_name"
            | "scrub_geo"
            | "status_withheld"
            | "tag"
            | "text"
            | "time_us"
            | "timestamp_ms"
            | "tweets"
            | "type"
            | "uri"
            | "url"
            | "urls"
            | "user"
            | "user_mentions"
            | "username"
            | "users"
            | "warning"
    )
}

/// Parses `raw` keeping only the keys in [`is_read`].
pub(crate) fn from_slice(raw: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let value = Pruned.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(Clone, Copy)]
struct Pruned;

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A key, kept (owned) only when normalisation reads it.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(is_read(key).then(|| key.to_owned()))
    }
}

impl<'de> Visitor<'de> for Pruned {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Pruned)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            match key {
                Some(k) => {
                    let v = map.next_value_seed(Pruned)?;
                    out.insert(k, v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_read_keys_and_drops_the_rest() {
        let v = from_slice(br#"{"id_str":"1","profile_link_color":"1DA1F2","user":{"name":"a","followers_count":3},"x":[1,{"y":2}]}"#).unwrap();
        assert_eq!(v, serde_json::json!({"id_str":"1","user":{"name":"a"}}));
    }

    #[test]
    fn errors_in_skipped_parts_are_still_errors() {
        assert!(from_slice(br#"{"skipped":[1,2,}"#).is_err());
        assert!(from_slice(br#"{"id":1} trailing"#).is_err());
    }

    #[test]
    fn numbers_keep_their_kind() {
        let v = from_slice(br#"{"id":18446744073709551615,"time_us":-5,"coordinates":[1.5,2e3]}"#)
            .unwrap();
        assert_eq!(v["id"].as_u64(), Some(u64::MAX));
        assert_eq!(v["time_us"].as_i64(), Some(-5));
        assert_eq!(v["coordinates"][1].as_f64(), Some(2000.0));
    }
}
