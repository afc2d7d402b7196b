//! The demo's stand-in for S3 notifications: watch the local Firehose-layout directory, run the
//! indexer's code path on each new object once, and remember which objects are done so a rerun
//! continues where the last one stopped.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use sentimap_core::IndexDoc;
use sentimap_lambda::config::IndexTarget;
use sentimap_lambda::deadletter::DirStore;
use sentimap_lambda::index::{Answer, BulkSender, TransportError};
use sentimap_lambda::pipeline::{index_stream, Job, RetryPolicy};
use sentimap_lambda::reader::open_file;
use sentimap_lambda::Counts;
use sentimap_store::Store;
use serde_json::json;

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

/// Bulk bytes per request, as the Lambda's default.
const BULK_MAX_BYTES: usize = 5 * 1024 * 1024;

/// The Lambda indexer's bulk seam, answered by a [`Store`]: the demo runs the handler's own code
/// (framing, normalising, scoring, bulk encoding, per-item retries and dead letters) and only the
/// last hop, the bulk request, lands in the embedded store (or the OpenSearch store) instead.
#[derive(Debug)]
pub(crate) struct StoreSender<'a, S> {
    pub store: &'a S,
}

impl<S: Store> BulkSender for StoreSender<'_, S> {
    async fn send_bulk(&self, body: &[u8]) -> Result<Answer, TransportError> {
        let mut lines = body.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        let mut items: Vec<Result<IndexDoc, String>> = Vec::new();
        while let Some(action) = lines.next() {
            let source = lines
                .next()
                .ok_or_else(|| TransportError("bulk body ends after an action line".into()))?;
            if serde_json::from_slice::<serde_json::Value>(action).is_err() {
                return Err(TransportError("bulk action line is not JSON".into()));
            }
            items.push(
                serde_json::from_slice::<IndexDoc>(source).map_err(|e| format!("document: {e}")),
            );
        }
        let docs: Vec<IndexDoc> = items
            .iter()
            .filter_map(|i| i.as_ref().ok().cloned())
            .collect();
        let report = self
            .store
            .index(&docs)
            .await
            .map_err(|e| TransportError(format!("{e:#}")))?;
        let rejected: HashMap<&str, &str> = report
            .rejected
            .iter()
            .map(|r| (r.id.as_str(), r.reason.as_str()))
            .collect();
        let answers: Vec<serde_json::Value> = items
            .iter()
            .map(|item| {
                let refused = match item {
                    Ok(doc) => rejected.get(doc.id.as_str()).map(|r| (*r).to_string()),
                    Err(e) => Some(e.clone()),
                };
                match refused {
                    None => json!({ "index": { "status": 201, "result": "created" } }),
                    Some(reason) => json!({ "index": { "status": 400,
                        "error": { "type": "store_rejected", "reason": reason } } }),
                }
            })
            .collect();
        let errors = answers.iter().any(|a| a["index"]["status"] != 201);
        let body = serde_json::to_vec(&json!({ "took": 0, "errors": errors, "items": answers }))
            .map_err(|e| TransportError(e.to_string()))?;
        Ok(Answer { status: 200, body })
    }
}

/// Runs the Lambda handler's code path on one delivered object; bad records go to `dead_dir`.
pub(crate) async fn process_object<S: Store>(
    store: &S,
    root: &Path,
    key: &str,
    dead_dir: &Path,
) -> anyhow::Result<Counts> {
    let path = root.join(key);
    let input = open_file(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let sender = StoreSender { store };
    let dead = DirStore {
        dir: dead_dir.to_path_buf(),
    };
    let target = IndexTarget::fixed("sentimap-posts");
    let job = Job {
        sender: &sender,
        store: &dead,
        dead_letter_prefix: "",
        target: &target,
        bulk_max_bytes: BULK_MAX_BYTES,
        retry: RetryPolicy {
            max_retries: 5,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        },
        bucket: "",
        key,
    };
    index_stream(input, &job)
        .await
        .with_context(|| format!("indexing {key}"))
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
        // A failure leaves the object out of the ledger: the next pass retries it (at least once;
        // the upserts make the retry harmless).
        let counts = match process_object(store, root, &key, dead_dir).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(key, error = %format!("{e:#}"), "Object not indexed; will retry.");
                break;
            }
        };
        ledger.mark(&key)?;
        stats.objects += 1;
        stats.indexed += counts.indexed;
        stats.dead_lettered += counts.dead_lettered;
        n += 1;
    }
    if n > 0 {
        store.refresh().await.context("refreshing the store")?;
    }
    Ok(n)
}
