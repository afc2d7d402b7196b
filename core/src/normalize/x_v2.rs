//! X API v2 filtered-stream messages: `data`, `includes` and `matching_rules`.

use serde_json::Value;

use super::fields::{bbox_centre, decode_entities, geojson_point, strings_in, At, Obj};
use super::time_fmt;
use crate::{Author, Error, Location, Post, Precision, Source};

pub(crate) fn normalize(obj: &Obj) -> Result<Post, Error> {
    let root = At::root(obj);
    let data = root
        .opt_obj("data")?
        .ok_or_else(|| root.wrong_type("data", "an object"))?;
    let id = data.id("id", None)?.ok_or_else(|| data.missing("id"))?;
    let includes = root.opt_obj("includes")?;

    let mut retweet_of = None;
    let mut quote_of = None;
    for r in data.opt_array("referenced_tweets")? {
        let kind = r.get("type").and_then(Value::as_str);
        let rid = r
            .get("id")
            .and_then(Value::as_str)
            .map(|i| format!("x:{i}"));
        match kind {
            Some("retweeted") => retweet_of = rid,
            Some("quoted") => quote_of = rid,
            _ => {}
        }
    }

    // A retweet's text is truncated; the expansion `referenced_tweets.id` carries the original.
    let original = match (&retweet_of, &includes) {
        (Some(rid), Some(inc)) => find_by_id(inc.opt_array("tweets")?, &rid["x:".len()..]),
        _ => None,
    };
    let content = match original {
        Some(o) => At {
            obj: o,
            path: "includes.tweets[]".into(),
        },
        None => data.clone(),
    };
    let text = content.req_str("text")?;
    let (hashtags, mentions, urls) = match content.opt_obj("entities")? {
        Some(e) => (
            strings_in(e.opt_array("hashtags")?, "tag", &e.path_of("hashtags"))?,
            strings_in(e.opt_array("mentions")?, "username", &e.path_of("mentions"))?,
            expanded_urls(e.opt_array("urls")?, &e.path_of("urls"))?,
        ),
        None => Default::default(),
    };

    let created_at = match data.opt_str("created_at")? {
        Some(s) => time_fmt::parse_rfc3339(s, &data.path_of("created_at"))?,
        None => return Err(data.missing("created_at")),
    };

    let author_id = data.id("author_id", None)?;
    let user = match (&author_id, &includes) {
        (Some(aid), Some(inc)) => find_by_id(inc.opt_array("users")?, aid),
        _ => None,
    };
    let author = match user {
        Some(u) => {
            let u = At {
                obj: u,
                path: "includes.users[]".into(),
            };
            Author {
                id: author_id,
                name: u.opt_str("name")?.map(str::to_owned),
                handle: u.opt_str("username")?.map(str::to_owned),
                stated_location: u
                    .opt_str("location")?
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned),
            }
        }
        None => Author {
            id: author_id,
            ..Author::default()
        },
    };

    let mut matching_rules = Vec::new();
    for rule in root.opt_array("matching_rules")? {
        let tag = rule.get("tag").and_then(Value::as_str);
        let rid = rule.get("id").and_then(Value::as_str);
        if let Some(name) = tag.filter(|t| !t.is_empty()).or(rid) {
            matching_rules.push(name.to_owned());
        }
    }

    Ok(Post {
        id: format!("x:{id}"),
        source: Source::XV2,
        created_at,
        text: decode_entities(text),
        lang: data.opt_str("lang")?.map(str::to_owned),
        author,
        hashtags,
        mentions,
        urls,
        location: location(&data, includes.as_ref())?,
        retweet_of,
        quote_of,
        matching_rules,
    })
}

fn find_by_id<'a>(items: &'a [Value], id: &str) -> Option<&'a Obj> {
    items
        .iter()
        .filter_map(Value::as_object)
        .find(|o| o.get("id").and_then(Value::as_str) == Some(id))
}

fn expanded_urls(items: &[Value], field: &str) -> Result<Vec<String>, Error> {
    let expanded = strings_in(items, "expanded_url", field)?;
    if expanded.len() == items.len() {
        return Ok(expanded);
    }
    // Some URL entities lack `expanded_url`; fall back to the t.co link for those.
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let url = item
            .get("expanded_url")
            .or_else(|| item.get("url"))
            .and_then(Value::as_str);
        if let Some(u) = url {
            out.push(u.to_owned());
        }
    }
    Ok(out)
}

fn location(data: &At<'_>, includes: Option<&At<'_>>) -> Result<Location, Error> {
    let mut loc = Location::default();
    let Some(geo) = data.opt_obj("geo")? else {
        return Ok(loc);
    };
    let place = match (geo.opt_str("place_id")?, includes) {
        (Some(pid), Some(inc)) => find_by_id(inc.opt_array("places")?, pid),
        _ => None,
    };
    if let Some(p) = place {
        let p = At {
            obj: p,
            path: "includes.places[]".into(),
        };
        loc.place_name = p.opt_str("full_name")?.map(str::to_owned);
        loc.country_code = p
            .opt_str("country_code")?
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if let Some(g) = p.opt_obj("geo")? {
            if let Some(bbox) = g.get("bbox") {
                let field = g.path_of("bbox");
                let wrong = || Error::WrongType {
                    field: field.clone(),
                    expected: "an array of four numbers [west, south, east, north]",
                };
                let nums: Vec<f64> = match bbox.as_array() {
                    Some(a) if a.len() == 4 => a.iter().map(Value::as_f64).collect::<Option<_>>(),
                    _ => None,
                }
                .ok_or_else(wrong)?;
                let (lat, lon) = bbox_centre(nums[0], nums[1], nums[2], nums[3], &field)?;
                loc.lat = Some(lat);
                loc.lon = Some(lon);
                loc.precision = Precision::Place;
            }
        }
    }
    if let Some((lat, lon)) = geojson_point(&geo, "coordinates")? {
        loc.lat = Some(lat);
        loc.lon = Some(lon);
        loc.precision = Precision::Point;
    }
    Ok(loc)
}
