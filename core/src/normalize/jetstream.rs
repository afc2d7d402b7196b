//! Bluesky Jetstream commits of `app.bsky.feed.post` records.

use serde_json::Value;

use super::fields::{At, Obj};
use super::time_fmt;
use crate::{Author, Error, Location, Post, Source};

const POST_COLLECTION: &str = "app.bsky.feed.post";

pub(crate) fn normalize(obj: &Obj) -> Result<Post, Error> {
    let root = At::root(obj);
    let did = root.req_str("did")?;
    if !did.starts_with("did:") {
        return Err(root.invalid("did", format!("{did:?} is not a DID")));
    }
    let kind = root.req_str("kind")?;
    if kind != "commit" {
        return Err(Error::UnsupportedShape(format!(
            "Jetstream `{kind}` event, not a post commit"
        )));
    }
    let commit = root
        .opt_obj("commit")?
        .ok_or_else(|| root.missing("commit"))?;
    let collection = commit.req_str("collection")?;
    if collection != POST_COLLECTION {
        return Err(Error::UnsupportedShape(format!(
            "Jetstream commit to `{collection}`, not `{POST_COLLECTION}`"
        )));
    }
    let operation = commit.req_str("operation")?;
    if operation == "delete" {
        return Err(Error::UnsupportedShape(
            "Jetstream delete commit carries no post".into(),
        ));
    }
    let rkey = commit.req_str("rkey")?;
    if rkey.is_empty() || rkey.contains('/') {
        return Err(commit.invalid("rkey", format!("{rkey:?} is not a record key")));
    }
    let record = commit
        .opt_obj("record")?
        .ok_or_else(|| commit.missing("record"))?;
    let text = record.req_str("text")?;

    let created_at = match record.opt_str("createdAt")? {
        Some(s) => time_fmt::parse_rfc3339(s, &record.path_of("createdAt"))?,
        None => match root.get("time_us") {
            Some(Value::Number(n)) => {
                let us = n
                    .as_i64()
                    .ok_or_else(|| root.invalid("time_us", format!("{n} is not a whole number")))?;
                time_fmt::from_unix(us.into(), 1_000, &root.path_of("time_us"))?
            }
            Some(_) => return Err(root.wrong_type("time_us", "a number")),
            None => return Err(record.missing("createdAt")),
        },
    };

    let lang = match record.opt_array("langs")?.first() {
        Some(Value::String(l)) => Some(l.clone()),
        Some(_) => return Err(record.wrong_type("langs", "an array of strings")),
        None => None,
    };

    let (mut hashtags, mut mentions, mut urls) = (Vec::new(), Vec::new(), Vec::new());
    for facet in record.opt_array("facets")? {
        let features = facet
            .get("features")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for feature in features {
            let get = |k: &str| feature.get(k).and_then(Value::as_str).map(str::to_owned);
            match feature.get("$type").and_then(Value::as_str) {
                Some("app.bsky.richtext.facet#tag") => hashtags.extend(get("tag")),
                Some("app.bsky.richtext.facet#mention") => mentions.extend(get("did")),
                Some("app.bsky.richtext.facet#link") => urls.extend(get("uri")),
                _ => {}
            }
        }
    }

    let quote_of = match record.opt_obj("embed")? {
        Some(embed) => quoted_uri(&embed).and_then(at_uri_to_id),
        None => None,
    };

    Ok(Post {
        id: format!("bsky:{did}/{rkey}"),
        source: Source::Bluesky,
        created_at,
        // Bluesky text is plain Unicode, not HTML: nothing to decode.
        text: text.to_owned(),
        lang,
        author: Author {
            id: Some(did.to_owned()),
            ..Author::default()
        },
        hashtags,
        mentions,
        urls,
        // Bluesky posts carry no geotag.
        location: Location::default(),
        retweet_of: None,
        quote_of,
        matching_rules: Vec::new(),
    })
}

/// The `at://` URI of a quoted record, from `app.bsky.embed.record` or `recordWithMedia`.
fn quoted_uri<'a>(embed: &At<'a>) -> Option<&'a str> {
    let record = embed.obj.get("record")?;
    // recordWithMedia nests the record one level deeper.
    let inner = record.get("record").unwrap_or(record);
    inner.get("uri").and_then(Value::as_str)
}

/// `at://did:plc:x/app.bsky.feed.post/rkey` to `bsky:did:plc:x/rkey`.
fn at_uri_to_id(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.split('/');
    let did = parts.next()?;
    let collection = parts.next()?;
    let rkey = parts.next()?;
    (collection == POST_COLLECTION).then(|| format!("bsky:{did}/{rkey}"))
}
