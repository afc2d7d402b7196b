//! The WebAssembly speed benchmark (not a test): the same requests through the native core and
//! through the plain module under wasmtime, as `scripts/bench-wasm` runs it (release build):
//!
//! ```text
//! cargo run --release -p sentimap-tests --bin bench-wasm -- [REQUESTS_OUT]
//! ```
//!
//! The requests are the tweets of `tweeteval_val` (the sentiment benchmark's texts, from
//! `../shared/data/sentiment`), one per call and as `score_batch` requests of [`BATCH`] texts,
//! which is how a host scores many texts (one crossing into the module per batch instead of per
//! text); then the single-line `score` and `normalize` vectors (edge cases: a few emoji or words,
//! 20 bytes of text on average, so the fixed cost of a call dominates; raw posts in every format),
//! the same way. The module is called through its own buffers (one call into it per request), and
//! for comparison through `alloc`/`process`/`dealloc` (ABI version 1, four calls per request).
//! The engines take turns in [`ROUNDS`] interleaved rounds of [`SLICE`] of this thread's CPU time
//! each, after a warm-up of [`WARM_UP`] (JIT tiers settled), so a host whose speed drifts slows
//! them alike. Prints each engine's median CPU time per request and the median of its per-round
//! speed ratios to native, with their range; with REQUESTS_OUT, also writes the requests as JSON
//! for the Node half (which times native beside itself with `native-round`, below).
//!
//! For instruction counts, `bench-wasm calls ENGINE N REQUEST` answers REQUEST (`\n` escapes
//! read as newlines) N times through ENGINE (`native`, `wasm`, `wasm-v1` or `wasm-fuel`) inside the one
//! function `run_calls`, so callgrind can count just those calls, without start-up or compilation:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='*run_calls*' target/release/bench-wasm \
//!     calls wasm 1000 '{"v":1,"op":"score"}\n'
//! ```
//!
//! (instructions per request = the total over N, after a warm-up call outside the count). A
//! REQUEST of `tweets` stands for all of `tweeteval_val`'s tweets as `score` requests: N passes
//! over them (instructions per tweet = the total over N x 2,000); `vectors` for the benchmark's
//! vector texts (the single-line `score` vectors), N passes over them.
//!
//! To compare two builds of the module (a change to the core, its build flags, wasm-opt's), set
//! `SENTIMAP_WASM_MODULE_B` to the second: each group then times native, the module and module B
//! in the same interleaved rounds (no v1 or fuel rows), so both face the same host.
//!
//! For the Node half, `bench-wasm native-round REQUESTS GROUP` times one round of the native core
//! on one group of the requests file this binary wrote ([`SLICE`] of CPU time after a short
//! warm-up) and prints its nanoseconds per request: Node's rounds take turns with native rounds
//! as the engines here do, so a host whose speed drifts during the run slows both sides alike.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use cpu_time::ThreadTime;

use sentimap_tests::vectors::{self, Vectors};
use sentimap_tests::wasm::Runner;

/// Texts per `score_batch` request.
const BATCH: usize = 64;

/// One way of answering a request, borrowed for a timing: returns the result's length.
type Engine<'a> = &'a mut dyn FnMut(&[u8]) -> usize;

/// CPU time each engine runs the requests before the rounds (JIT tiers, caches, buffers).
const WARM_UP: Duration = Duration::from_millis(500);

/// Interleaved rounds per group of requests, and each engine's CPU time per round.
const ROUNDS: usize = 9;
const SLICE: Duration = Duration::from_millis(250);

/// Runs `f` over all requests until `budget` of this thread's CPU time is spent (time the thread
/// waits for a core is not counted); returns nanoseconds of CPU time per request.
fn time_per_request(requests: &[Vec<u8>], budget: Duration, f: Engine<'_>) -> f64 {
    let mut sink = 0usize;
    let start = ThreadTime::now();
    let mut passes = 0u64;
    let spent = loop {
        for r in requests {
            sink = sink.wrapping_add(f(r));
        }
        passes += 1;
        let spent = start.elapsed();
        if spent >= budget {
            break spent;
        }
    };
    std::hint::black_box(sink);
    spent.as_nanos() as f64 / (passes as f64 * requests.len() as f64)
}

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One engine's figures over the rounds: the median CPU time per request, and the median and
/// range of its per-round speed ratio to native (native's time in the same round / its own).
struct Figures {
    ns: f64,
    ratio: f64,
    low: f64,
    high: f64,
}

/// Times the engines in [`ROUNDS`] interleaved rounds, so that a host whose speed drifts (other
/// tenants, frequency changes) slows all of them alike: each round runs every engine for [`SLICE`]
/// of CPU time, in an order that rotates from round to round. `engines[0]` is native.
fn interleaved(requests: &[Vec<u8>], engines: &mut [Engine<'_>]) -> Vec<Figures> {
    for f in engines.iter_mut() {
        time_per_request(requests, WARM_UP, *f);
    }
    let n = engines.len();
    // Per round, each engine's time.
    let mut rounds = vec![vec![0.0; n]; ROUNDS];
    for (round, times) in rounds.iter_mut().enumerate() {
        for k in 0..n {
            let e = (round + k) % n;
            times[e] = time_per_request(requests, SLICE, engines[e]);
        }
    }
    (0..n)
        .map(|e| {
            let mut times: Vec<f64> = rounds.iter().map(|r| r[e]).collect();
            let mut ratios: Vec<f64> = rounds.iter().map(|r| r[0] / r[e]).collect();
            let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Figures {
                ns: median(&mut times),
                ratio: median(&mut ratios),
                low,
                high,
            }
        })
        .collect()
}

/// The committed vector file.
fn read_vectors() -> anyhow::Result<Vectors> {
    let path = sentimap_tests::repo_root().join(vectors::PATH);
    Ok(Vectors::parse(&std::fs::read_to_string(&path)?)?)
}

/// The single-line vectors of one op, as requests.
fn requests_of(v: &Vectors, prefix: &str) -> Vec<Vec<u8>> {
    v.cases
        .iter()
        .filter(|c| c.name.starts_with(prefix))
        .filter_map(|c| c.req.as_ref())
        .filter(|r| r.matches('\n').count() == 1)
        .map(|r| r.as_bytes().to_vec())
        .collect()
}

/// `tweeteval_val`'s texts as `score` requests.
fn tweet_requests() -> anyhow::Result<Vec<Vec<u8>>> {
    let path = sentimap_tests::repo_root().join("../shared/data/sentiment/tweeteval_val/val.jsonl");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let mut requests = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let text = v["text"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("{}: a line without text", path.display()))?;
        let mut req = br#"{"v":1,"op":"score"}"#.to_vec();
        req.push(b'\n');
        req.extend_from_slice(text.as_bytes());
        requests.push(req);
    }
    Ok(requests)
}

/// The `score` requests' texts (with their language, if the header gave one) as `score_batch`
/// requests of [`BATCH`] items.
fn batches_of(score_requests: &[Vec<u8>]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut items = Vec::new();
    for r in score_requests {
        let text = std::str::from_utf8(r)?;
        let (header, body) = text.split_once('\n').unwrap_or((text, ""));
        let header: serde_json::Value = serde_json::from_str(header)?;
        items.push(serde_json::json!({ "text": body, "lang": header.get("lang") }));
    }
    items
        .chunks(BATCH)
        .map(|chunk| {
            let mut req = br#"{"v":1,"op":"score_batch"}"#.to_vec();
            req.push(b'\n');
            serde_json::to_writer(&mut req, chunk)?;
            Ok(req)
        })
        .collect()
}

/// One way of answering a request, returning the result's length.
type Call = Box<dyn FnMut(&[u8]) -> usize>;

/// Answers `requests` `n` times over: the only function callgrind counts (`--toggle-collect`).
#[inline(never)]
fn run_calls(n: u64, requests: &[Vec<u8>], call: &mut dyn FnMut(&[u8]) -> usize) -> usize {
    let mut sink = 0usize;
    for _ in 0..n {
        for r in requests {
            sink = sink.wrapping_add(call(std::hint::black_box(r)));
        }
    }
    sink
}

/// A native round's warm-up in a fresh process (the scorer's buffers, caches).
const NATIVE_ROUND_WARM_UP: Duration = Duration::from_millis(50);

/// `native-round REQUESTS GROUP`: see the crate documentation.
fn native_round(args: &[String]) -> anyhow::Result<()> {
    let [path, group] = args else {
        anyhow::bail!("usage: bench-wasm native-round REQUESTS_JSON GROUP");
    };
    let figures: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let requests: Vec<Vec<u8>> = figures[group.as_str()]["requests"]
        .as_array()
        .with_context(|| format!("no group {group:?} in {path}"))?
        .iter()
        .filter_map(|r| r.as_str().map(|s| s.as_bytes().to_vec()))
        .collect();
    let mut native = |r: &[u8]| sentimap_core::api::process(r).len();
    time_per_request(&requests, NATIVE_ROUND_WARM_UP, &mut native);
    let ns = time_per_request(&requests, SLICE, &mut native);
    writeln!(std::io::stdout(), "{ns}")?;
    Ok(())
}

/// `calls ENGINE N REQUEST`: see the crate documentation.
fn calls(args: &[String]) -> anyhow::Result<()> {
    let [engine, n, request] = args else {
        anyhow::bail!("usage: bench-wasm calls native|wasm|wasm-v1|wasm-fuel N REQUEST");
    };
    let n: u64 = n.parse()?;
    let requests = match request.as_str() {
        "tweets" => tweet_requests()?,
        "vectors" => requests_of(&read_vectors()?, "score/"),
        _ => vec![request.replace("\\n", "\n").into_bytes()],
    };
    let mut call: Call = match engine.as_str() {
        "native" => Box::new(|r: &[u8]| sentimap_core::api::process(r).len()),
        "wasm" | "wasm-fuel" => {
            let mut runner = Runner::load(engine == "wasm-fuel")?;
            Box::new(move |r: &[u8]| runner.call(r).map_or(0, |o| o.len()))
        }
        "wasm-v1" => {
            let mut runner = Runner::load(false)?;
            Box::new(move |r: &[u8]| runner.call_v1(r).map_or(0, |o| o.len()))
        }
        other => anyhow::bail!("unknown engine {other}: native, wasm, wasm-v1 or wasm-fuel"),
    };
    // One pass before counting: lazy set-up (the scorer's buffers, the first memory growth).
    let first: usize = requests.iter().map(|r| call(r)).sum();
    let sink = run_calls(n, &requests, &mut *call);
    writeln!(
        std::io::stdout(),
        "{n} passes over {} requests, {first} bytes of results per pass ({sink})",
        requests.len()
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("calls") => return calls(&args[1..]),
        Some("native-round") => return native_round(&args[1..]),
        _ => {}
    }
    let v = read_vectors()?;
    let mut metered = Runner::load(true)?;
    let mut free = Runner::load(false)?;
    let mut free_v1 = Runner::load(false)?;
    let mut other = match std::env::var_os("SENTIMAP_WASM_MODULE_B") {
        Some(path) => Some(Runner::load_from(std::path::Path::new(&path), false)?),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    let mut figures = serde_json::Map::new();
    let score_requests = requests_of(&v, "score/");
    let tweets = tweet_requests()?;
    let groups = [
        (
            "score (tweeteval_val tweets, one per call)",
            tweets.clone(),
            1,
        ),
        (
            "score_batch (the same tweets, 64 per call)",
            batches_of(&tweets)?,
            BATCH,
        ),
        (
            "score (vector texts, one per call)",
            score_requests.clone(),
            1,
        ),
        (
            "score_batch (the same vector texts, 64 per call)",
            batches_of(&score_requests)?,
            BATCH,
        ),
        ("normalize (raw posts)", requests_of(&v, "normalize/"), 1),
    ];
    for (name, requests, texts) in &groups {
        let requests = requests.as_slice();
        let bytes: usize = requests.iter().map(Vec::len).sum();
        let unit = if *texts > 1 { "text" } else { "request" };
        let per = |ns: f64| ns / *texts as f64;
        let reqs: Vec<String> = requests
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        figures.insert(
            (*name).into(),
            serde_json::json!({ "texts_per_request": texts, "requests": reqs }),
        );
        // Native first, then the engines compared with it, each with its label and note. With a
        // module B (A/B of two builds), the two modules only: the fuel and v1 rows would double
        // the run.
        let mut native = |r: &[u8]| sentimap_core::api::process(r).len();
        let mut wasm = |r: &[u8]| free.call(r).map_or(0, |o| o.len());
        let mut wasm_b = other
            .as_mut()
            .map(|b| move |r: &[u8]| b.call(r).map_or(0, |o| o.len()));
        let mut wasm_v1 = |r: &[u8]| free_v1.call_v1(r).map_or(0, |o| o.len());
        let mut wasm_fuel = |r: &[u8]| metered.call(r).map_or(0, |o| o.len());
        let mut engines: Vec<Engine<'_>> = vec![&mut native, &mut wasm];
        let mut rows = vec![("wasmtime", "target >= 0.70")];
        match wasm_b.as_mut() {
            Some(b) => {
                engines.push(b);
                rows.push(("wasmtime, module B", "SENTIMAP_WASM_MODULE_B"));
            }
            None => {
                engines.extend([&mut wasm_v1 as Engine<'_>, &mut wasm_fuel]);
                rows.extend([
                    ("wasmtime, v1 calls", "alloc/process/dealloc"),
                    ("wasmtime, fuel metered", "the CLI's limits"),
                ]);
            }
        }
        let timed = interleaved(requests, &mut engines);
        let native = &timed[0];
        writeln!(
            out,
            "{name}: {} requests, {:.0} bytes on average",
            requests.len(),
            bytes as f64 / requests.len() as f64
        )?;
        writeln!(
            out,
            "  native core               {:>9.0} ns/{unit}",
            per(native.ns)
        )?;
        for ((label, note), f) in rows.iter().zip(&timed[1..]) {
            writeln!(
                out,
                "  {label:<24}{:>9.0} ns/{unit}   speed ratio {:.2}x native (rounds {:.2}-{:.2}; {note})",
                per(f.ns),
                f.ratio,
                f.low,
                f.high,
            )?;
        }
    }
    if let Some(dest) = std::env::args().nth(1) {
        std::fs::write(&dest, serde_json::to_vec(&figures)?)?;
    }
    Ok(())
}
