//! The WebAssembly speed benchmark (not a test): the same requests through the native core and
//! through the plain module under wasmtime, as `scripts/bench-wasm` runs it (release build):
//!
//! ```text
//! cargo run --release -p sentimap-tests --bin bench-wasm -- [REQUESTS_OUT]
//! ```
//!
//! The requests are the single-line `score` and `normalize` vectors (short social posts, raw
//! posts in every format). Prints nanoseconds per request and the wasm/native speed ratio; with
//! REQUESTS_OUT, also writes the requests and the native figure as JSON for the Node half.

use std::io::Write;
use std::time::{Duration, Instant};

use sentimap_tests::vectors::{self, Vectors};
use sentimap_tests::wasm::Runner;

/// Runs `f` over all requests until at least `min` elapsed; returns nanoseconds per request.
fn time_per_request(requests: &[Vec<u8>], min: Duration, mut f: impl FnMut(&[u8]) -> usize) -> f64 {
    let mut sink = 0usize;
    // Warm-up round.
    for r in requests {
        sink = sink.wrapping_add(f(r));
    }
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < min {
        for r in requests {
            sink = sink.wrapping_add(f(r));
        }
        rounds += 1;
    }
    let ns = start.elapsed().as_nanos() as f64;
    std::hint::black_box(sink);
    ns / (rounds as f64 * requests.len() as f64)
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

fn main() -> anyhow::Result<()> {
    let path = sentimap_tests::repo_root().join(vectors::PATH);
    let v = Vectors::parse(&std::fs::read_to_string(&path)?)?;
    let min = Duration::from_secs(2);
    let mut metered = Runner::load(true)?;
    let mut free = Runner::load(false)?;
    let mut out = std::io::stdout().lock();
    let mut figures = serde_json::Map::new();
    for (name, prefix) in [
        ("score (texts)", "score/"),
        ("normalize (raw posts)", "normalize/"),
    ] {
        let requests = requests_of(&v, prefix);
        let bytes: usize = requests.iter().map(Vec::len).sum();
        let native = time_per_request(&requests, min, |r| sentimap_core::api::process(r).len());
        let wasm_fuel =
            time_per_request(&requests, min, |r| metered.call(r).map_or(0, |o| o.len()));
        let wasm = time_per_request(&requests, min, |r| free.call(r).map_or(0, |o| o.len()));
        writeln!(
            out,
            "{name}: {} requests, {:.0} bytes on average",
            requests.len(),
            bytes as f64 / requests.len() as f64
        )?;
        writeln!(out, "  native core               {native:>9.0} ns/request")?;
        writeln!(
            out,
            "  wasmtime (no fuel)        {wasm:>9.0} ns/request   speed ratio {:.2}x native",
            native / wasm
        )?;
        writeln!(out, "  wasmtime (fuel, as CLI)   {wasm_fuel:>9.0} ns/request   speed ratio {:.2}x native (target >= 0.70)", native / wasm_fuel)?;
        let reqs: Vec<String> = requests
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        figures.insert(
            name.into(),
            serde_json::json!({ "native_ns_per_request": native, "requests": reqs }),
        );
    }
    if let Some(dest) = std::env::args().nth(1) {
        std::fs::write(&dest, serde_json::to_vec(&figures)?)?;
    }
    Ok(())
}
