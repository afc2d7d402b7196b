//! Line-by-line JSONL processing: one bad line is reported and skipped, never fatal.

use std::io::{BufRead, Write};

use anyhow::Context;
use sentimap_core::{normalize, IndexDoc};
use serde::Serialize;

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

/// Reads raw posts, writes documents; blank lines are skipped silently.
pub(crate) fn normalize_stream(
    mut input: impl BufRead,
    mut out: impl Write,
    mut err: impl Write,
    post_only: bool,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut line_no = 0u64;
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
        match normalize(line) {
            Ok(post) => {
                if post_only {
                    serde_json::to_writer(&mut out, &post)?;
                } else {
                    serde_json::to_writer(&mut out, &IndexDoc::score(post))?;
                }
                out.write_all(b"\n").context("writing stdout")?;
                report.ok += 1;
            }
            Err(e) => {
                report.failed += 1;
                LineError {
                    line: line_no,
                    kind: e.kind(),
                    field: e.field(),
                    reason: e.to_string(),
                }
                .write(&mut err)
                .context("writing stderr")?;
            }
        }
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
        let report = normalize_stream(input.as_bytes(), &mut out, &mut err, true).unwrap();
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
        normalize_stream(GOOD.as_bytes(), &mut out, &mut err, false).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["id"], "x:1");
        assert!(doc["sentiment"]["label"].is_string());
        assert!(err.is_empty());
    }
}
