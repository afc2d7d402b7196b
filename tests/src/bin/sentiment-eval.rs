//! Prints the sentiment engine's accuracy on the labelled development data and, with `--check`,
//! fails when a target of issue 3 is missed.
//!
//!     cargo run -p sentimap-tests --release --bin sentiment-eval -- [--check] [DATA_DIR]
//!
//! DATA_DIR defaults to `../shared/data/sentiment` relative to the repository root; its README
//! describes the sets. Labels: positive above +0.05 compound, negative below -0.05 (the engine's
//! own thresholds). For VADER's ground truth the human label is the mean rating outside +-0.5.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sentimap_core::sentiment::{Label, Scorer};
use serde::Deserialize;

#[derive(Deserialize)]
struct Item {
    text: String,
    label: String,
    score: Option<f64>,
}

struct Figures {
    n: usize,
    accuracy: f64,
    macro_recall: f64,
    /// Accuracy on the positive and negative items alone, sign of the compound.
    binary_accuracy: f64,
    pearson: Option<f64>,
}

fn class(label: &str) -> Option<usize> {
    match label {
        "negative" => Some(0),
        "neutral" => Some(1),
        "positive" => Some(2),
        _ => None,
    }
}

fn evaluate(path: &Path) -> Result<Figures, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut scorer = Scorer::new();
    let mut confusion = [[0usize; 3]; 3];
    let (mut bin_ok, mut bin_n) = (0usize, 0usize);
    let mut pairs = Vec::new();
    for (no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let item: Item = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: {e}", path.display(), no + 1))?;
        let gold = class(&item.label)
            .ok_or_else(|| format!("{}:{}: bad label", path.display(), no + 1))?;
        let s = scorer.summary(&item.text, None);
        let got = match s.label {
            Label::Negative => 0,
            Label::Neutral => 1,
            Label::Positive => 2,
        };
        confusion[gold][got] += 1;
        if gold != 1 {
            bin_n += 1;
            if (gold == 2) == (s.compound > 0.0) && s.compound != 0.0 {
                bin_ok += 1;
            }
        }
        if let Some(h) = item.score {
            pairs.push((s.compound, h));
        }
    }
    let n: usize = confusion.iter().flatten().sum();
    if n == 0 {
        return Err(format!("{}: no items", path.display()));
    }
    let correct: usize = (0..3).map(|k| confusion[k][k]).sum();
    let recalls: Vec<f64> = (0..3)
        .filter(|&k| confusion[k].iter().sum::<usize>() > 0)
        .map(|k| confusion[k][k] as f64 / confusion[k].iter().sum::<usize>() as f64)
        .collect();
    Ok(Figures {
        n,
        accuracy: correct as f64 / n as f64,
        macro_recall: recalls.iter().sum::<f64>() / recalls.len() as f64,
        binary_accuracy: if bin_n == 0 {
            0.0
        } else {
            bin_ok as f64 / bin_n as f64
        },
        pearson: (pairs.len() > 1).then(|| pearson(&pairs)),
    })
}

fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// One target: set, metric name, value getter, bar.
struct Bar {
    set: &'static str,
    metric: &'static str,
    get: fn(&Figures) -> f64,
    min: f64,
}

const BARS: &[Bar] = &[
    Bar {
        set: "tweeteval_val/val.jsonl",
        metric: "macro-recall",
        get: |f| f.macro_recall,
        min: 0.64,
    },
    Bar {
        set: "vader_gt/tweets.jsonl",
        metric: "pearson-r",
        get: |f| f.pearson.unwrap_or(0.0),
        min: 0.88,
    },
    Bar {
        set: "vader_gt/tweets.jsonl",
        metric: "accuracy",
        get: |f| f.accuracy,
        min: 0.80,
    },
    Bar {
        set: "sentiment140_test/test.jsonl",
        metric: "accuracy",
        get: |f| f.accuracy,
        min: 0.74,
    },
];

const SETS: &[&str] = &[
    "tweeteval_val/val.jsonl",
    "vader_gt/tweets.jsonl",
    "sentiment140_test/test.jsonl",
    "vader_gt/amazon.jsonl",
    "vader_gt/movies.jsonl",
    "vader_gt/nyt.jsonl",
];

fn main() -> ExitCode {
    let mut check = false;
    let mut dump = false;
    let mut speed = false;
    let mut dir: Option<PathBuf> = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "--dump" => dump = true,
            "--speed" => speed = true,
            a if a.starts_with('-') => {
                eprintln!("usage: sentiment-eval [--check] [DATA_DIR]");
                return ExitCode::from(2);
            }
            a => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.unwrap_or_else(|| sentimap_tests::repo_root().join("../shared/data/sentiment"));
    let mut out = std::io::stdout().lock();
    if dump {
        return dump_items(&dir, &mut out);
    }
    if speed {
        return speed_check(&dir, &mut out);
    }
    let mut figures = Vec::new();
    let _ = writeln!(out, "sentiment evaluation on {}", dir.display());
    let _ = writeln!(
        out,
        "{:<30} {:>6} {:>9} {:>13} {:>13} {:>10}",
        "set", "n", "accuracy", "macro-recall", "pos/neg acc", "pearson-r"
    );
    for set in SETS {
        match evaluate(&dir.join(set)) {
            Ok(f) => {
                let _ = writeln!(
                    out,
                    "{:<30} {:>6} {:>9.3} {:>13.3} {:>13.3} {:>10}",
                    set,
                    f.n,
                    f.accuracy,
                    f.macro_recall,
                    f.binary_accuracy,
                    f.pearson.map_or("-".into(), |r| format!("{r:.3}"))
                );
                figures.push((*set, f));
            }
            Err(e) => {
                eprintln!("sentiment-eval: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let _ = writeln!(out, "\ntargets (issue 3):");
    let mut missed = 0;
    for bar in BARS {
        let value = figures
            .iter()
            .find(|(s, _)| *s == bar.set)
            .map_or(0.0, |(_, f)| (bar.get)(f));
        let ok = value >= bar.min;
        missed += usize::from(!ok);
        let _ = writeln!(
            out,
            "  {:<30} {:<13} {value:.3} >= {:.2}  {}",
            bar.set,
            bar.metric,
            bar.min,
            if ok { "met" } else { "MISSED" }
        );
    }
    if check && missed > 0 {
        eprintln!("sentiment-eval: {missed} target(s) missed");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `--dump`: one line per item of every set (set, gold label, compound, text), for error analysis.
fn dump_items(dir: &Path, out: &mut impl Write) -> ExitCode {
    let mut scorer = Scorer::new();
    for set in SETS {
        let Ok(text) = std::fs::read_to_string(dir.join(set)) else {
            eprintln!("sentiment-eval: cannot read {set}");
            return ExitCode::from(2);
        };
        for line in text.lines() {
            let Ok(item) = serde_json::from_str::<Item>(line) else {
                continue;
            };
            let s = scorer.summary(&item.text, None);
            let _ = writeln!(
                out,
                "{set}\t{}\t{}\t{}\t{}",
                item.label,
                item.score.map_or(String::new(), |s| s.to_string()),
                s.compound,
                item.text.replace(['\t', '\n'], " ")
            );
        }
    }
    ExitCode::SUCCESS
}

/// `--speed`: a quick single-thread throughput figure on `tweeteval_val` (the criterion benchmark
/// `cargo bench -p sentimap-core --bench sentiment` is the reference, with the VADER ratio).
fn speed_check(dir: &Path, out: &mut impl Write) -> ExitCode {
    let Ok(text) = std::fs::read_to_string(dir.join("tweeteval_val/val.jsonl")) else {
        eprintln!("sentiment-eval: cannot read tweeteval_val/val.jsonl");
        return ExitCode::from(2);
    };
    let texts: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Item>(l).ok())
        .map(|i| i.text)
        .collect();
    let mut scorer = Scorer::new();
    let mut best = 0.0f64;
    let mut total = 0u64;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_millis() < 400 {
            for t in &texts {
                std::hint::black_box(scorer.summary(std::hint::black_box(t), None));
            }
            n += texts.len() as u64;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
        total += n;
    }
    let _ = writeln!(
        out,
        "tweeteval_val: {best:.0} texts/s (Scorer::summary, one thread, best of 5; {total} texts scored)"
    );
    ExitCode::SUCCESS
}
