//! Cross-runtime vectors: the committed file is up to date, and the native core and the plain
//! module under wasmtime (both ways of calling it) give its results byte for byte. (Node,
//! Chromium, Python, Go and Java run the same file from scripts/test.d/30-wasm.sh.)

use sentimap_tests::vectors::{self, Vectors};
use sentimap_tests::{golden, repo_root, wasm};

fn committed() -> Vectors {
    let path = repo_root().join(vectors::PATH);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (write it: cargo run -p sentimap-tests --bin gen-vectors)",
            path.display()
        )
    });
    Vectors::parse(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Fails when the core's output changed and the file was not regenerated (BLESS=1 rewrites it).
#[test]
fn vector_file_is_fresh() {
    let fresh = vectors::generate();
    assert!(fresh.count >= 500, "only {} vectors", fresh.count);
    golden::check(vectors::PATH, &fresh.to_text());
}

#[test]
fn native_core_matches_vectors() {
    let v = committed();
    assert_eq!(v.count, v.cases.len());
    let failures: Vec<String> = v
        .cases
        .iter()
        .filter_map(|c| c.check(&sentimap_core::api::process(&c.request())).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every vector through the module's own buffers (ABI version 2, and version 3's 32-bit form) and
/// through alloc/process/dealloc (version 1), in one instance, alternating between them.
#[test]
fn wasmtime_module_matches_vectors() {
    let v = committed();
    let mut runner = wasm::Runner::load(true).unwrap_or_else(|e| panic!("{e:#}"));
    let mut failures = Vec::new();
    for case in &v.cases {
        let request = case.request();
        let out = runner
            .call(&request)
            .unwrap_or_else(|e| panic!("case {}: the module trapped: {e:#}", case.name));
        if let Err(m) = case.check(&out) {
            failures.push(m);
        }
        let out = runner
            .call_v3(&request)
            .unwrap_or_else(|e| panic!("case {} (v3): the module trapped: {e:#}", case.name));
        if let Err(m) = case.check(&out) {
            failures.push(format!("(process_buffer_len/result_buffer) {m}"));
        }
        let out = runner
            .call_v1(&request)
            .unwrap_or_else(|e| panic!("case {} (v1): the module trapped: {e:#}", case.name));
        if let Err(m) = case.check(&out) {
            failures.push(format!("(alloc/process) {m}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
