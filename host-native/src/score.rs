//! `sentimap score`: sentiment of JSONL `{"id", "text"[, "lang"]}` lines, or of plain text lines
//! with `--text`. One output line per usable input line; a bad line is reported on stderr as a
//! JSON record with its line number and skipped.

use std::io::{BufRead, Write};

use anyhow::Context;
use serde_json::Value;

use crate::engine::Engine;
use crate::jsonl::{trim_line, LineError, Report, LINES_PER_BATCH};

/// Writes one output line: the input's id, then every field of the engine's sentiment object
/// (`{"id":<id>,"label":...}`), spliced so both engines' bytes pass through unchanged.
fn write_scored(mut out: impl Write, id: &Value, sentiment_json: &[u8]) -> anyhow::Result<()> {
    let fields = sentiment_json
        .strip_prefix(b"{")
        .context("the engine's sentiment is not a JSON object")?;
    out.write_all(b"{\"id\":")?;
    serde_json::to_writer(&mut out, id)?;
    if fields != b"}" {
        out.write_all(b",")?;
    }
    out.write_all(fields)?;
    out.write_all(b"\n").context("writing stdout")?;
    Ok(())
}

/// How input lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input<'a> {
    /// JSONL objects with `id`, `text` and an optional `lang`.
    Jsonl,
    /// Plain text, one text per line; the id is the line number; `lang` applies to all.
    Text { lang: Option<&'a str> },
}

/// Scores every line of `input`; blank lines are skipped silently.
pub(crate) fn score_stream(
    mut input: impl BufRead,
    mut out: impl Write,
    mut err: impl Write,
    mode: Input<'_>,
    engine: &Engine,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut batch = engine.batch()?;
    let mut in_batch = 0u64;
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
        let parsed = match mode {
            Input::Jsonl => parse_jsonl(line).map(|(id, text, lang)| (id, text.into_bytes(), lang)),
            Input::Text { lang } => match std::str::from_utf8(line) {
                Ok(_) => Ok((Value::from(line_no), line.to_vec(), lang.map(str::to_owned))),
                Err(e) => Err(Bad::new("encoding", None, format!("not UTF-8: {e}"))),
            },
        };
        let bad = match parsed {
            Ok((id, text, lang)) => {
                if in_batch == LINES_PER_BATCH {
                    batch = engine.batch()?;
                    in_batch = 0;
                }
                in_batch += 1;
                match batch.score(&text, lang.as_deref()) {
                    Ok(Ok(sentiment)) => {
                        write_scored(&mut out, &id, &sentiment)?;
                        report.ok += 1;
                        continue;
                    }
                    Ok(Err(e)) => (e.kind, e.field, e.reason),
                    Err(trap) => {
                        // The engine failed on this text (fuel or memory exhausted): report it
                        // and go on with a fresh instance.
                        batch = engine.batch()?;
                        in_batch = 0;
                        ("engine".to_owned(), None, format!("{trap:#}"))
                    }
                }
            }
            Err(bad) => (
                bad.kind.to_owned(),
                bad.field.map(str::to_owned),
                bad.reason,
            ),
        };
        report.failed += 1;
        LineError {
            line: line_no,
            kind: &bad.0,
            field: bad.1.as_deref(),
            reason: bad.2,
        }
        .write(&mut err)
        .context("writing stderr")?;
    }
    out.flush().context("writing stdout")?;
    Ok(report)
}

/// Why a line could not be scored.
#[derive(Debug)]
struct Bad {
    kind: &'static str,
    field: Option<&'static str>,
    reason: String,
}

impl Bad {
    fn new(kind: &'static str, field: Option<&'static str>, reason: String) -> Self {
        Bad {
            kind,
            field,
            reason,
        }
    }
}

/// `(id, text, lang)` of a JSONL line.
fn parse_jsonl(line: &[u8]) -> Result<(Value, String, Option<String>), Bad> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| Bad::new("json", None, format!("invalid JSON: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(Bad::new("json", None, "not a JSON object".into()));
    };
    let id = match obj.remove("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id,
        Some(_) => {
            return Err(Bad::new(
                "bad_field",
                Some("id"),
                "id must be a string or a number".into(),
            ))
        }
        None => return Err(Bad::new("missing_field", Some("id"), "no id".into())),
    };
    let text = match obj.remove("text") {
        Some(Value::String(t)) => t,
        Some(_) => {
            return Err(Bad::new(
                "bad_field",
                Some("text"),
                "text must be a string".into(),
            ))
        }
        None => return Err(Bad::new("missing_field", Some("text"), "no text".into())),
    };
    let lang = match obj.remove("lang") {
        Some(Value::String(l)) => Some(l),
        Some(Value::Null) | None => None,
        Some(_) => {
            return Err(Bad::new(
                "bad_field",
                Some("lang"),
                "lang must be a string".into(),
            ))
        }
    };
    Ok((id, text, lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str, mode: Input<'_>) -> (Vec<Value>, Vec<Value>, Report) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let report =
            score_stream(input.as_bytes(), &mut out, &mut err, mode, &Engine::Native).unwrap();
        let parse = |b: &[u8]| -> Vec<Value> {
            String::from_utf8(b.to_vec())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        (parse(&out), parse(&err), report)
    }

    #[test]
    fn scores_jsonl_and_reports_bad_lines() {
        let input = concat!(
            "{\"id\":\"a\",\"text\":\"I love this :)\"}\n",
            "not json\n",
            "\n",
            "{\"id\":7,\"text\":\"worst day ever\",\"lang\":\"en\"}\n",
            "{\"text\":\"no id\"}\n",
            "{\"id\":\"b\",\"text\":\"c'est nul :(\",\"lang\":\"fr\"}\r\n",
        );
        let (out, err, report) = run(input, Input::Jsonl);
        assert_eq!(report, Report { ok: 3, failed: 2 });
        assert_eq!(out[0]["id"], "a");
        assert_eq!(out[0]["label"], "positive");
        assert_eq!(out[1]["id"], 7);
        assert_eq!(out[1]["label"], "negative");
        assert_eq!(out[2]["lexicon_applied"], false);
        assert_eq!(out[2]["method"], "emoticon");
        assert!(out[0]["compound"].as_f64().unwrap() > 0.0);
        assert_eq!(err[0]["line"], 2);
        assert_eq!(err[0]["kind"], "json");
        assert_eq!(err[1]["line"], 5);
        assert_eq!(err[1]["field"], "id");
    }

    #[test]
    fn scores_text_lines() {
        let (out, err, report) = run("great game!\nmeh\n", Input::Text { lang: None });
        assert_eq!(report, Report { ok: 2, failed: 0 });
        assert!(err.is_empty());
        assert_eq!(out[0]["id"], 1);
        assert_eq!(out[0]["label"], "positive");
        assert_eq!(out[1]["id"], 2);
    }

    #[test]
    fn invalid_utf8_text_is_reported() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let input: &[u8] = b"ok\n\xff\xfe\n";
        let report = score_stream(
            input,
            &mut out,
            &mut err,
            Input::Text { lang: None },
            &Engine::Native,
        )
        .unwrap();
        assert_eq!(report, Report { ok: 1, failed: 1 });
        assert!(String::from_utf8(err).unwrap().contains("\"line\":2"));
    }
}
