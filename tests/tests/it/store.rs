//! The dashboard store: SQLite and OpenSearch give the same answers on the same data, and those
//! answers agree with counts computed directly from the documents.

use std::collections::BTreeMap;

use sentimap_core::sentiment::Label;
use sentimap_core::{normalize, IndexDoc};
use sentimap_store::geo::{encode_lat, encode_lon, Bbox, Tile};
use sentimap_store::query::LabelCounts;
use sentimap_store::{
    GeoQuery, OpenSearchConfig, OpenSearchStore, PostsQuery, RawParams, SqliteOptions, SqliteStore,
    Store, SummaryQuery, TimelineQuery,
};
use serde_json::{json, Value};

const CITIES: &[(&str, f64, f64)] = &[
    ("London", 51.507, -0.128),
    ("Paris", 48.857, 2.352),
    ("New York", 40.713, -74.006),
    ("Tokyo", 35.676, 139.65),
    ("Sydney", -33.869, 151.209),
    ("Lagos", 6.524, 3.379),
    ("Suva", -18.141, 178.44),
    ("Apia", -13.833, -171.76),
    ("Reykjavik", 64.146, -21.94),
    ("Ushuaia", -54.8, -68.3),
    ("Quito", -0.18, -78.47),
];
const TEXTS: &[&str] = &[
    "Merry #Christmas everyone, love this time of year! 🎄",
    "Best #Christmas morning ever, so happy :)",
    "Wonderful #xmas dinner, thank you all ❤️",
    "Worst #Christmas ever, flight cancelled and I am furious :(",
    "So sad and lonely this #xmas 😢",
    "Terrible traffic, hate shopping at #Christmas #Shopping",
    "#Christmas market opens at 10 today",
    "Snow forecast for #Christmas eve #SNOW #snow",
    "Noël à Paris, c'est magnifique #Noël",
];

/// A small seeded generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Raw X API v2 messages, seeded: cities (two across the antimeridian), a share without location,
/// timestamps over two days, hashtags in mixed case.
pub(crate) fn raw_posts(seed: u64, n: usize) -> Vec<Value> {
    let mut r = Rng(seed);
    let start = 1_735_084_800_000_i64; // 2024-12-25T00:00:00Z
    (0..n)
        .map(|i| {
            let (city, lat, lon) = *r.pick(CITIES);
            let text = format!("{} from {city}", r.pick(TEXTS));
            let hashtags: Vec<Value> = text
                .split_whitespace()
                .filter_map(|w| w.strip_prefix('#'))
                .map(|t| t.trim_end_matches(|c: char| !c.is_alphanumeric()))
                .map(|t| json!({ "start": 0, "end": 1, "tag": t }))
                .collect();
            let t = start + (r.unit() * 48.0 * 3_600_000.0) as i64;
            let created = sentimap_store::query::format_ms(t);
            let mut data = json!({
                "id": format!("{}", 10_000_000 + seed * 1_000_000 + i as u64),
                "text": text,
                "lang": "en",
                "author_id": format!("{}", i % 50),
                "created_at": created,
                "entities": { "hashtags": hashtags },
            });
            if r.unit() > 0.1 {
                let lo = (lon + (r.unit() - 0.5) * 0.8).clamp(-180.0, 180.0);
                data["geo"] = json!({ "coordinates": { "type": "Point", "coordinates": [lo, lat + (r.unit() - 0.5) * 0.8] } });
            }
            json!({ "data": data, "includes": { "users": [{ "id": format!("{}", i % 50), "name": format!("User {}", i % 50), "username": format!("user{}", i % 50) }] } })
        })
        .collect()
}

/// Index documents from the raw posts, through the core like the indexer does. The scores are then
/// replaced by seeded ones so the answers do not hang on the engine's current lexicon.
pub(crate) fn fixture_docs(seed: u64, n: usize) -> Vec<IndexDoc> {
    let mut r = Rng(seed ^ 0x5eed);
    raw_posts(seed, n)
        .iter()
        .map(|v| {
            let mut d = IndexDoc::score(
                normalize(v.to_string().as_bytes()).expect("fixture posts normalise"),
            );
            let compound = ((r.unit() * 2.0 - 1.0) * 10_000.0).round() / 10_000.0;
            d.sentiment.compound = compound;
            d.sentiment.label = if compound >= 0.05 {
                Label::Positive
            } else if compound <= -0.05 {
                Label::Negative
            } else {
                Label::Neutral
            };
            d
        })
        .collect()
}

pub(crate) fn params(pairs: &[(&str, &str)]) -> RawParams {
    let m: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    serde_json::from_value(Value::Object(m)).expect("valid parameter names")
}

pub(crate) fn opensearch_url() -> String {
    std::env::var("OPENSEARCH_URL").unwrap_or_else(|_| {
        panic!("OPENSEARCH_URL is not set: start the test bed with `eval \"$(scripts/testbed start)\"` (or run scripts/test)")
    })
}

/// Runs every query of the battery against a store, as JSON.
async fn battery<S: Store>(s: &S) -> Vec<(String, Value)> {
    let summary: &[&[(&str, &str)]] = &[
        &[],
        &[("label", "positive")],
        &[("label", "negative,neutral")],
        &[("q", "christmas")],
        &[("q", "Merry Christmas")],
        &[("q", "noël")],
        &[("q", "nothing-matches-this")],
        &[
            ("from", "2024-12-25T06:00:00Z"),
            ("to", "2024-12-26T06:00:00Z"),
        ],
        &[
            ("q", "london"),
            ("label", "positive,negative"),
            ("from", "1735100000000"),
        ],
        &[("top", "3")],
        // One word over whole hours plus raw edges, with labels; several words (FTS5).
        &[
            ("q", "snow"),
            ("from", "1735100000000"),
            ("to", "1735150012345"),
        ],
        &[("q", "paris"), ("label", "negative"), ("top", "3")],
        &[("q", "merry christmas"), ("label", "positive,neutral")],
        // Ranges that start and end inside an hour and a minute: rollups plus raw edges.
        &[
            ("from", "1735100000000"),
            ("to", "1735150012345"),
            ("label", "positive,neutral"),
        ],
    ];
    let geo: &[&[(&str, &str)]] = &[
        &[("zoom", "1")],
        &[("zoom", "1"), ("max_points", "100")],
        &[("zoom", "2"), ("max_points", "10")],
        &[("bbox", "-12,35,20,60"), ("zoom", "4")],
        &[
            ("bbox", "-12,35,20,60"),
            ("zoom", "4"),
            ("max_points", "20"),
        ],
        &[("bbox", "170,-30,-165,0"), ("zoom", "3")],
        &[
            ("bbox", "170,-30,-165,0"),
            ("zoom", "3"),
            ("max_points", "5"),
        ],
        &[("zoom", "0"), ("max_points", "0"), ("label", "negative")],
        &[("zoom", "9"), ("max_points", "0"), ("bbox", "-1,51,1,52")],
        &[
            ("zoom", "3"),
            ("max_points", "50"),
            ("q", "christmas"),
            ("from", "2024-12-25T12:00:00Z"),
        ],
        &[
            ("bbox", "-12,35,20,60"),
            ("zoom", "2"),
            ("max_points", "3"),
            ("from", "1735100000000"),
            ("to", "1735150012345"),
        ],
        &[
            ("bbox", "-100,-40,160,70"),
            ("zoom", "3"),
            ("max_points", "0"),
            ("label", "negative,positive"),
        ],
        // Searches: cells, points, a box across the antimeridian, time edges, several words.
        &[
            ("q", "christmas"),
            ("zoom", "2"),
            ("max_points", "0"),
            ("label", "positive,negative"),
        ],
        &[("q", "snow"), ("bbox", "-12,35,20,60"), ("zoom", "4")],
        &[
            ("q", "xmas"),
            ("bbox", "170,-30,-165,0"),
            ("zoom", "3"),
            ("max_points", "0"),
        ],
        &[
            ("q", "paris"),
            ("zoom", "5"),
            ("max_points", "0"),
            ("from", "1735100000000"),
            ("to", "1735150012345"),
        ],
        &[("q", "merry christmas"), ("zoom", "1"), ("max_points", "0")],
        // The world map of a word with partial hours at both ends (the per-word geotile rollup
        // plus the posting list, where the word has that rollup).
        &[
            ("q", "xmas"),
            ("zoom", "3"),
            ("max_points", "0"),
            ("from", "1735100000000"),
            ("to", "1735150012345"),
        ],
        &[("q", "from"), ("zoom", "0"), ("max_points", "40")],
    ];
    let timeline: &[&[(&str, &str)]] = &[
        &[],
        &[("interval", "1h")],
        &[("interval", "15m"), ("label", "positive")],
        &[("interval", "1d")],
        &[
            ("q", "xmas"),
            ("from", "2024-12-25T10:00:00Z"),
            ("to", "2024-12-25T20:00:00Z"),
        ],
        &[
            ("from", "1735100000000"),
            ("to", "1735150012345"),
            ("interval", "1h"),
        ],
        &[
            ("from", "1735100000000"),
            ("to", "1735150012345"),
            ("label", "negative"),
        ],
        // Searches: hourly from the word rollups plus edges, minutes from the postings, several
        // words, automatic intervals.
        &[
            ("q", "christmas"),
            ("interval", "1h"),
            ("label", "negative"),
        ],
        &[
            ("q", "christmas"),
            ("from", "1735100000000"),
            ("to", "1735150012345"),
            ("interval", "3h"),
        ],
        &[("q", "snow"), ("interval", "5m")],
        &[("q", "london")],
        &[("q", "merry christmas"), ("label", "positive")],
    ];
    let posts: &[&[(&str, &str)]] = &[
        &[],
        &[("limit", "7")],
        &[("q", "paris"), ("limit", "200")],
        &[("label", "negative"), ("limit", "30")],
        &[
            ("from", "2024-12-26T00:00:00Z"),
            ("to", "2024-12-26T01:00:00Z"),
        ],
        // Searches: with labels, in a range with edges, several words, nothing found.
        &[("q", "christmas"), ("label", "negative"), ("limit", "20")],
        &[
            ("q", "snow"),
            ("from", "1735100000000"),
            ("to", "1735150012345"),
            ("limit", "5"),
        ],
        &[("q", "merry christmas"), ("limit", "10")],
        // Several words with labels and a range (the rarest word's postings, filtered), three
        // words, and words that never meet.
        &[
            ("q", "christmas from"),
            ("label", "negative,neutral"),
            ("from", "1735100000000"),
            ("to", "1735150012345"),
            ("limit", "15"),
        ],
        &[("q", "snow christmas eve"), ("limit", "5")],
        &[("q", "lonely snow")],
        &[("q", "zanzibar")],
    ];
    let mut out = Vec::new();
    for p in summary {
        let v = s
            .summary(SummaryQuery::parse(&params(p)).expect("battery query"))
            .await
            .expect("battery query");
        out.push((
            format!("summary {p:?}"),
            serde_json::to_value(v).expect("battery query"),
        ));
    }
    for p in geo {
        let v = s
            .geo(GeoQuery::parse(&params(p)).expect("battery query"))
            .await
            .expect("battery query");
        out.push((
            format!("geo {p:?}"),
            serde_json::to_value(v).expect("battery query"),
        ));
    }
    for p in timeline {
        let v = s
            .timeline(TimelineQuery::parse(&params(p)).expect("battery query"))
            .await
            .expect("battery query");
        out.push((
            format!("timeline {p:?}"),
            serde_json::to_value(v).expect("battery query"),
        ));
    }
    for p in posts {
        let v = s
            .posts(PostsQuery::parse(&params(p)).expect("battery query"))
            .await
            .expect("battery query");
        out.push((
            format!("posts {p:?}"),
            serde_json::to_value(v).expect("battery query"),
        ));
    }
    out
}

/// Exact equality, except means (`compound_mean`), which may differ in the last rounded digit
/// because the engines sum in different orders.
fn same(path: &str, a: &Value, b: &Value) -> Result<(), String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.keys().ne(y.keys()) {
                return Err(format!("{path}: keys {:?} vs {:?}", x.keys(), y.keys()));
            }
            for (k, v) in x {
                if k == "compound_mean" {
                    let (p, q) = (v.as_f64(), y[k].as_f64());
                    match (p, q) {
                        (Some(p), Some(q)) if (p - q).abs() <= 1.5e-4 => continue,
                        (None, None) => continue,
                        _ => return Err(format!("{path}.{k}: {v} vs {}", y[k])),
                    }
                }
                same(&format!("{path}.{k}"), v, &y[k])?;
            }
            Ok(())
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: {} items vs {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (p, q))| same(&format!("{path}[{i}]"), p, q))
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} vs {b}")),
    }
}

pub(crate) fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_opensearch_answer_the_same() {
    sqlite_and_search_node_agree(opensearch_url()).await;
}

/// Indexes the same 1,500 documents into SQLite and into the node at `url` (OpenSearch or
/// Elasticsearch) through their stores, and runs the whole query battery against both: the answers
/// must be equal. Also the compatibility tests' check for the older engines.
pub(crate) async fn sqlite_and_search_node_agree(url: String) {
    let docs = fixture_docs(11, 1_500);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("store.sqlite")).unwrap();
    // The same with a low bar for the per-word geotile rollup: frequent words get it at different
    // points of the load (christmas in the first chunk, xmas in the third, a city never).
    let frequent = SqliteStore::open_with(
        dir.path().join("frequent.sqlite"),
        SqliteOptions {
            word_geo_min_posts: 200,
        },
    )
    .unwrap();
    // Not under `sentimap*`: another test's template for that pattern must not collide with ours.
    let name = unique("dashtest");
    let mut cfg = OpenSearchConfig::new(url.clone());
    cfg.index = name.clone();
    cfg.template = name.clone();
    let os = OpenSearchStore::new(cfg).unwrap();
    for chunk in docs.chunks(400) {
        let a = sqlite.index(chunk).await.unwrap();
        assert_eq!(frequent.index(chunk).await.unwrap(), a);
        let b = os.index(chunk).await.unwrap();
        assert_eq!(a.rejected, vec![]);
        assert_eq!(b.rejected, vec![]);
        assert_eq!(a.indexed, chunk.len() as u64);
        assert_eq!(b.indexed, chunk.len() as u64);
    }
    // Re-delivery: the same documents again change nothing on either side.
    sqlite.index(&docs[..200]).await.unwrap();
    frequent.index(&docs[..200]).await.unwrap();
    os.index(&docs[..200]).await.unwrap();
    os.refresh().await.unwrap();

    let a = battery(&sqlite).await;
    let b = battery(&os).await;
    let c = battery(&frequent).await;
    let mut errors = Vec::new();
    for (((name, x), (_, y)), (_, z)) in a.iter().zip(&b).zip(&c) {
        if let Err(e) = same(name, x, y) {
            errors.push(e);
        }
        if let Err(e) = same(name, z, y) {
            errors.push(format!("with the geotile rollup of frequent words: {e}"));
        }
    }
    // The battery is not vacuous: it saw posts, both modes of the map and several buckets.
    let get = |k: &str| {
        a.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("summary []")["total"], json!(1_500));
    assert_eq!(
        get("geo [(\"zoom\", \"1\"), (\"max_points\", \"100\")]")["mode"],
        json!("cells")
    );
    assert_eq!(get("geo [(\"zoom\", \"1\")]")["mode"], json!("points"));
    assert!(
        get("geo [(\"bbox\", \"170,-30,-165,0\"), (\"zoom\", \"3\")]")["total"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        get("timeline [(\"interval\", \"1h\")]")["buckets"]
            .as_array()
            .unwrap()
            .len()
            >= 40
    );
    assert!(
        get("summary [(\"q\", \"noël\")]")["total"]
            .as_u64()
            .unwrap()
            > 0
    );

    let http = reqwest::Client::new();
    let _ = http.delete(format!("{url}/{name}")).send().await;
    let _ = http
        .delete(format!("{url}/_index_template/{name}"))
        .send()
        .await;
    assert!(
        errors.is_empty(),
        "SQLite and OpenSearch differ:\n{}",
        errors.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_store_installs_the_core_template() {
    let url = opensearch_url();
    let name = unique("dashtmpl");
    let mut cfg = OpenSearchConfig::new(url.clone());
    cfg.index = name.clone();
    cfg.template = name.clone();
    let os = OpenSearchStore::new(cfg).unwrap();
    os.index(&fixture_docs(3, 5)).await.unwrap();
    let http = reqwest::Client::new();
    let mapping: Value = http
        .get(format!("{url}/{name}/_mapping"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let props = &mapping[&name]["mappings"]["properties"];
    assert_eq!(
        props["location"]["properties"]["point"]["type"],
        json!("geo_point")
    );
    assert_eq!(props["created_at"]["type"], json!("date"));
    assert_eq!(props["hashtags_folded"]["type"], json!("keyword"));
    let _ = http.delete(format!("{url}/{name}")).send().await;
    let _ = http
        .delete(format!("{url}/_index_template/{name}"))
        .send()
        .await;
}

#[tokio::test]
async fn sqlite_answers_equal_counts_from_the_documents() {
    let docs = fixture_docs(5, 800);
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    s.index(&docs).await.unwrap();

    let mut labels = LabelCounts::default();
    let mut tags: BTreeMap<String, u64> = BTreeMap::new();
    for d in &docs {
        labels.add(d.sentiment.label, 1);
        let mut seen: Vec<&String> = d.hashtags_folded.iter().collect();
        seen.sort();
        seen.dedup();
        for t in seen {
            *tags.entry(t.clone()).or_default() += 1;
        }
    }
    let sum = s
        .summary(SummaryQuery::parse(&params(&[])).unwrap())
        .await
        .unwrap();
    assert_eq!(sum.total, 800);
    assert_eq!(sum.labels, labels);
    let mut top: Vec<(String, u64)> = tags.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(10);
    let got: Vec<(String, u64)> = sum
        .top_hashtags
        .iter()
        .map(|t| (t.tag.clone(), t.count))
        .collect();
    assert_eq!(got, top);

    // Europe: points inside the box, counted directly.
    let bbox = Bbox {
        west: -12.0,
        south: 35.0,
        east: 20.0,
        north: 60.0,
    };
    let inside: Vec<&IndexDoc> = docs
        .iter()
        .filter(|d| {
            d.location
                .point
                .is_some_and(|p| bbox.contains_q(encode_lat(p.lat), encode_lon(p.lon)))
        })
        .collect();
    assert!(!inside.is_empty());
    let g = s
        .geo(GeoQuery::parse(&params(&[("bbox", "-12,35,20,60"), ("zoom", "5")])).unwrap())
        .await
        .unwrap();
    assert_eq!(g.total, inside.len() as u64);
    let mut ids: Vec<&str> = inside.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    assert_eq!(
        g.points.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ids
    );

    // World cells: each cell's count is the number of documents in that tile.
    let q = GeoQuery::parse(&params(&[("zoom", "2"), ("max_points", "0")])).unwrap();
    let p = q.precision();
    let g = s.geo(q).await.unwrap();
    let mut tiles: BTreeMap<String, u64> = BTreeMap::new();
    for d in &docs {
        if let Some(pt) = d.location.point {
            *tiles
                .entry(Tile::of(encode_lat(pt.lat), encode_lon(pt.lon), p).key())
                .or_default() += 1;
        }
    }
    let got: BTreeMap<String, u64> = g.cells.iter().map(|c| (c.key.clone(), c.count)).collect();
    assert_eq!(got, tiles);
    assert_eq!(
        g.total,
        docs.iter().filter(|d| d.location.point.is_some()).count() as u64
    );

    // Posts: newest first, and the search keeps only posts with the word.
    let posts = s
        .posts(PostsQuery::parse(&params(&[("q", "paris"), ("limit", "200")])).unwrap())
        .await
        .unwrap();
    let expect = docs
        .iter()
        .filter(|d| {
            d.text
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == "paris")
        })
        .count();
    assert_eq!(posts.total, expect as u64);
    assert!(posts
        .posts
        .windows(2)
        .all(|w| w[0].created_at >= w[1].created_at));

    // Timeline: buckets add up to the total per label.
    let t = s
        .timeline(TimelineQuery::parse(&params(&[("interval", "1h")])).unwrap())
        .await
        .unwrap();
    let mut sum_labels = LabelCounts::default();
    for b in &t.buckets {
        for l in [Label::Positive, Label::Neutral, Label::Negative] {
            let n = match l {
                Label::Positive => b.labels.positive,
                Label::Neutral => b.labels.neutral,
                Label::Negative => b.labels.negative,
            };
            sum_labels.add(l, n);
        }
    }
    assert_eq!(sum_labels, labels);
}

#[tokio::test]
async fn sqlite_upsert_replaces_and_bad_documents_are_rejected_alone() {
    let mut docs = fixture_docs(9, 50);
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    s.index(&docs).await.unwrap();
    s.index(&docs).await.unwrap();
    assert_eq!(s.count().unwrap(), 50);

    docs[0].text = "zanzibar edited".into();
    docs[0].hashtags_folded = vec!["edited".into()];
    docs[1].created_at = "not a time".into();
    let r = s.index(&docs[..3]).await.unwrap();
    assert_eq!(r.indexed, 2);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].id, docs[1].id);
    assert!(
        r.rejected[0].reason.contains("created_at"),
        "{}",
        r.rejected[0].reason
    );
    assert_eq!(s.count().unwrap(), 50);
    let found = s
        .posts(PostsQuery::parse(&params(&[("q", "zanzibar")])).unwrap())
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.posts[0].id, docs[0].id);
    let sum = s
        .summary(SummaryQuery::parse(&params(&[("q", "zanzibar")])).unwrap())
        .await
        .unwrap();
    assert_eq!(sum.top_hashtags[0].tag, "edited");

    // Reopening the file keeps everything.
    drop(s);
    let s = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    assert_eq!(s.count().unwrap(), 50);
}

/// Issue 7: the SQLite rollups follow upserts. A store that received every document twice and then
/// changed versions of some (new time, label, place and hashtags) answers exactly like a store
/// that only ever held the final versions, and like the same file with its rollups rebuilt.
#[tokio::test]
async fn issue7_sqlite_rollups_follow_upserts() {
    let first = fixture_docs(23, 600);
    let mut last = first.clone();
    for (i, d) in last.iter_mut().enumerate().take(150) {
        let t = sentimap_store::query::created_ms(&d.created_at).unwrap();
        d.created_at = sentimap_store::query::format_ms(t + 5_400_000 + i as i64 * 7_001);
        d.sentiment.compound = -d.sentiment.compound;
        d.sentiment.label = match d.sentiment.label {
            Label::Positive => Label::Negative,
            Label::Negative => Label::Neutral,
            Label::Neutral => Label::Positive,
        };
        if let Some(p) = d.location.point.as_mut() {
            p.lat = (p.lat + 7.5).min(80.0);
            p.lon = (p.lon - 31.0).max(-179.0);
        }
        d.hashtags_folded = vec![format!("moved{}", i % 4)];
        // New words: the old ones leave the posting lists and the word rollups.
        d.text = d.text.replace("Christmas", "Snow").replace("from", "near");
    }
    let dir = tempfile::tempdir().unwrap();
    // A low bar for the per-word geotile rollup, so words get it along the way and it follows the
    // upserts too.
    let opts = SqliteOptions {
        word_geo_min_posts: 60,
    };
    let churned = SqliteStore::open_with(dir.path().join("churned.sqlite"), opts).unwrap();
    for chunk in first.chunks(250) {
        churned.index(chunk).await.unwrap();
    }
    churned.index(&first).await.unwrap();
    for chunk in last.chunks(70) {
        churned.index(chunk).await.unwrap();
    }
    let fresh = SqliteStore::open_with(dir.path().join("fresh.sqlite"), opts).unwrap();
    fresh.index(&last).await.unwrap();
    assert_eq!(churned.count().unwrap(), fresh.count().unwrap());
    let (a, b) = (battery(&churned).await, battery(&fresh).await);
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        if let Err(e) = same(name, x, y) {
            panic!("churned vs fresh store: {e}");
        }
    }
    churned.rebuild_rollups().unwrap();
    let c = battery(&churned).await;
    for ((name, x), (_, y)) in c.iter().zip(&b) {
        if let Err(e) = same(name, x, y) {
            panic!("rebuilt vs fresh store: {e}");
        }
    }
}
