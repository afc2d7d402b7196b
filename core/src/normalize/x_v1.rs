//! X API v1.1 statuses (the streaming API's classic format).

use serde_json::Value;

use super::fields::{
    bbox_centre, check_lat_lon, decode_entities, geojson_point, strings_in, At, Obj,
};
use super::time_fmt;
use crate::{Author, Error, Location, Post, Precision, Source};

pub(crate) fn normalize(obj: &Obj) -> Result<Post, Error> {
    let at = At::root(obj);
    let id = at
        .id("id_str", Some("id"))?
        .ok_or_else(|| at.missing("id_str"))?;

    // A retweet's own text is a truncated "RT @user: ..."; score the original's full text.
    let retweet = at.opt_obj("retweeted_status")?;
    let retweet_of = match &retweet {
        Some(rt) => Some(format!(
            "x:{}",
            rt.id("id_str", Some("id"))?
                .ok_or_else(|| rt.missing("id_str"))?
        )),
        None => None,
    };
    let quote_of = match at.opt_obj("quoted_status")? {
        Some(q) => q.id("id_str", Some("id"))?.map(|id| format!("x:{id}")),
        None => at
            .id("quoted_status_id_str", None)?
            .map(|id| format!("x:{id}")),
    };
    let content = retweet.as_ref().unwrap_or(&at);
    let (text, entities) = full_text(content)?;

    let (hashtags, mentions, urls) = match &entities {
        Some(e) => (
            strings_in(e.opt_array("hashtags")?, "text", &e.path_of("hashtags"))?,
            strings_in(
                e.opt_array("user_mentions")?,
                "screen_name",
                &e.path_of("user_mentions"),
            )?,
            strings_in(e.opt_array("urls")?, "expanded_url", &e.path_of("urls"))?,
        ),
        None => Default::default(),
    };

    Ok(Post {
        id: format!("x:{id}"),
        source: Source::XV1,
        created_at: created_at(&at)?,
        text: decode_entities(text),
        lang: at.opt_str("lang")?.map(str::to_owned),
        author: author(&at)?,
        hashtags,
        mentions,
        urls,
        location: location(&at)?,
        retweet_of,
        quote_of,
        matching_rules: Vec::new(),
    })
}

/// The untruncated text and the entities that index into it.
fn full_text<'a>(status: &At<'a>) -> Result<(&'a str, Option<At<'a>>), Error> {
    if let Some(ext) = status.opt_obj("extended_tweet")? {
        if let Some(text) = ext.opt_str("full_text")? {
            let entities = ext.opt_obj("entities")?;
            return Ok((text, entities));
        }
    }
    let text = match status.opt_str("full_text")? {
        Some(t) => t,
        None => status.req_str("text")?,
    };
    Ok((text, status.opt_obj("entities")?))
}

fn created_at(at: &At<'_>) -> Result<String, Error> {
    // `timestamp_ms` (a string in the stream, a number in some archives) has millisecond precision.
    match at.get("timestamp_ms") {
        Some(Value::String(s)) => {
            let ms: i128 = s.parse().map_err(|_| {
                at.invalid(
                    "timestamp_ms",
                    format!("{s:?} is not a number of milliseconds"),
                )
            })?;
            return time_fmt::from_unix(ms, 1_000_000, &at.path_of("timestamp_ms"));
        }
        Some(Value::Number(n)) => {
            let ms = n
                .as_i64()
                .ok_or_else(|| at.invalid("timestamp_ms", format!("{n} is not a whole number")))?;
            return time_fmt::from_unix(ms.into(), 1_000_000, &at.path_of("timestamp_ms"));
        }
        Some(_) => return Err(at.wrong_type("timestamp_ms", "a string or a number")),
        None => {}
    }
    let s = at.req_str("created_at")?;
    time_fmt::parse_v1_created_at(s, &at.path_of("created_at"))
}

fn author(at: &At<'_>) -> Result<Author, Error> {
    let Some(user) = at.opt_obj("user")? else {
        return Ok(Author::default());
    };
    Ok(Author {
        id: user.id("id_str", Some("id"))?,
        name: user.opt_str("name")?.map(str::to_owned),
        handle: user.opt_str("screen_name")?.map(str::to_owned),
        stated_location: user
            .opt_str("location")?
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned),
    })
}

fn location(at: &At<'_>) -> Result<Location, Error> {
    let place = at.opt_obj("place")?;
    let (place_name, country_code) = match &place {
        Some(p) => (
            p.opt_str("full_name")?.map(str::to_owned),
            p.opt_str("country_code")?
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        ),
        None => (None, None),
    };
    let mut loc = Location {
        place_name,
        country_code,
        ..Location::default()
    };
    if let Some((lat, lon)) = geojson_point(at, "coordinates")? {
        loc.lat = Some(lat);
        loc.lon = Some(lon);
        loc.precision = Precision::Point;
    } else if let Some(p) = &place {
        if let Some((lat, lon)) = place_centroid(p)? {
            loc.lat = Some(lat);
            loc.lon = Some(lon);
            loc.precision = Precision::Place;
        }
    }
    Ok(loc)
}

/// The centre of a place's `bounding_box` polygon (`[[[lon, lat], ...]]`).
fn place_centroid(place: &At<'_>) -> Result<Option<(f64, f64)>, Error> {
    let Some(bbox) = place.opt_obj("bounding_box")? else {
        return Ok(None);
    };
    let field = bbox.path_of("coordinates");
    let Some(rings) = bbox.get("coordinates") else {
        return Ok(None);
    };
    let ring = rings
        .as_array()
        .and_then(|r| r.first())
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bbox.wrong_type("coordinates", "a polygon: an array of rings of [lon, lat]")
        })?;
    if ring.is_empty() {
        return Err(bbox.invalid("coordinates", "the polygon has no points".into()));
    }
    let (mut west, mut south, mut east, mut north) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for corner in ring {
        let (lon, lat) = super::fields::number_pair(corner, &field)?;
        check_lat_lon(lat, lon, &field)?;
        west = west.min(lon);
        east = east.max(lon);
        south = south.min(lat);
        north = north.max(lat);
    }
    // A polygon's corners do not say which way round the box goes: a span over 180 degrees of
    // longitude is a box across the antimeridian (e.g. Fiji), so swap its sides.
    if east - west > 180.0 {
        std::mem::swap(&mut west, &mut east);
    }
    bbox_centre(west, south, east, north, &field).map(Some)
}
