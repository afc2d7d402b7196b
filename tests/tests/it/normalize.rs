//! Golden tests for normalisation: every input format and every error kind.
//!
//! Each fixture line (hand-written after the public API documentation) gives one output line:
//! `{"line":N,"post":{...}}` or `{"line":N,"error":{"kind","field","message"}}`.

use sentimap_core::{
    normalize, normalize_value, parse, BBox, Error, Filter, FilterConfig, MAX_RAW_POST_BYTES,
};
use sentimap_tests::{golden, repo_root};
use serde_json::{json, Value};

fn outcome(line: usize, raw: &[u8]) -> Value {
    match normalize(raw) {
        Ok(post) => json!({ "line": line, "post": post }),
        Err(e) => error_json(line, &e),
    }
}

fn error_json(line: usize, e: &Error) -> Value {
    json!({ "line": line, "error": { "kind": e.kind(), "field": e.field(), "message": e.to_string() } })
}

fn fixture_lines(name: &str) -> Vec<Vec<u8>> {
    let path = repo_root().join("tests/fixtures/normalize").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn render(outcomes: impl IntoIterator<Item = Value>) -> String {
    outcomes
        .into_iter()
        .map(|v| serde_json::to_string(&v).unwrap() + "\n")
        .collect()
}

fn check_fixture(name: &str) -> String {
    let lines = fixture_lines(&format!("{name}.jsonl"));
    let out = render(lines.iter().enumerate().map(|(i, raw)| outcome(i + 1, raw)));
    golden::check(&format!("tests/golden/normalize/{name}.jsonl"), &out);
    out
}

#[test]
fn x_v1_statuses() {
    let out = check_fixture("x_v1");
    assert!(
        !out.contains("\"error\""),
        "every v1.1 fixture is valid:\n{out}"
    );
}

#[test]
fn x_v2_stream_messages() {
    let out = check_fixture("x_v2");
    assert!(
        !out.contains("\"error\""),
        "every v2 fixture is valid:\n{out}"
    );
}

#[test]
fn bluesky_jetstream_commits() {
    let out = check_fixture("jetstream");
    assert!(
        !out.contains("\"error\""),
        "every Jetstream fixture is valid:\n{out}"
    );
}

/// The error cases that cannot live in a text fixture: invalid UTF-8 and oversize input.
fn generated_error_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut bad_utf8 = br#"{"id_str":"1","text":"caf"#.to_vec();
    bad_utf8.extend_from_slice(&[0xC3, 0x28]);
    bad_utf8.extend_from_slice(br#"","created_at":"Wed Dec 25 09:15:02 +0000 2024"}"#);
    let mut huge =
        br#"{"id_str":"1","created_at":"Wed Dec 25 09:15:02 +0000 2024","text":""#.to_vec();
    huge.resize(MAX_RAW_POST_BYTES + 1, b'a');
    huge.extend_from_slice(br#""}"#);
    vec![
        ("invalid UTF-8", bad_utf8),
        ("one byte over the limit", huge),
    ]
}

#[test]
fn every_error_kind() {
    let lines = fixture_lines("errors.jsonl");
    let mut outcomes: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, raw)| outcome(i + 1, raw))
        .collect();
    for (i, (_, raw)) in generated_error_cases().iter().enumerate() {
        outcomes.push(outcome(lines.len() + i + 1, raw));
    }
    // Configuration errors come from the filters, not from posts.
    let config_errors = [
        "1,2,3".parse::<BBox>().err(),
        "-181,0,10,10".parse::<BBox>().err(),
        "0,20,10,10".parse::<BBox>().err(),
        Filter::new(&FilterConfig {
            keywords: vec!["  ".into()],
            ..FilterConfig::default()
        })
        .err(),
        Filter::new(&FilterConfig {
            languages: vec!["e1".into()],
            ..FilterConfig::default()
        })
        .err(),
    ];
    let base = outcomes.len();
    for (i, e) in config_errors.iter().enumerate() {
        let e = e.as_ref().expect("a config error");
        outcomes.push(error_json(base + i + 1, e));
    }
    for o in &outcomes {
        assert!(o.get("error").is_some(), "every error case fails: {o}");
    }
    let out = render(outcomes.clone());
    golden::check("tests/golden/normalize/errors.jsonl", &out);

    let kinds: std::collections::BTreeSet<&str> = outcomes
        .iter()
        .filter_map(|o| o["error"]["kind"].as_str())
        .collect();
    for kind in [
        "json",
        "utf8",
        "too_large",
        "unsupported_shape",
        "missing_field",
        "wrong_type",
        "invalid_value",
        "config",
    ] {
        assert!(kinds.contains(kind), "no golden case for error kind {kind}");
    }
}

/// Mutates every fixture byte-wise with a fixed-seed generator: normalisation must return a value
/// or an error, never panic, and the pruning parser must agree with a full parse.
#[test]
fn no_panic_on_mutated_input() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut inputs = Vec::new();
    for name in [
        "x_v1.jsonl",
        "x_v2.jsonl",
        "jetstream.jsonl",
        "errors.jsonl",
    ] {
        inputs.extend(fixture_lines(name));
    }
    let interesting: &[u8] = b"{}[]\":,0-9.e\\null";
    let mut runs = 0;
    for base in &inputs {
        for _ in 0..300 {
            let mut m = base.clone();
            for _ in 0..=(next() % 4) {
                let pos = (next() as usize) % m.len().max(1);
                match next() % 4 {
                    0 if !m.is_empty() => {
                        m[pos] = interesting[(next() as usize) % interesting.len()]
                    }
                    1 if !m.is_empty() => {
                        m.remove(pos);
                    }
                    2 => m.insert(pos.min(m.len()), (next() & 0xFF) as u8),
                    _ => m.truncate(pos),
                }
            }
            let fast = normalize(&m);
            let full = parse(&m).and_then(|v| normalize_value(&v));
            match (&fast, &full) {
                // serde_json's skipping path words some syntax errors differently ("expected value"
                // for "trailing comma") and may place them a column apart: both must be JSON errors.
                (Err(Error::Json { .. }), Err(Error::Json { .. })) => {}
                _ => assert_eq!(
                    fast,
                    full,
                    "pruned and full parse differ on {:?}",
                    String::from_utf8_lossy(&m)
                ),
            }
            runs += 1;
        }
    }
    assert!(runs > 10_000, "ran {runs} mutations");
}
