//! Line-by-line JSONL processing: one bad line is reported and skipped, never fatal.

use std::io::{BufRead, Write};

use anyhow::Context;
use serde::Serialize;

use crate::engine::Engine;

/// How many lines share one engine batch (one wasmtime store): bounded so a long stream does not
/// keep one instance's memory forever.
pub(crate) const LINES_PER_BATCH: u64 = 10_000;

/// Counts of one stream run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Report {
    pub ok: u64,
    pub failed: u64,
}

/// The JSON record written to stderr for a line that could not be used.
#[derive(Debug, Serialize)]
pub(crate) struct LineError<'a> {
    pub line: u64,
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
    pub reason: String,
}

impl LineError<'_> {
    pub fn write(&self, mut to: impl Write) -> anyhow::Result<()> {
        serde_json::to_writer(&mut to, self)?;
        to.write_all(b"\n")?;
        Ok(())
    }
}

/// Reads raw posts, writes documents; blank lines are skipped silently. Every line goes through
/// `engine`, so the output bytes are the same whichever engine runs.
pub(crate) fn normalize_stream(
    mut input: impl BufRead,
    mut out: impl Write,
    mut err: impl Write,
    post_only: bool,
    engine: &Engine,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut line_no = 0u64;
    let mut batch = engine.batch()?;
    let mut in_batch = 0u64;
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf).context("reading stdin")?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = trim_line(&buf);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if in_batch == LINES_PER_BATCH {
            batch = engine.batch()?;
            in_batch = 0;
        }
        in_batch += 1;
        let (kind, field, reason) = match batch.normalize(line, post_only) {
            Ok(Ok(doc)) => {
                out.write_all(&doc).context("writing stdout")?;
                out.write_all(b"\n").context("writing stdout")?;
                report.ok += 1;
                continue;
            }
            Ok(Err(e)) => (e.kind, e.field, e.reason),
            Err(trap) => {
                // The engine failed on this line (fuel or memory exhausted): report the line and
                // carry on with a fresh instance, whose state the trap cannot have touched.
                batch = engine.batch()?;
                in_batch = 0;
                ("engine".to_owned(), None, format!("{trap:#}"))
            }
        };
        report.failed += 1;
        LineError {
            line: line_no,
            kind: &kind,
            field: field.as_deref(),
            reason,
        }
        .write(&mut err)
        .context("writing stderr")?;
    }
    out.flush().context("writing stdout")?;
    Ok(report)
}

/// Strips the line ending (`\n` or `\r\n`).
pub(crate) fn trim_line(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        r#"{"data":{"id":"1","text":"Merry Christmas","created_at":"2024-12-25T08:00:00Z"}}"#;

    fn run(input: &str) -> (Report, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let report = normalize_stream(
            input.as_bytes(),
            &mut out,
            &mut err,
            true,
            &crate::engine::Engine::Native,
        )
        .unwrap();
        (
            report,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn bad_lines_are_reported_with_their_number_and_the_run_carries_on() {
        let input = format!("{GOOD}\n\nnot json\r\n{{\"data\":{{\"id\":\"2\"}}}}\n{GOOD}");
        let (report, out, err) = run(&input);
        assert_eq!(report, Report { ok: 2, failed: 2 });
        assert_eq!(out.lines().count(), 2);
        let errors: Vec<serde_json::Value> = err
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(errors[0]["line"], 3);
        assert_eq!(errors[0]["kind"], "json");
        assert_eq!(errors[1]["line"], 4);
        assert_eq!(errors[1]["kind"], "missing_field");
        assert_eq!(errors[1]["field"], "data.text");
    }

    #[test]
    fn documents_carry_the_post_and_its_sentiment() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        normalize_stream(
            GOOD.as_bytes(),
            &mut out,
            &mut err,
            false,
            &crate::engine::Engine::Native,
        )
        .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["id"], "x:1");
        assert!(doc["sentiment"]["label"].is_string());
        assert!(err.is_empty());
    }
}
