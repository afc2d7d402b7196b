//! The dead-letter file: one JSON line per record that could not be used or delivered, with the
//! reason, so nothing is dropped silently.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::Serialize;

/// Appends dead letters to a JSONL file, created on the first one.
#[derive(Debug)]
pub struct DeadLetter {
    path: PathBuf,
    file: Mutex<Option<BufWriter<File>>>,
}

#[derive(Serialize)]
struct Line<'a> {
    /// `invalid` (the core could not read it), `too_large` or `undeliverable`.
    stage: &'a str,
    /// Stable reason name (core error kind, Firehose error code).
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    reason: &'a str,
    /// The raw record, as text when it is UTF-8, else lossily decoded.
    record: std::borrow::Cow<'a, str>,
}

impl DeadLetter {
    /// A dead-letter file at `path` (not created until needed).
    pub fn new(path: &Path) -> Self {
        DeadLetter {
            path: path.to_owned(),
            file: Mutex::new(None),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one record and flushes, so a crash right after keeps it.
    pub fn write(
        &self,
        stage: &str,
        kind: &str,
        field: Option<&str>,
        reason: &str,
        record: &[u8],
    ) -> anyhow::Result<()> {
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        let line = Line {
            stage,
            kind,
            field,
            reason,
            record: String::from_utf8_lossy(record),
        };
        let mut guard = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("dead-letter lock poisoned"))?;
        if guard.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .with_context(|| format!("opening dead-letter file {}", self.path.display()))?;
            *guard = Some(BufWriter::new(f));
        }
        if let Some(w) = guard.as_mut() {
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n")?;
            w.flush()
                .with_context(|| format!("writing {}", self.path.display()))?;
        }
        Ok(())
    }
}
