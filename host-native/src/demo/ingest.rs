//! The demo's stand-in for S3 notifications: watch the local Firehose-layout directory, run the
//! indexer's code path on each new object once, and remember which objects are done so a rerun
//! continues where the last one stopped.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sentimap_core::{normalize, IndexDoc};
use sentimap_store::Store;
use serde::Serialize;

/// Documents per store write.
const INDEX_BATCH: usize = 1_000;

/// Counts since the demo started.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IngestStats {
    pub objects: u64,
    pub indexed: u64,
    pub dead_lettered: u64,
}

/// The ledger of processed objects (one relative key per line, appended after indexing).
#[derive(Debug)]
pub(crate) struct Ledger {
    path: PathBuf,
    done: HashSet<String>,
}

impl Ledger {
    pub(crate) fn open(path: PathBuf) -> anyhow::Result<Ledger> {
        let mut done = HashSet::new();
        match File::open(&path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line.with_context(|| format!("reading {}", path.display()))?;
                    if !line.is_empty() {
                        done.insert(line);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        }
        Ok(Ledger { path, done })
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.done.contains(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.done.len()
    }

    fn mark(&mut self, key: &str) -> anyhow::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        writeln!(f, "{key}")
            .and_then(|()| f.sync_data())
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.done.insert(key.to_string());
        Ok(())
    }
}

/// Every object under `root`, as `/`-separated keys relative to it, in key order (which the
/// `YYYY/MM/DD/HH/` layout makes delivery order). Files still being written (`.tmp`, dot files) are
/// skipped: the sink renames a finished object into place.
pub(crate) fn list_objects(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.ends_with(".tmp") {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                let key: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(key.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Serialize)]
struct DeadLetter<'a> {
    object: &'a str,
    line: u64,
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    reason: String,
    record: String,
}

/// Runs the indexer's path on one object: every line is normalised and scored with the core and
/// written to the store; a line that cannot be used goes to `dead_dir` with its reason.
pub(crate) async fn process_object<S: Store>(
    store: &S,
    root: &Path,
    key: &str,
    dead_dir: &Path,
) -> anyhow::Result<(u64, u64)> {
    let path = root.join(key);
    let bytes = tokio::fs::read(&path)
        .await
        .with_context(|| format!("reading {}", path.display()))?;
    let mut docs = Vec::new();
    let mut dead: Vec<u8> = Vec::new();
    let mut dead_count = 0u64;
    let mut indexed = 0u64;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match normalize(line) {
            Ok(post) => docs.push(IndexDoc::score(post)),
            Err(e) => {
                dead_count += 1;
                let rec = DeadLetter {
                    object: key,
                    line: i as u64 + 1,
                    kind: e.kind(),
                    field: e.field(),
                    reason: e.to_string(),
                    record: String::from_utf8_lossy(line).into_owned(),
                };
                serde_json::to_writer(&mut dead, &rec)?;
                dead.push(b'\n');
            }
        }
    }
    for chunk in docs.chunks(INDEX_BATCH) {
        let report = store
            .index(chunk)
            .await
            .with_context(|| format!("indexing {key}"))?;
        indexed += report.indexed;
        for r in report.rejected {
            dead_count += 1;
            let rec = DeadLetter {
                object: key,
                line: 0,
                kind: "rejected",
                field: None,
                reason: r.reason,
                record: r.id,
            };
            serde_json::to_writer(&mut dead, &rec)?;
            dead.push(b'\n');
        }
    }
    if !dead.is_empty() {
        let out = dead_dir.join(format!("{}.jsonl", key.replace('/', "_")));
        fs::create_dir_all(dead_dir).with_context(|| format!("creating {}", dead_dir.display()))?;
        fs::write(&out, &dead)
            .with_context(|| format!("writing dead letters {}", out.display()))?;
    }
    Ok((indexed, dead_count))
}

/// One pass: processes every object not yet in the ledger.
pub(crate) async fn ingest_new<S: Store>(
    store: &S,
    root: &Path,
    dead_dir: &Path,
    ledger: &mut Ledger,
    stats: &mut IngestStats,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for key in list_objects(root)? {
        if ledger.contains(&key) {
            continue;
        }
        let (indexed, dead) = process_object(store, root, &key, dead_dir).await?;
        ledger.mark(&key)?;
        stats.objects += 1;
        stats.indexed += indexed;
        stats.dead_lettered += dead;
        n += 1;
    }
    if n > 0 {
        store.refresh().await.context("refreshing the store")?;
    }
    Ok(n)
}
