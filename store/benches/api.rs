//! Dashboard API latency over a large SQLite store (not a timed test: it prints figures).
//!
//! `scripts/bench-dashboard` runs it: it fills `target/bench-dashboard/store.sqlite` with
//! `BENCH_POSTS` seeded posts (1,000,000 by default; the file is reused when it already holds
//! them), then runs each API query `BENCH_RUNS` times and prints p50 / p95 / max in milliseconds,
//! including the JSON encoding of the answer. `BENCH_ONLY=text` runs only the cases whose
//! "endpoint query" holds `text`.

use std::io::Write;
use std::time::Instant;

use sentimap_core::{normalize, IndexDoc};
use sentimap_store::{
    GeoQuery, PostsQuery, RawParams, SqliteStore, Store, SummaryQuery, TimelineQuery,
};
use serde_json::{json, Value};

const CITIES: &[(&str, f64, f64)] = &[
    ("London", 51.507, -0.128),
    ("Paris", 48.857, 2.352),
    ("New York", 40.713, -74.006),
    ("Tokyo", 35.676, 139.65),
    ("Sydney", -33.869, 151.209),
    ("Lagos", 6.524, 3.379),
    ("Mumbai", 19.076, 72.878),
    ("Sao Paulo", -23.55, -46.633),
    ("Mexico City", 19.433, -99.133),
    ("Berlin", 52.52, 13.405),
    ("Toronto", 43.653, -79.383),
    ("Manila", 14.6, 120.984),
];
const TEXTS: &[&str] = &[
    "Merry #Christmas everyone, love this time of year",
    "Best #Christmas morning ever, so happy",
    "Worst #Christmas ever, flight cancelled and I am furious",
    "So sad and lonely this #xmas",
    "#Christmas market opens at 10 today",
    "Snow forecast for #Christmas eve #snow",
    "Traffic is terrible tonight #traffic",
    "Coffee with friends #coffee #weekend",
];

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
}

fn doc(r: &mut Rng, i: u64) -> Option<IndexDoc> {
    let (city, lat, lon) = CITIES[(r.next() % CITIES.len() as u64) as usize];
    let text = format!(
        "{} from {city} {}",
        TEXTS[(r.next() % TEXTS.len() as u64) as usize],
        i % 997
    );
    let tags: Vec<Value> = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('#'))
        .map(|t| json!({ "start": 0, "end": 1, "tag": t.trim_end_matches(',') }))
        .collect();
    let t = 1_735_084_800_000_i64 + (r.unit() * 7.0 * 86_400_000.0) as i64;
    let raw = json!({ "data": {
        "id": format!("{}", 1_000_000_000 + i),
        "text": text,
        "lang": "en",
        "created_at": sentimap_store::query::format_ms(t),
        "entities": { "hashtags": tags },
        "geo": { "coordinates": { "type": "Point",
            "coordinates": [lon + (r.unit() - 0.5) * 4.0, lat + (r.unit() - 0.5) * 4.0] } }
    }});
    let mut d = IndexDoc::score(normalize(raw.to_string().as_bytes()).ok()?);
    let c = ((r.unit() * 2.0 - 1.0) * 10_000.0).round() / 10_000.0;
    d.sentiment.compound = c;
    d.sentiment.label = if c >= 0.05 {
        sentimap_core::sentiment::Label::Positive
    } else if c <= -0.05 {
        sentimap_core::sentiment::Label::Negative
    } else {
        sentimap_core::sentiment::Label::Neutral
    };
    Some(d)
}

/// CPU time run by this process's threads so far, in nanoseconds (Linux `schedstat`; 0 elsewhere).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn params(pairs: &[(&str, &str)]) -> RawParams {
    let m: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    serde_json::from_value(Value::Object(m)).unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::var("BENCH_POSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-dashboard");
    let path = dir.join(format!("store-{n}.sqlite"));
    let mut out = std::io::stdout().lock();
    // Opening an older store builds what it lacks (the keyword index): that one-off cost shows here.
    let opened = Instant::now();
    let store = SqliteStore::open(&path)?;
    writeln!(
        out,
        "opened {} in {:.1} s",
        path.display(),
        opened.elapsed().as_secs_f64()
    )?;
    if store.count()? < n {
        let start = Instant::now();
        let mut r = Rng(42);
        let mut i = store.count()?;
        while i < n {
            let batch: Vec<IndexDoc> = (i..(i + 10_000).min(n))
                .filter_map(|k| doc(&mut r, k))
                .collect();
            store.index_blocking(&batch)?;
            i += 10_000;
        }
        store.optimize()?;
        writeln!(
            out,
            "loaded {n} posts in {:.1} s ({})",
            start.elapsed().as_secs_f64(),
            path.display()
        )?;
    }
    {
        let c = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let bytes: i64 = c.query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )?;
        writeln!(out, "store size: {bytes} bytes (page_count * page_size)")?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("summary", "all", vec![]),
        ("summary", "label=negative", vec![("label", "negative")]),
        ("summary", "q=london", vec![("q", "london")]),
        (
            "summary",
            "one day",
            vec![
                ("from", "2024-12-26T00:00:00Z"),
                ("to", "2024-12-27T00:00:00Z"),
            ],
        ),
        ("geo", "world zoom 2 (cells)", vec![("zoom", "2")]),
        (
            "geo",
            "europe zoom 4 (cells)",
            vec![("bbox", "-12,35,20,60"), ("zoom", "4")],
        ),
        (
            "geo",
            "london zoom 10",
            vec![("bbox", "-0.3,51.4,0.1,51.6"), ("zoom", "10")],
        ),
        (
            "geo",
            "world, q=snow, positive",
            vec![("zoom", "2"), ("q", "snow"), ("label", "positive")],
        ),
        ("timeline", "all, auto", vec![]),
        (
            "timeline",
            "one day, 1h, negative",
            vec![
                ("from", "2024-12-26T00:00:00Z"),
                ("to", "2024-12-27T00:00:00Z"),
                ("interval", "1h"),
                ("label", "negative"),
            ],
        ),
        ("posts", "latest 50", vec![]),
        ("posts", "q=paris", vec![("q", "paris")]),
        (
            "posts",
            "q=christmas negative",
            vec![("q", "christmas"), ("label", "negative")],
        ),
        // Keyword worst cases: the most frequent word (in 5 posts of 8) on every endpoint, a
        // partial-hour range, and two words (FTS5 intersection; the newest matches by walking the
        // rarer word's posting list).
        ("summary", "q=christmas", vec![("q", "christmas")]),
        (
            "summary",
            "q=snow, 1 day 30 min",
            vec![
                ("q", "snow"),
                ("from", "2024-12-26T00:15:00Z"),
                ("to", "2024-12-27T00:45:00Z"),
            ],
        ),
        ("timeline", "q=christmas, auto", vec![("q", "christmas")]),
        (
            "timeline",
            "q=snow, one day, 15m",
            vec![
                ("q", "snow"),
                ("from", "2024-12-26T00:00:00Z"),
                ("to", "2024-12-27T00:00:00Z"),
                ("interval", "15m"),
            ],
        ),
        (
            "geo",
            "world zoom 2, q=christmas",
            vec![("zoom", "2"), ("q", "christmas")],
        ),
        (
            "geo",
            "europe zoom 4, q=paris",
            vec![("bbox", "-12,35,20,60"), ("zoom", "4"), ("q", "paris")],
        ),
        // A frequent word on a box smaller than the world: its posting list, filtered by place
        // (the per-word geotile rollup serves whole-world maps only).
        (
            "geo",
            "europe zoom 4, q=christmas",
            vec![("bbox", "-12,35,20,60"), ("zoom", "4"), ("q", "christmas")],
        ),
        // The same word on a small box (a few hundred points) and on a box over one day (its
        // postings of that day cost less than its places in the box).
        (
            "geo",
            "london zoom 10, q=christmas",
            vec![
                ("bbox", "-0.3,51.4,0.1,51.6"),
                ("zoom", "10"),
                ("q", "christmas"),
            ],
        ),
        (
            "geo",
            "all but the poles zoom 3, q=christmas",
            vec![
                ("bbox", "-180,-80,180,80"),
                ("zoom", "3"),
                ("q", "christmas"),
            ],
        ),
        (
            "geo",
            "europe zoom 4, q=christmas, one day",
            vec![
                ("bbox", "-12,35,20,60"),
                ("zoom", "4"),
                ("q", "christmas"),
                ("from", "2024-12-26T00:00:00Z"),
                ("to", "2024-12-27T00:00:00Z"),
            ],
        ),
        ("summary", "q=tokyo traffic", vec![("q", "tokyo traffic")]),
        (
            "summary",
            "q=merry christmas",
            vec![("q", "merry christmas")],
        ),
        (
            "timeline",
            "q=merry christmas, auto",
            vec![("q", "merry christmas")],
        ),
        (
            "geo",
            "world zoom 2, q=merry christmas",
            vec![("zoom", "2"), ("q", "merry christmas")],
        ),
        (
            "geo",
            "europe zoom 4, q=merry christmas",
            vec![
                ("bbox", "-12,35,20,60"),
                ("zoom", "4"),
                ("q", "merry christmas"),
            ],
        ),
        ("posts", "q=merry christmas", vec![("q", "merry christmas")]),
        (
            "posts",
            "q=merry christmas negative",
            vec![("q", "merry christmas"), ("label", "negative")],
        ),
    ];
    writeln!(
        out,
        "{n} posts, {runs} runs each; milliseconds (query + JSON encoding); cpu: the process's CPU \
         time per query, mean (what other jobs on the machine do not inflate)"
    )?;
    writeln!(
        out,
        "{:<10} {:<38} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "endpoint", "query", "p50", "p95", "max", "cpu", "bytes"
    )?;
    let mut worst = 0.0f64;
    // BENCH_ONLY=text: only the cases whose "endpoint query" holds it (for profiling one).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for (ep, name, p) in &cases {
        if !format!("{ep} {name}").contains(&only) {
            continue;
        }
        let raw = params(p);
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        let cpu0 = cpu_ns();
        for _ in 0..runs {
            let t = Instant::now();
            let body = rt.block_on(async {
                Ok::<_, sentimap_store::Error>(match *ep {
                    "summary" => {
                        serde_json::to_vec(&store.summary(SummaryQuery::parse(&raw)?).await?)
                    }
                    "geo" => serde_json::to_vec(&store.geo(GeoQuery::parse(&raw)?).await?),
                    "timeline" => {
                        serde_json::to_vec(&store.timeline(TimelineQuery::parse(&raw)?).await?)
                    }
                    _ => serde_json::to_vec(&store.posts(PostsQuery::parse(&raw)?).await?),
                })
            })??;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            bytes = body.len();
        }
        let cpu = cpu_ns().saturating_sub(cpu0) as f64 / 1e6 / runs as f64;
        times.sort_by(f64::total_cmp);
        let pct = |q: f64| {
            times[((times.len() as f64 * q).ceil() as usize)
                .saturating_sub(1)
                .min(times.len() - 1)]
        };
        worst = worst.max(pct(0.95));
        writeln!(
            out,
            "{ep:<10} {name:<38} {:>8.1} {:>8.1} {:>8.1} {cpu:>8.1} {bytes:>9}",
            pct(0.5),
            pct(0.95),
            times[times.len() - 1]
        )?;
    }
    writeln!(out, "worst p95: {worst:.1} ms (target <= 100 ms)")?;
    Ok(())
}
