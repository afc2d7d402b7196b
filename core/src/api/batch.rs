//! Reading a `score_batch` body in place: the texts are borrowed from the request (copied only
//! when they hold JSON escapes), with no `serde_json::Value` tree built and dropped per item.
//!
//! Every value goes through serde_json's `deserialize_any`, as a `Value` would: the body must be
//! well-formed JSON throughout (numbers in range, nesting within serde_json's limit), including
//! the keys an item's object has besides `text` and `lang`; of duplicate keys the last counts.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A batch body: its items, or the JSON type it has instead of being an array.
pub(super) enum Body<'a> {
    /// The array's items, in order.
    Items(Vec<Item<'a>>),
    /// Not an array: the name of what it is ("an object", "null", ...).
    Not(&'static str),
}

/// One item: its text and its language, or `None` when it is neither a string nor an object with
/// a string `text` and a `lang` that is a string, `null` or absent.
pub(super) struct Item<'a>(pub(super) Option<(Cow<'a, str>, Option<Cow<'a, str>>)>);

/// Parses a batch body (valid UTF-8: the caller has checked).
pub(super) fn parse(body: &str) -> serde_json::Result<Body<'_>> {
    serde_json::from_str(body)
}

/// What a JSON value is, when only its kind matters; the value is read whole and dropped.
enum Kind<'a> {
    Null,
    Bool,
    Number,
    String(Cow<'a, str>),
    Array,
    Object,
}

impl Kind<'_> {
    fn name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::String(_) => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Kind<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Kind::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Kind::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Kind::Number)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Kind::Number)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Kind::Number)
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Kind::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Kind::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Kind::String(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Kind>()?.is_some() {}
        Ok(Kind::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Kind, Kind>()?.is_some() {}
        Ok(Kind::Object)
    }
}

impl<'de> Deserialize<'de> for Body<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of texts")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Body::Items(items))
    }
    // Anything else: read whole (through `Kind`, so it is checked as a `Value` would be).
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Body::Not(Kind::Null.name()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Body::Not(Kind::Bool.name()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Body::Not(Kind::Number.name()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Body::Not(Kind::Number.name()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Body::Not(Kind::Number.name()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Body::Not("a string"))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        KindVisitor.visit_map(map).map(|k| Body::Not(k.name()))
    }
}

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an object {\"text\": string, \"lang\": string | null}")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Item(Some((Cow::Borrowed(s), None))))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Item(Some((Cow::Owned(s.to_owned()), None))))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Item(Some((Cow::Owned(s), None))))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // The last value of each key counts (as in a `Value`'s map); other keys are read and
        // dropped.
        let (mut text, mut lang) = (None, None);
        while let Some(key) = map.next_key::<Kind>()? {
            let value: Kind = map.next_value()?;
            match key {
                Kind::String(k) if k == "text" => text = Some(value),
                Kind::String(k) if k == "lang" => lang = Some(value),
                _ => {}
            }
        }
        let Some(Kind::String(text)) = text else {
            return Ok(Item(None));
        };
        Ok(Item(match lang {
            None | Some(Kind::Null) => Some((text, None)),
            Some(Kind::String(lang)) => Some((text, Some(lang))),
            Some(_) => None,
        }))
    }
    // Anything else is read whole (through `Kind`) and is not an item.
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Item(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Item(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Item(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Item(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Item(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        KindVisitor.visit_seq(seq).map(|_| Item(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A body read into owned items (`Err`: not an array, and what it is), or the parse error.
    type Read = Result<Result<Vec<Option<(String, Option<String>)>>, &'static str>, String>;

    /// The reading through `Value` this module replaced: the reference it must agree with.
    fn via_value(body: &str) -> Read {
        let v: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
        let Value::Array(items) = v else {
            return Ok(Err(crate::normalize::type_name(&v)));
        };
        Ok(Ok(items
            .iter()
            .map(|item| match item {
                Value::String(t) => Some((t.clone(), None)),
                Value::Object(fields) => {
                    let text = fields.get("text")?.as_str()?.to_owned();
                    match fields.get("lang") {
                        None | Some(Value::Null) => Some((text, None)),
                        Some(Value::String(l)) => Some((text, Some(l.clone()))),
                        Some(_) => None,
                    }
                }
                _ => None,
            })
            .collect()))
    }

    fn in_place(body: &str) -> Read {
        match parse(body).map_err(|e| e.to_string())? {
            Body::Not(kind) => Ok(Err(kind)),
            Body::Items(items) => Ok(Ok(items
                .into_iter()
                .map(|Item(i)| i.map(|(t, l)| (t.into_owned(), l.map(Cow::into_owned))))
                .collect())),
        }
    }

    #[test]
    fn agrees_with_value_on_every_shape_and_error() {
        let deep = format!(
            "[{{\"text\":\"a\",\"x\":{}1{}}}]",
            "[".repeat(200),
            "]".repeat(200)
        );
        let bodies = [
            r#"["a", {"text":"b","lang":null,"extra":1}, {"text":"c","lang":"fr"}]"#,
            r#"[{"text":1}, {"lang":"en"}, {"text":"d","lang":5}, null, ["e"], 3, true, 1.5, -2]"#,
            r#"[{"text":"a","text":"b"}, {"text":"a","text":2}, {"text":2,"text":"a"}]"#,
            r#"[{"text":"x","lang":"en","lang":null}, {"text":"x","lang":null,"lang":"de"}]"#,
            r#"[{"te\u0078t":"esc\"aped \u00e9 \ud83d\ude00","l\u0061ng":"e\u006e"}]"#,
            r#"[{"text":"a","x":{"y":[1,{"z":null}]}}, {"x":1e400,"text":"a"}]"#,
            r#"[{"text":"a","x":"\ud800"}]"#,
            r#"["a",]"#,
            r#"["a"] x"#,
            r#"[1e400]"#,
            r#"[18446744073709551616, -9223372036854775809]"#,
            "[]",
            " [ \"a\" ] ",
            "{\"text\":\"a\"}",
            "\"a\"",
            "null",
            "true",
            "12",
            "",
            "[",
            &deep,
        ];
        for body in bodies {
            assert_eq!(in_place(body), via_value(body), "{body}");
        }
    }

    #[test]
    fn texts_without_escapes_are_borrowed() {
        let Ok(Body::Items(items)) =
            parse(r#"["plain", {"text":"also plain","lang":"en"}, "e\nscaped"]"#)
        else {
            panic!("not parsed as items");
        };
        assert!(matches!(items[0].0, Some((Cow::Borrowed(_), None))));
        assert!(matches!(
            items[1].0,
            Some((Cow::Borrowed(_), Some(Cow::Borrowed(_))))
        ));
        assert!(matches!(items[2].0, Some((Cow::Owned(_), None))));
    }
}
