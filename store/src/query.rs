//! The dashboard API: its requests (validated once, here) and its responses (defined once, here), so
//! both backends answer with the same JSON.

use std::collections::BTreeMap;

use sentimap_core::sentiment::Label;
use sentimap_core::IndexDoc;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::geo::{Bbox, Tile, MAX_ZOOM};
use crate::Error;

/// At most this many search words.
pub const MAX_QUERY_WORDS: usize = 8;
/// Longest search word, in characters.
pub const MAX_WORD_CHARS: usize = 64;
/// Default and largest number of top hashtags.
pub const TOP_HASHTAGS: usize = 10;
/// Default number of posts in `/api/posts`.
pub const DEFAULT_POSTS: usize = 50;
/// Largest number of posts in `/api/posts`.
pub const MAX_POSTS: usize = 200;
/// Default largest number of points `/api/geo` returns before it switches to cells.
pub const DEFAULT_MAX_POINTS: usize = 5_000;
/// Ceiling of `max_points` (OpenSearch's default `max_result_window`).
pub const MAX_POINTS: usize = 10_000;
/// Most cells a `/api/geo` answer can hold; the precision is lowered until the box fits.
pub const MAX_CELLS: u64 = 10_000;
/// Cells are this many zoom levels finer than the map (8 x 8 cells per map tile).
pub const CELL_ZOOM_OFFSET: u8 = 3;
/// Deepest map zoom accepted.
pub const MAX_MAP_ZOOM: u8 = 22;
/// Most buckets an automatic timeline interval yields.
pub const MAX_BUCKETS: i64 = 200;
/// Keyword values longer than this (in UTF-16 units) are not indexed by OpenSearch (`ignore_above`).
pub const KEYWORD_IGNORE_ABOVE: usize = 256;

/// Fixed histogram intervals, smallest first: name and milliseconds.
pub const INTERVALS: &[(&str, i64)] = &[
    ("1m", 60_000),
    ("5m", 300_000),
    ("15m", 900_000),
    ("30m", 1_800_000),
    ("1h", 3_600_000),
    ("3h", 10_800_000),
    ("6h", 21_600_000),
    ("12h", 43_200_000),
    ("1d", 86_400_000),
    ("7d", 604_800_000),
];

/// The three labels in the order every answer lists them.
pub const LABELS: [Label; 3] = [Label::Positive, Label::Neutral, Label::Negative];

/// The name of a label as documents carry it.
pub fn label_name(l: Label) -> &'static str {
    match l {
        Label::Positive => "positive",
        Label::Neutral => "neutral",
        Label::Negative => "negative",
    }
}

/// Parses a label name.
pub fn parse_label(s: &str) -> Option<Label> {
    match s {
        "positive" => Some(Label::Positive),
        "neutral" => Some(Label::Neutral),
        "negative" => Some(Label::Negative),
        _ => None,
    }
}

/// Query-string parameters as they arrive (every endpoint takes the subset it needs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParams {
    /// Search words: posts must contain all of them.
    pub q: Option<String>,
    /// Comma-separated labels (`positive,negative`); empty means all.
    pub label: Option<String>,
    /// Start of the time range, inclusive: RFC 3339 or epoch milliseconds.
    pub from: Option<String>,
    /// End of the time range, exclusive: RFC 3339 or epoch milliseconds.
    pub to: Option<String>,
    /// `w,s,e,n` in degrees.
    pub bbox: Option<String>,
    /// The map's zoom level.
    pub zoom: Option<String>,
    /// Most points before switching to cells.
    pub max_points: Option<String>,
    /// Histogram interval (`1m` .. `7d`), automatic when absent.
    pub interval: Option<String>,
    /// Number of posts.
    pub limit: Option<String>,
    /// Number of top hashtags.
    pub top: Option<String>,
}

/// Filters every endpoint applies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Lower-cased search words (letters and digits), all required.
    pub words: Vec<String>,
    /// Labels kept; empty keeps all.
    pub labels: Vec<Label>,
    /// Inclusive start, epoch ms.
    pub from_ms: Option<i64>,
    /// Exclusive end, epoch ms.
    pub to_ms: Option<i64>,
}

impl Filters {
    /// Validates the filter parameters.
    pub fn parse(p: &RawParams) -> Result<Filters, Error> {
        let words =
            p.q.as_deref()
                .map(search_words)
                .transpose()?
                .unwrap_or_default();
        let mut labels = Vec::new();
        if let Some(l) = p.label.as_deref() {
            for part in l.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let label = parse_label(part)
                    .ok_or_else(|| Error::invalid("label", format!("unknown label {part:?}")))?;
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
        }
        labels.sort_by_key(|l| LABELS.iter().position(|x| x == l));
        if labels.len() == LABELS.len() {
            labels.clear();
        }
        let from_ms = p
            .from
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| parse_time("from", s))
            .transpose()?;
        let to_ms =
            p.to.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| parse_time("to", s))
                .transpose()?;
        if let (Some(f), Some(t)) = (from_ms, to_ms) {
            if f >= t {
                return Err(Error::invalid(
                    "to",
                    "the time range is empty: `to` must be after `from`",
                ));
            }
        }
        Ok(Filters {
            words,
            labels,
            from_ms,
            to_ms,
        })
    }
}

/// Splits a search into words the way both backends' analysers agree on: runs of letters and
/// digits, lower-cased.
pub fn search_words(q: &str) -> Result<Vec<String>, Error> {
    let mut words: Vec<String> = Vec::new();
    for w in split_words(q) {
        if w.chars().count() > MAX_WORD_CHARS {
            return Err(Error::invalid(
                "q",
                format!("a search word is longer than {MAX_WORD_CHARS} characters"),
            ));
        }
        let w = w.to_lowercase();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    if words.len() > MAX_QUERY_WORDS {
        return Err(Error::invalid(
            "q",
            format!("at most {MAX_QUERY_WORDS} search words"),
        ));
    }
    Ok(words)
}

/// The runs of letters and digits in a text: how searches and posts are cut into words.
pub fn split_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn parse_time(field: &'static str, s: &str) -> Result<i64, Error> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| Error::invalid(field, format!("not RFC 3339 or epoch milliseconds: {e}")))?;
    Ok(epoch_ms(t))
}

fn epoch_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Parses a document's `created_at` into epoch milliseconds.
pub fn created_ms(s: &str) -> Result<i64, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(epoch_ms)
        .map_err(|e| format!("created_at {s:?}: {e}"))
}

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds, as the core writes `created_at`.
pub fn format_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn parse_num<T: std::str::FromStr>(
    field: &'static str,
    s: Option<&str>,
) -> Result<Option<T>, Error> {
    s.filter(|s| !s.is_empty())
        .map(|s| {
            s.trim()
                .parse::<T>()
                .map_err(|_| Error::invalid(field, format!("not a number: {s:?}")))
        })
        .transpose()
}

/// `/api/summary` request.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryQuery {
    /// Filters.
    pub filters: Filters,
    /// Number of top hashtags.
    pub top: usize,
}

impl SummaryQuery {
    /// Validates.
    pub fn parse(p: &RawParams) -> Result<Self, Error> {
        let top = parse_num::<usize>("top", p.top.as_deref())?
            .unwrap_or(TOP_HASHTAGS)
            .min(TOP_HASHTAGS);
        Ok(SummaryQuery {
            filters: Filters::parse(p)?,
            top,
        })
    }
}

/// `/api/geo` request.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoQuery {
    /// Filters.
    pub filters: Filters,
    /// The visible box.
    pub bbox: Bbox,
    /// The map's zoom.
    pub zoom: u8,
    /// Most points before cells.
    pub max_points: usize,
}

impl GeoQuery {
    /// Validates.
    pub fn parse(p: &RawParams) -> Result<Self, Error> {
        let bbox = match p.bbox.as_deref().filter(|s| !s.is_empty()) {
            None => Bbox::WORLD,
            Some(s) => parse_bbox(s)?,
        };
        let zoom = parse_num::<u8>("zoom", p.zoom.as_deref())?.unwrap_or(1);
        if zoom > MAX_MAP_ZOOM {
            return Err(Error::invalid("zoom", format!("at most {MAX_MAP_ZOOM}")));
        }
        let max_points = parse_num::<usize>("max_points", p.max_points.as_deref())?
            .unwrap_or(DEFAULT_MAX_POINTS)
            .min(MAX_POINTS);
        Ok(GeoQuery {
            filters: Filters::parse(p)?,
            bbox,
            zoom,
            max_points,
        })
    }

    /// The cell precision for this map zoom: finer than the map, lowered until the box holds at most
    /// [`MAX_CELLS`] tiles.
    pub fn precision(&self) -> u8 {
        let mut p = (self.zoom + CELL_ZOOM_OFFSET).min(MAX_ZOOM);
        while p > 0 && self.bbox.tile_span(p) > MAX_CELLS {
            p -= 1;
        }
        p
    }
}

fn parse_bbox(s: &str) -> Result<Bbox, Error> {
    let parts: Vec<f64> = s
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| Error::invalid("bbox", "expected four numbers w,s,e,n"))?;
    let [west, south, east, north] = parts[..] else {
        return Err(Error::invalid("bbox", "expected four numbers w,s,e,n"));
    };
    let lon_ok = |v: f64| v.is_finite() && (-180.0..=180.0).contains(&v);
    let lat_ok = |v: f64| v.is_finite() && (-90.0..=90.0).contains(&v);
    if !(lon_ok(west) && lon_ok(east) && lat_ok(south) && lat_ok(north)) || south > north {
        return Err(Error::invalid(
            "bbox",
            "longitudes in [-180,180], latitudes in [-90,90], south <= north",
        ));
    }
    Ok(Bbox {
        west,
        south,
        east,
        north,
    })
}

/// `/api/timeline` request.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineQuery {
    /// Filters.
    pub filters: Filters,
    /// Fixed interval, or automatic.
    pub interval: Option<(&'static str, i64)>,
}

impl TimelineQuery {
    /// Validates.
    pub fn parse(p: &RawParams) -> Result<Self, Error> {
        let interval = match p
            .interval
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "auto")
        {
            None => None,
            Some(s) => Some(*INTERVALS.iter().find(|(n, _)| *n == s).ok_or_else(|| {
                Error::invalid("interval", "one of 1m 5m 15m 30m 1h 3h 6h 12h 1d 7d auto")
            })?),
        };
        Ok(TimelineQuery {
            filters: Filters::parse(p)?,
            interval,
        })
    }
}

/// Picks the smallest interval giving at most [`MAX_BUCKETS`] buckets over `[from, to]`.
pub fn auto_interval(from_ms: i64, to_ms: i64) -> (&'static str, i64) {
    let span = to_ms.saturating_sub(from_ms).max(1);
    *INTERVALS
        .iter()
        .find(|(_, ms)| span / ms < MAX_BUCKETS)
        .unwrap_or(&INTERVALS[INTERVALS.len() - 1])
}

/// `/api/posts` request.
#[derive(Debug, Clone, PartialEq)]
pub struct PostsQuery {
    /// Filters.
    pub filters: Filters,
    /// Number of posts.
    pub limit: usize,
}

impl PostsQuery {
    /// Validates.
    pub fn parse(p: &RawParams) -> Result<Self, Error> {
        let limit = parse_num::<usize>("limit", p.limit.as_deref())?
            .unwrap_or(DEFAULT_POSTS)
            .clamp(1, MAX_POSTS);
        Ok(PostsQuery {
            filters: Filters::parse(p)?,
            limit,
        })
    }
}

/// Counts per label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelCounts {
    /// Positive posts.
    pub positive: u64,
    /// Neutral posts.
    pub neutral: u64,
    /// Negative posts.
    pub negative: u64,
}

impl LabelCounts {
    /// Adds `n` to a label.
    pub fn add(&mut self, label: Label, n: u64) {
        match label {
            Label::Positive => self.positive += n,
            Label::Neutral => self.neutral += n,
            Label::Negative => self.negative += n,
        }
    }

    /// The sum.
    pub fn total(&self) -> u64 {
        self.positive + self.neutral + self.negative
    }
}

/// A hashtag and its number of posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    /// Lower-cased hashtag without `#`.
    pub tag: String,
    /// Posts carrying it.
    pub count: u64,
}

/// `/api/summary` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Matching posts.
    pub total: u64,
    /// Matching posts per label.
    pub labels: LabelCounts,
    /// Mean compound score, 4 decimals; null when no post matches.
    pub compound_mean: Option<f64>,
    /// Oldest matching post's time.
    pub first_at: Option<String>,
    /// Newest matching post's time.
    pub last_at: Option<String>,
    /// Most used hashtags, most posts first, then alphabetically.
    pub top_hashtags: Vec<TagCount>,
}

/// One post on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    /// Post id.
    pub id: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Label.
    pub label: Label,
    /// Compound score.
    pub compound: f64,
}

/// One aggregated map cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// `z/x/y`.
    pub key: String,
    /// Centre latitude (web mercator).
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// `[w, s, e, n]`.
    pub bounds: [f64; 4],
    /// Posts in the cell.
    pub count: u64,
    /// Posts per label.
    pub labels: LabelCounts,
    /// Mean compound score, 4 decimals.
    pub compound_mean: f64,
}

/// Whether `/api/geo` answered with points or cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeoMode {
    /// Every post.
    Points,
    /// Aggregated.
    Cells,
}

/// `/api/geo` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geo {
    /// Points or cells.
    pub mode: GeoMode,
    /// Posts with a location inside the box.
    pub total: u64,
    /// Cell precision (geotile zoom) used or that would be used.
    pub precision: u8,
    /// Points, sorted by id (mode `points`).
    pub points: Vec<MapPoint>,
    /// Cells, most posts first then by key (mode `cells`).
    pub cells: Vec<Cell>,
}

/// Raw cell aggregate a backend returns.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCell {
    /// The tile.
    pub tile: Tile,
    /// Per label.
    pub labels: LabelCounts,
    /// Mean compound as the backend computed it.
    pub compound_mean: f64,
}

impl Geo {
    /// Builds the cells answer from raw aggregates.
    pub fn from_cells(total: u64, precision: u8, raw: Vec<RawCell>) -> Geo {
        let mut cells: Vec<Cell> = raw
            .into_iter()
            .map(|c| {
                let (lat, lon) = c.tile.center();
                Cell {
                    key: c.tile.key(),
                    lat: round_coord(lat),
                    lon: round_coord(lon),
                    bounds: c.tile.bounds().map(round_coord),
                    count: c.labels.total(),
                    labels: c.labels,
                    compound_mean: round4(c.compound_mean),
                }
            })
            .collect();
        cells.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        Geo {
            mode: GeoMode::Cells,
            total,
            precision,
            points: Vec::new(),
            cells,
        }
    }

    /// Builds the points answer.
    pub fn from_points(total: u64, precision: u8, mut points: Vec<MapPoint>) -> Geo {
        points.sort_by(|a, b| a.id.cmp(&b.id));
        Geo {
            mode: GeoMode::Points,
            total,
            precision,
            points,
            cells: Vec::new(),
        }
    }
}

/// One histogram bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Bucket start, RFC 3339.
    pub start: String,
    /// Bucket start, epoch ms.
    pub start_ms: i64,
    /// Posts in the bucket.
    pub total: u64,
    /// Posts per label.
    pub labels: LabelCounts,
}

/// `/api/timeline` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Interval name.
    pub interval: String,
    /// Interval in ms.
    pub interval_ms: i64,
    /// Buckets from the first to the last non-empty one, empty ones included.
    pub buckets: Vec<Bucket>,
}

impl Timeline {
    /// Builds the answer from `(bucket start, label, count)` triples, filling gaps with zeros.
    pub fn from_counts(
        interval: (&str, i64),
        counts: impl IntoIterator<Item = (i64, Label, u64)>,
    ) -> Timeline {
        let mut by_start: BTreeMap<i64, LabelCounts> = BTreeMap::new();
        for (start, label, n) in counts {
            by_start.entry(start).or_default().add(label, n);
        }
        let mut buckets = Vec::new();
        if let (Some((&first, _)), Some((&last, _))) =
            (by_start.first_key_value(), by_start.last_key_value())
        {
            let mut t = first;
            while t <= last {
                let labels = by_start.get(&t).copied().unwrap_or_default();
                buckets.push(Bucket {
                    start: format_ms(t),
                    start_ms: t,
                    total: labels.total(),
                    labels,
                });
                t += interval.1;
            }
        }
        Timeline {
            interval: interval.0.to_string(),
            interval_ms: interval.1,
            buckets,
        }
    }
}

/// Start of the fixed-interval bucket holding `t` (UTC, offset 0), as `date_histogram` computes it.
pub fn bucket_start(t: i64, interval_ms: i64) -> i64 {
    t - t.rem_euclid(interval_ms)
}

/// One post in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostItem {
    /// Post id.
    pub id: String,
    /// Source format.
    pub source: String,
    /// RFC 3339.
    pub created_at: String,
    /// Text (render as text, never as HTML).
    pub text: String,
    /// Language.
    pub lang: Option<String>,
    /// Author handle.
    pub author: Option<String>,
    /// Author display name.
    pub author_name: Option<String>,
    /// Hashtags as written.
    pub hashtags: Vec<String>,
    /// Label.
    pub label: Label,
    /// Compound.
    pub compound: f64,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Place name.
    pub place: Option<String>,
    /// Country code.
    pub country: Option<String>,
}

impl From<IndexDoc> for PostItem {
    fn from(d: IndexDoc) -> Self {
        PostItem {
            source: d.source.as_str().to_string(),
            id: d.id,
            created_at: d.created_at,
            text: d.text,
            lang: d.lang,
            author: d.author.handle,
            author_name: d.author.name,
            hashtags: d.hashtags,
            label: d.sentiment.label,
            compound: d.sentiment.compound,
            lat: d.location.point.map(|p| p.lat),
            lon: d.location.point.map(|p| p.lon),
            place: d.location.place_name,
            country: d.location.country_code,
        }
    }
}

/// `/api/posts` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posts {
    /// Matching posts in all.
    pub total: u64,
    /// The newest `limit` of them, newest first (ties by id, descending).
    pub posts: Vec<PostItem>,
}

/// Rounds a mean to 4 decimals: backends sum in different orders (and OpenSearch stores the score
/// as a 32-bit float), so more digits would differ between them.
pub fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

fn round_coord(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The compound value as OpenSearch aggregates it (a `float` field).
pub fn as_f32(v: f64) -> f64 {
    f64::from(v as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawParams {
        let v: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(v)).unwrap()
    }

    #[test]
    fn filters_parse_and_reject() {
        let f = Filters::parse(&raw(&[
            ("q", "Merry #Christmas, merry!"),
            ("label", "negative,positive"),
            ("from", "2024-12-25T00:00:00Z"),
            ("to", "1735171200000"),
        ]))
        .unwrap();
        assert_eq!(f.words, vec!["merry", "christmas"]);
        assert_eq!(f.labels, vec![Label::Positive, Label::Negative]);
        assert_eq!(f.from_ms, Some(1_735_084_800_000));
        assert_eq!(f.to_ms, Some(1_735_171_200_000));
        assert!(Filters::parse(&raw(&[("label", "happy")])).is_err());
        assert!(Filters::parse(&raw(&[("from", "yesterday")])).is_err());
        assert!(Filters::parse(&raw(&[("from", "2"), ("to", "1")])).is_err());
        assert!(GeoQuery::parse(&raw(&[("bbox", "0,0,1")])).is_err());
        assert!(GeoQuery::parse(&raw(&[("bbox", "0,10,1,5")])).is_err());
        assert!(GeoQuery::parse(&raw(&[("zoom", "99")])).is_err());
        assert!(serde_json::from_str::<RawParams>(r#"{"nope":"1"}"#).is_err());
    }

    #[test]
    fn precision_is_lowered_for_wide_boxes() {
        let q = GeoQuery::parse(&raw(&[("zoom", "2")])).unwrap();
        assert_eq!(q.precision(), 5);
        let q = GeoQuery::parse(&raw(&[("zoom", "12")])).unwrap();
        assert!(q.bbox.tile_span(q.precision()) <= MAX_CELLS);
        assert!(q.precision() < 15);
    }

    #[test]
    fn timeline_fills_gaps_and_times_format() {
        let t = Timeline::from_counts(
            ("1h", 3_600_000),
            [(0, Label::Positive, 2), (7_200_000, Label::Negative, 1)],
        );
        assert_eq!(t.buckets.len(), 3);
        assert_eq!(t.buckets[1].total, 0);
        assert_eq!(t.buckets[2].start, "1970-01-01T02:00:00.000Z");
        assert_eq!(bucket_start(-1, 1000), -1000);
        assert_eq!(auto_interval(0, 3_600_000), ("1m", 60_000));
        assert_eq!(auto_interval(0, 86_400_000 * 3), ("30m", 1_800_000));
        assert_eq!(
            created_ms("2024-12-25T08:00:00.123Z"),
            Ok(1_735_113_600_123)
        );
        assert_eq!(format_ms(1_735_113_600_123), "2024-12-25T08:00:00.123Z");
    }
}
