//! Sentiment throughput on the SemEval-2017 validation tweets (`tweeteval_val`), against the
//! `vader_sentiment` crate in the same run.
//!
//!     cargo bench -p sentimap-core --bench sentiment
//!
//! The corpus is read from `../shared/data/sentiment/tweeteval_val/val.jsonl` (relative to the
//! repository root) or from the file named by `SENTIMAP_BENCH_CORPUS`. After criterion's groups,
//! interleaved rounds timed in the thread's CPU time print texts per CPU-second of each engine and
//! their ratio (see [`ratio`]).
//!
//! For instruction counts, `SENTIMAP_BENCH_PASSES=N SENTIMAP_BENCH_MODE=summary|score|vader` skips
//! criterion and scores the corpus N times, so that a run under
//! `valgrind --tool=callgrind` with N passes minus one with 0 passes gives the instructions per
//! text (repeatable on a loaded machine, unlike wall-clock figures).
//!
//! `SENTIMAP_BENCH_STDIN=1` skips criterion and scores JSONL `{"id", "text"[, "lang"]}` from stdin
//! to stdout as `sentimap score` does (`{"id":..,` then the sentiment's fields), in this build's
//! optimised code: a speed change is checked to change no output byte by diffing two runs.

// A benchmark is not the core: it reads its corpus path from the environment and times itself.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use cpu_time::ThreadTime;

use criterion::{criterion_group, Criterion, Throughput};
use sentimap_core::sentiment::Scorer;

fn corpus() -> Vec<String> {
    let path = std::env::var_os("SENTIMAP_BENCH_CORPUS").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/data/sentiment/tweeteval_val/val.jsonl")
        },
        PathBuf::from,
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading the corpus {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = corpus();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut g = c.benchmark_group("tweeteval_val");
    g.throughput(Throughput::Elements(texts.len() as u64));
    let mut scorer = Scorer::new();
    g.bench_function("sentimap_summary", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(scorer.summary(black_box(t), None));
            }
        })
    });
    g.bench_function("sentimap_score_with_evidence", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(scorer.score(black_box(t), None));
            }
        })
    });
    let vader = vader_sentiment::SentimentIntensityAnalyzer::new();
    g.sample_size(10);
    g.bench_function("vader_sentiment_crate", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(vader.polarity_scores(black_box(t)));
            }
        })
    });
    g.finish();
    let mut g = c.benchmark_group("tweeteval_val_bytes");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("sentimap_summary", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(scorer.summary(black_box(t), None));
            }
        })
    });
    g.finish();
}

/// Texts per CPU-second of `f`: whole passes over `texts` until `budget` of this thread's CPU
/// time is spent (CPU time, not wall-clock: time the thread waits for a core is not counted).
fn rate(texts: &[String], budget: Duration, f: &mut dyn FnMut(&str)) -> f64 {
    let start = ThreadTime::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for t in texts {
            f(black_box(t));
        }
        n += texts.len() as u64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The engines in short interleaved rounds, so that a host whose speed drifts (other tenants,
/// frequency changes) slows all of them alike: each round times every engine for 0.25 s of CPU,
/// in an order that rotates from round to round. Prints each engine's median rate and the median
/// of the per-round ratios, with their range.
fn ratio() {
    const ROUNDS: usize = 12;
    let texts = corpus();
    let mut scorer = Scorer::new();
    let mut full = Scorer::new();
    let vader = vader_sentiment::SentimentIntensityAnalyzer::new();
    let budget = Duration::from_millis(250);
    let mut summary = |t: &str| {
        black_box(scorer.summary(t, None));
    };
    let mut score = |t: &str| {
        black_box(full.score(t, None));
    };
    let mut theirs = |t: &str| {
        black_box(vader.polarity_scores(t));
    };
    let mut engines: [&mut dyn FnMut(&str); 3] = [&mut summary, &mut score, &mut theirs];
    // Warm-up: caches, branch predictors and the scorers' buffers.
    for f in engines.iter_mut() {
        rate(&texts, budget, *f);
    }
    let mut rounds: Vec<[f64; 3]> = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let mut r = [0.0f64; 3];
        for k in 0..3 {
            let e = (round + k) % 3;
            r[e] = rate(&texts, budget, engines[e]);
        }
        rounds.push(r);
    }
    let column = |f: &dyn Fn(&[f64; 3]) -> f64| -> Vec<f64> { rounds.iter().map(f).collect() };
    let mut ours = column(&|r| r[0]);
    let mut ours_full = column(&|r| r[1]);
    let mut vader_rates = column(&|r| r[2]);
    let mut ratio_summary = column(&|r| r[0] / r[2]);
    let mut ratio_score = column(&|r| r[1] / r[2]);
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{lo:.1}x to {hi:.1}x")
    };
    let (summary_range, score_range) = (range(&ratio_summary), range(&ratio_score));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\ntweeteval_val ({} texts), one thread, texts per CPU-second, median of {ROUNDS} interleaved rounds:\n  sentimap summary           {:>12.0} texts/s\n  sentimap score + evidence  {:>12.0} texts/s\n  vader_sentiment crate      {:>12.0} texts/s\n  ratio (summary / vader)    {:>12.1}x   (rounds: {summary_range})\n  ratio (score / vader)      {:>12.1}x   (rounds: {score_range})",
        texts.len(),
        median(&mut ours),
        median(&mut ours_full),
        median(&mut vader_rates),
        median(&mut ratio_summary),
        median(&mut ratio_score),
    );
}

criterion_group!(benches, bench);

/// `SENTIMAP_BENCH_PASSES` passes of one engine over the corpus, nothing else (for callgrind).
fn passes(n: &str) {
    let n: usize = n
        .parse()
        .unwrap_or_else(|e| panic!("SENTIMAP_BENCH_PASSES={n}: {e}"));
    let mode = std::env::var("SENTIMAP_BENCH_MODE").unwrap_or_else(|_| "summary".into());
    let texts = corpus();
    let mut scorer = Scorer::new();
    // Built only in vader mode: building it costs more than all the rest of a 0-pass run.
    let vader = (mode == "vader").then(vader_sentiment::SentimentIntensityAnalyzer::new);
    for _ in 0..n {
        for t in &texts {
            match mode.as_str() {
                "score" => {
                    black_box(scorer.score(black_box(t), None));
                }
                "vader" => {
                    if let Some(v) = &vader {
                        black_box(v.polarity_scores(black_box(t)));
                    }
                }
                _ => {
                    black_box(scorer.summary(black_box(t), None));
                }
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{mode}: {n} passes over {} texts", texts.len());
}

/// `SENTIMAP_BENCH_STDIN`: every input line's full score, serialised.
fn score_stdin() {
    use std::io::BufRead;
    let mut scorer = Scorer::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("reading stdin");
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        let s = scorer.score(v["text"].as_str().unwrap_or_default(), v["lang"].as_str());
        let body = serde_json::to_string(&s).expect("serialisable");
        let id = serde_json::to_string(&v["id"]).expect("serialisable");
        writeln!(out, "{{\"id\":{id},{}", &body[1..]).expect("writing stdout");
    }
}

fn main() {
    if std::env::var_os("SENTIMAP_BENCH_STDIN").is_some() {
        score_stdin();
        return;
    }
    if let Ok(n) = std::env::var("SENTIMAP_BENCH_PASSES") {
        passes(&n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio();
}
