//! Benchmark harness for the indexer (driven by `scripts/bench-lambda`; figures, not timed tests).
//!
//! ```text
//! sentimap-lambda-bench gen --out FILE --mb N [--gzip]   write a corpus of X API v1.1 statuses
//! sentimap-lambda-bench throughput --file FILE            one-core MiB/s of each pipeline stage
//! sentimap-lambda-bench pipeline --file FILE              the whole streaming pipeline against an
//!                                                         engine that accepts everything; peak RSS
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use sentimap_core::{normalize, IndexDoc};
use sentimap_lambda::bulk::{BulkBuffer, Origin};
use sentimap_lambda::config::{IndexTarget, DEFAULT_BULK_MAX_BYTES};
use sentimap_lambda::deadletter::DeadLetterStore;
use sentimap_lambda::framing::Framer;
use sentimap_lambda::index::{Answer, BulkSender, TransportError};
use sentimap_lambda::pipeline::{index_stream, Job, RetryPolicy};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Write a corpus of synthetic but realistically shaped v1.1 statuses (NDJSON).
    Gen {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        mb: usize,
        #[arg(long)]
        gzip: bool,
    },
    /// Single-core throughput of framing, normalising, scoring and bulk encoding.
    Throughput {
        #[arg(long)]
        file: PathBuf,
        /// Most bytes of the file to hold in memory for the measurement.
        #[arg(long, default_value_t = 64)]
        max_mb: usize,
    },
    /// The streaming pipeline over the file, bulk bodies answered "all created" in memory.
    Pipeline {
        #[arg(long)]
        file: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Gen { out, mb, gzip } => gen(&out, mb, gzip),
        Cmd::Throughput { file, max_mb } => throughput(&file, max_mb),
        Cmd::Pipeline { file } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(pipeline(&file))
        }
    }
}

/// A tiny deterministic PRNG (xorshift), so corpora are reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() % 1_000_000) as f64 / 1_000_000.0 * (hi - lo)
    }
}

const WORDS: &[&str] = &[
    "merry",
    "christmas",
    "happy",
    "holidays",
    "love",
    "great",
    "terrible",
    "snow",
    "family",
    "tree",
    "gifts",
    "awful",
    "wonderful",
    "cold",
    "party",
    "lights",
    "dinner",
    "tired",
    "joy",
    "sad",
    "best",
    "worst",
    "the",
    "a",
    "and",
    "with",
    "to",
    "of",
    "in",
    "my",
    "our",
    "this",
    "night",
    "morning",
    "&amp;",
    "café",
    "noël",
    "😀",
    "🎄",
    "😢",
    "❤️",
];
const TAGS: &[&str] = &["Christmas", "xmas", "Noel", "holidays", "winter", "family"];
const PLACES: &[(&str, &str, &str)] = &[
    ("London, England", "GB", "United Kingdom"),
    ("Manhattan, NY", "US", "United States"),
    ("Paris, France", "FR", "France"),
    ("Sydney, New South Wales", "AU", "Australia"),
];

/// One status of about 3 KB, shaped like the streaming API's (user object, entities, place).
fn status(rng: &mut Rng, n: u64) -> String {
    let id = 1_077_000_000_000_000_000u64 + n;
    let words: Vec<&str> = (0..(8 + rng.next() % 20))
        .map(|_| rng.pick(WORDS))
        .collect();
    let tag = rng.pick(TAGS);
    let text = format!("{} #{tag} @santa https://t.co/abc{n}", words.join(" "));
    let text_json = serde_json::to_string(&text).unwrap_or_default();
    let (place, cc, country) = PLACES[(rng.next() % PLACES.len() as u64) as usize];
    let lat = rng.float(-60.0, 70.0);
    let lon = rng.float(-170.0, 170.0);
    let with_point = !rng.next().is_multiple_of(3);
    let coords = if with_point {
        format!(r#"{{"type":"Point","coordinates":[{lon:.6},{lat:.6}]}}"#)
    } else {
        "null".into()
    };
    let geo = if with_point {
        format!(r#"{{"type":"Point","coordinates":[{lat:.6},{lon:.6}]}}"#)
    } else {
        "null".into()
    };
    let uid = 10_000 + rng.next() % 1_000_000;
    format!(
        r#"{{"created_at":"Wed Dec 25 {h:02}:{m:02}:{s:02} +0000 2019","id":{id},"id_str":"{id}","text":{text_json},"source":"<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>","truncated":false,"in_reply_to_status_id":null,"in_reply_to_status_id_str":null,"in_reply_to_user_id":null,"in_reply_to_user_id_str":null,"in_reply_to_screen_name":null,"user":{{"id":{uid},"id_str":"{uid}","name":"Elf {uid} 🎅","screen_name":"elf_{uid}","location":"North Pole","url":"https://example.com/elf/{uid}","description":"Toys, snow &amp; reindeer. Opinions my own. 🎄","translator_type":"none","protected":false,"verified":false,"followers_count":{f},"friends_count":{fr},"listed_count":3,"favourites_count":{fav},"statuses_count":{st},"created_at":"Mon Nov 02 10:00:00 +0000 2009","utc_offset":null,"time_zone":null,"geo_enabled":true,"lang":null,"contributors_enabled":false,"is_translator":false,"profile_background_color":"C0DEED","profile_background_image_url":"http://abs.twimg.com/images/themes/theme1/bg.png","profile_background_image_url_https":"https://abs.twimg.com/images/themes/theme1/bg.png","profile_background_tile":false,"profile_link_color":"1DA1F2","profile_sidebar_border_color":"C0DEED","profile_sidebar_fill_color":"DDEEF6","profile_text_color":"333333","profile_use_background_image":true,"profile_image_url":"http://pbs.twimg.com/profile_images/{uid}/elf_normal.jpg","profile_image_url_https":"https://pbs.twimg.com/profile_images/{uid}/elf_normal.jpg","profile_banner_url":"https://pbs.twimg.com/profile_banners/{uid}/1575000000","default_profile":true,"default_profile_image":false,"following":null,"follow_request_sent":null,"notifications":null}},"geo":{geo},"coordinates":{coords},"place":{{"id":"{pid:016x}","url":"https://api.twitter.com/1.1/geo/id/{pid:016x}.json","place_type":"city","name":"{pname}","full_name":"{place}","country_code":"{cc}","country":"{country}","bounding_box":{{"type":"Polygon","coordinates":[[[{w:.6},{so:.6}],[{w:.6},{no:.6}],[{e:.6},{no:.6}],[{e:.6},{so:.6}]]]}},"attributes":{{}}}},"contributors":null,"is_quote_status":false,"quote_count":0,"reply_count":{rc},"retweet_count":{rt},"favorite_count":{fc},"entities":{{"hashtags":[{{"text":"{tag}","indices":[10,20]}}],"urls":[{{"url":"https://t.co/abc{n}","expanded_url":"https://example.com/post/{n}","display_url":"example.com/post/{n}","indices":[30,53]}}],"user_mentions":[{{"screen_name":"santa","name":"Santa","id":1,"id_str":"1","indices":[22,28]}}],"symbols":[]}},"favorited":false,"retweeted":false,"possibly_sensitive":false,"filter_level":"low","lang":"en","timestamp_ms":"{ts}"}}"#,
        h = rng.next() % 24,
        m = rng.next() % 60,
        s = rng.next() % 60,
        f = rng.next() % 100_000,
        fr = rng.next() % 5_000,
        fav = rng.next() % 50_000,
        st = rng.next() % 200_000,
        pid = rng.next(),
        pname = place.split(',').next().unwrap_or(place),
        w = lon - 0.2,
        e = lon + 0.2,
        so = lat - 0.1,
        no = lat + 0.1,
        rc = rng.next() % 10,
        rt = rng.next() % 100,
        fc = rng.next() % 1000,
        ts = 1_577_232_000_000u64 + n,
    )
}

fn gen(out: &Path, mb: usize, gzip: bool) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w: Box<dyn Write> = if gzip {
        Box::new(flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(std::io::BufWriter::new(file))
    };
    let target = mb * 1024 * 1024;
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let (mut written, mut n) = (0usize, 0u64);
    while written < target {
        let s = status(&mut rng, n);
        w.write_all(s.as_bytes())?;
        w.write_all(b"\n")?;
        written += s.len() + 1;
        n += 1;
    }
    w.flush()?;
    drop(w);
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "wrote {} records, {} raw bytes to {}",
        n,
        written,
        out.display()
    )?;
    Ok(())
}

fn throughput(file: &Path, max_mb: usize) -> anyhow::Result<()> {
    let mut data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    data.truncate(max_mb * 1024 * 1024);
    // Frame once, keeping record boundaries, so each stage below can be timed on its own.
    let mut records: Vec<(usize, usize)> = Vec::new();
    let (t, c) = (Instant::now(), thread_cpu());
    {
        let mut framer = Framer::default();
        let mut rest = &data[..];
        let mut pos = 0usize;
        while !rest.is_empty() {
            let (n, ready) = framer.feed(rest);
            rest = &rest[n..];
            pos += n;
            if ready {
                let f = framer.frame();
                records.push((f.offset as usize, f.len));
            }
        }
        let _ = pos;
    }
    let frame_time = (t.elapsed(), thread_cpu().saturating_sub(c));
    let raw: usize = records.iter().map(|r| r.1).sum();
    let rec = |r: &(usize, usize)| &data[r.0..r.0 + r.1];

    // Each stage: best of three passes, timed both by the wall clock and by the CPU time this
    // thread got (the scheduler's own count), so other load on a shared machine does not
    // depress the figure: MiB/s per second of one core actually spent.
    let time_stage = |f: &mut dyn FnMut(&[u8])| -> (Duration, Duration) {
        let mut best = (Duration::MAX, Duration::MAX);
        for _ in 0..3 {
            let (t, c) = (Instant::now(), thread_cpu());
            for r in &records {
                f(rec(r));
            }
            best.0 = best.0.min(t.elapsed());
            best.1 = best.1.min(thread_cpu().saturating_sub(c));
        }
        best
    };
    let mut ok = 0usize;
    let parse = time_stage(&mut |b| {
        if sentimap_core::parse(b).is_ok() {
            ok += 1;
        }
    });
    let norm = time_stage(&mut |b| {
        let _ = normalize(b);
    });
    let score = time_stage(&mut |b| {
        if let Ok(p) = normalize(b) {
            let _ = IndexDoc::score(p);
        }
    });
    let target = IndexTarget::fixed("sentimap-posts");
    let mut bulk = BulkBuffer::with_capacity(DEFAULT_BULK_MAX_BYTES + 65536);
    let mut name = String::new();
    let mut bulk_bytes = 0usize;
    let all = time_stage(&mut |b| {
        if let Ok(p) = normalize(b) {
            let d = IndexDoc::score(p);
            target.resolve(&d.created_at, &mut name);
            bulk.push(
                &name,
                &d,
                Origin {
                    line: 0,
                    offset: 0,
                    index: 0,
                },
            );
            if bulk.len_bytes() >= DEFAULT_BULK_MAX_BYTES {
                bulk_bytes += bulk.len_bytes();
                bulk.clear();
            }
        }
    });
    // MiB (2^20 bytes) per second; a pass too short for the thread's CPU clock shows no figure.
    let mbs = |d: (Duration, Duration)| {
        let rate = |x: Duration| raw as f64 / 1_048_576.0 / x.as_secs_f64();
        let cpu = if d.1.is_zero() {
            format!("{:>8}", "-")
        } else {
            format!("{:8.1}", rate(d.1))
        };
        format!(
            "{cpu} MiB/s per CPU-second   ({:7.1} MiB/s wall)",
            rate(d.0)
        )
    };
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "corpus: {} records, {:.1} MiB raw v1.1 JSON ({} parse ok), one core",
        records.len(),
        raw as f64 / 1_048_576.0,
        ok / 3
    )?;
    writeln!(
        o,
        "framing                               {}",
        mbs(frame_time)
    )?;
    writeln!(o, "parse (JSON -> Value, core::parse)    {}", mbs(parse))?;
    writeln!(o, "normalize                             {}", mbs(norm))?;
    writeln!(o, "normalize + score                     {}", mbs(score))?;
    writeln!(
        o,
        "normalize + score + bulk-encode       {}  (bulk output {:.1} MiB/pass)",
        mbs(all),
        bulk_bytes as f64 / 3.0 / 1_048_576.0
    )?;
    Ok(())
}

/// CPU time the calling thread has run, from `/proc/thread-self/schedstat` (nanoseconds on CPU).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// Answers every bulk body with "all created", as a healthy engine would.
struct AcceptAll;
impl BulkSender for AcceptAll {
    async fn send_bulk(&self, body: &[u8]) -> Result<Answer, TransportError> {
        let n = memchr::memchr_iter(b'\n', body).count() / 2;
        let mut out = Vec::with_capacity(20 + n * 26);
        out.extend_from_slice(br#"{"errors":false,"items":["#);
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"index":{"status":201}}"#);
        }
        out.extend_from_slice(b"]}");
        Ok(Answer {
            status: 200,
            body: out,
        })
    }
}

/// Dead letters are counted, not stored (the corpus has none).
struct Discard;
impl DeadLetterStore for Discard {
    async fn put(&self, _key: &str, _body: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
    fn describe(&self, key: &str) -> String {
        key.to_owned()
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn pipeline(file: &Path) -> anyhow::Result<()> {
    let target = IndexTarget::fixed("sentimap-posts");
    let job = Job {
        sender: &AcceptAll,
        store: &Discard,
        dead_letter_prefix: "dead-letter/",
        target: &target,
        bulk_max_bytes: DEFAULT_BULK_MAX_BYTES,
        retry: RetryPolicy {
            max_retries: 0,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
        bucket: "bench",
        key: "bench",
    };
    let t = Instant::now();
    let input = sentimap_lambda::reader::open_file(file).await?;
    let c = index_stream(input, &job).await?;
    let el = t.elapsed();
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "pipeline: {} records, {} indexed, {} dead-lettered, {:.1} MiB in {:.2} s = {:.1} MiB/s; peak RSS {:.1} MiB",
        c.read,
        c.indexed,
        c.dead_lettered,
        c.bytes as f64 / 1_048_576.0,
        el.as_secs_f64(),
        c.bytes as f64 / 1_048_576.0 / el.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0
    )?;
    Ok(())
}
