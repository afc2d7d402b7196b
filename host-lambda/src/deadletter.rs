//! Dead letters: every record that could not be indexed, as one JSON line with the record, where it
//! came from and why, written in parts under a configured prefix.
//!
//! Keys are derived from the source object (`<prefix><bucket>/<key>/part-00000.jsonl`), so a
//! re-delivered object overwrites its own dead letters instead of adding copies.

use std::path::PathBuf;

use base64::Engine as _;
use serde::Serialize;

use crate::Error;

/// Size at which a dead-letter part is written out, bounding the memory they take.
pub const DEAD_LETTER_PART_BYTES: usize = 1024 * 1024;
/// Most bytes of a record copied into its dead letter (an oversize record is cut here).
pub const DEAD_LETTER_RECORD_BYTES: usize = 64 * 1024;

/// Where dead letters are stored.
pub trait DeadLetterStore {
    /// Stores one part under `key`.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
    /// A human-readable name of the destination of `key`, for logs and errors.
    fn describe(&self, key: &str) -> String;
}

/// S3: the production store.
#[derive(Debug, Clone)]
pub struct S3Store {
    /// Client.
    pub client: aws_sdk_s3::Client,
    /// Bucket.
    pub bucket: String,
}

impl DeadLetterStore for S3Store {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/x-ndjson")
            .body(body.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
    }

    fn describe(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// A local folder (local mode with `--file`).
#[derive(Debug, Clone)]
pub struct DirStore {
    /// Root folder.
    pub dir: PathBuf,
}

impl DirStore {
    fn path(&self, key: &str) -> PathBuf {
        // Keys come from object keys: keep them inside the folder.
        let mut p = self.dir.clone();
        for seg in key.split('/') {
            if !seg.is_empty() && seg != "." && seg != ".." {
                p.push(seg);
            }
        }
        p
    }
}

impl DeadLetterStore for DirStore {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        tokio::fs::write(&path, body)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn describe(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }
}

/// Either store, chosen by the configuration.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// S3.
    S3(S3Store),
    /// Local folder.
    Dir(DirStore),
}

impl DeadLetterStore for AnyStore {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        match self {
            AnyStore::S3(s) => s.put(key, body).await,
            AnyStore::Dir(d) => d.put(key, body).await,
        }
    }

    fn describe(&self, key: &str) -> String {
        match self {
            AnyStore::S3(s) => s.describe(key),
            AnyStore::Dir(d) => d.describe(key),
        }
    }
}

/// The source of a dead letter.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRef<'a> {
    /// Source bucket (empty for a local file).
    pub bucket: &'a str,
    /// Source key or file path.
    pub key: &'a str,
    /// 1-based line of the record.
    pub line: u64,
    /// Byte offset of the record in the decompressed object.
    pub offset: u64,
    /// 0-based record position.
    pub record_index: u64,
}

/// One dead letter line.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    /// Where the record came from.
    pub source: SourceRef<'a>,
    /// `parse` (the core refused it), `index` (the engine refused it) or `read` (the object broke off).
    pub stage: &'static str,
    /// Stable error kind (`json`, `utf8`, `too_large`, `unsupported_shape`, ..., or `rejected`).
    pub kind: &'a str,
    /// The field concerned, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
    /// Human-readable reason (the core's message or the engine's `type: reason`).
    pub reason: String,
    /// HTTP status of the engine's refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Length of the whole record in bytes.
    pub record_bytes: usize,
    /// Whether `record` holds only the start of the record.
    pub record_truncated: bool,
    /// The record as text, when it is UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The record base64-encoded, when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_base64: Option<String>,
}

impl DeadLetter<'_> {
    /// Fills `record`/`record_base64` from raw bytes (cut at [`DEAD_LETTER_RECORD_BYTES`]).
    pub fn with_record(mut self, bytes: &[u8], full_len: usize) -> Self {
        let keep = &bytes[..bytes.len().min(DEAD_LETTER_RECORD_BYTES)];
        self.record_bytes = full_len;
        self.record_truncated = keep.len() < full_len;
        match std::str::from_utf8(keep) {
            Ok(s) => self.record = Some(s.to_owned()),
            // A cut may fall inside a character: keep the valid prefix as text.
            Err(e) if e.error_len().is_none() && self.record_truncated => {
                self.record = Some(String::from_utf8_lossy(&keep[..e.valid_up_to()]).into_owned())
            }
            Err(_) => {
                self.record_base64 = Some(base64::engine::general_purpose::STANDARD.encode(keep))
            }
        }
        self
    }
}

/// Collects the dead letters of one object and writes them in parts.
#[derive(Debug)]
pub struct DeadLetterWriter<'s, S> {
    store: &'s S,
    key_base: String,
    buf: Vec<u8>,
    part: u32,
    count: u64,
    written_keys: Vec<String>,
}

impl<'s, S: DeadLetterStore> DeadLetterWriter<'s, S> {
    /// Dead letters for `source_bucket/source_key` go under `prefix`.
    pub fn new(store: &'s S, prefix: &str, source_bucket: &str, source_key: &str) -> Self {
        let mut key_base = prefix.to_owned();
        if !source_bucket.is_empty() {
            key_base.push_str(source_bucket);
            key_base.push('/');
        }
        key_base.push_str(source_key.trim_start_matches('/'));
        DeadLetterWriter {
            store,
            key_base,
            buf: Vec::new(),
            part: 0,
            count: 0,
            written_keys: Vec::new(),
        }
    }

    /// Adds one dead letter, writing a part out when the buffer is full.
    pub async fn push(&mut self, letter: &DeadLetter<'_>) -> Result<(), Error> {
        serde_json::to_writer(&mut self.buf, letter).map_err(|e| Error::DeadLetter {
            target: self.key_base.clone(),
            message: e.to_string(),
        })?;
        self.buf.push(b'\n');
        self.count += 1;
        if self.buf.len() >= DEAD_LETTER_PART_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is buffered. Must be called before the object counts as done.
    pub async fn flush(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let key = format!("{}/part-{:05}.jsonl", self.key_base, self.part);
        let body = std::mem::take(&mut self.buf);
        self.store
            .put(&key, body)
            .await
            .map_err(|message| Error::DeadLetter {
                target: self.store.describe(&key),
                message,
            })?;
        self.part += 1;
        self.written_keys.push(self.store.describe(&key));
        Ok(())
    }

    /// Dead letters pushed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Where the written parts went.
    pub fn written(&self) -> &[String] {
        &self.written_keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_text_or_base64() {
        let base = || DeadLetter {
            source: SourceRef {
                bucket: "b",
                key: "k",
                line: 3,
                offset: 10,
                record_index: 2,
            },
            stage: "parse",
            kind: "json",
            field: None,
            reason: "r".into(),
            status: None,
            record_bytes: 0,
            record_truncated: false,
            record: None,
            record_base64: None,
        };
        let d = base().with_record(b"{\"a\":", 5);
        assert_eq!(d.record.as_deref(), Some("{\"a\":"));
        assert!(!d.record_truncated);
        let d = base().with_record(b"\xff\xfe{}", 4);
        assert_eq!(d.record_base64.as_deref(), Some("//57fQ=="));
        assert!(d.record.is_none());
        let long = "é".repeat(DEAD_LETTER_RECORD_BYTES);
        let d = base().with_record(long.as_bytes(), long.len());
        assert!(d.record_truncated);
        assert_eq!(d.record_bytes, long.len());
        assert_eq!(d.record.unwrap().len(), DEAD_LETTER_RECORD_BYTES);
        let line = serde_json::to_value(base().with_record(b"x", 1)).unwrap();
        assert_eq!(line["source"]["line"], 3);
        assert_eq!(line["kind"], "json");
        assert!(line.get("field").is_none());
    }

    #[test]
    fn dir_store_keeps_keys_inside() {
        let s = DirStore {
            dir: PathBuf::from("/tmp/dl"),
        };
        assert_eq!(
            s.path("dead-letter/b/../../etc/passwd/part-00000.jsonl"),
            PathBuf::from("/tmp/dl/dead-letter/b/etc/passwd/part-00000.jsonl")
        );
    }
}
