//! A local folder standing in for the S3 bucket: one object per batch at
//! `<dir>/<prefix>YYYY/MM/DD/HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<seq>-<random>`, as Firehose names
//! them. Each file is written under a temporary name, synced, then renamed, so a reader never sees
//! half a file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use rand::Rng;
use time::OffsetDateTime;

use crate::produce::stats::Stats;

/// Writes batches as files.
#[derive(Debug)]
pub struct LocalSink {
    root: PathBuf,
    prefix: String,
    stream: String,
    seq: u64,
}

impl LocalSink {
    /// A sink writing under `root` with Firehose's `prefix`; `stream` names the files.
    pub fn new(root: PathBuf, prefix: String, stream: String) -> Self {
        LocalSink {
            root,
            prefix,
            stream,
            seq: 0,
        }
    }

    /// The object key (relative path) for a batch written at `now`.
    pub fn key(&self, now: OffsetDateTime, seq: u64, nonce: u32) -> String {
        format!(
            "{}{:04}/{:02}/{:02}/{:02}/{}-1-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{:08}-{:08x}",
            self.prefix,
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            self.stream,
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            seq,
            nonce
        )
    }

    /// Writes one batch as one file.
    pub async fn send(&mut self, batch: Vec<Bytes>, stats: &Stats) -> anyhow::Result<()> {
        self.seq += 1;
        let key = self.key(OffsetDateTime::now_utc(), self.seq, rand::rng().random());
        let path = self.root.join(&key);
        let n = batch.len() as u64;
        tokio::task::spawn_blocking(move || write_atomically(&path, &batch))
            .await
            .context("local sink writer panicked")??;
        Stats::inc(&stats.calls);
        Stats::add(&stats.sent, n);
        Ok(())
    }
}

fn write_atomically(path: &std::path::Path, batch: &[Bytes]) -> anyhow::Result<()> {
    let dir = path.parent().context("object key has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().context("object key has no name")?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    for r in batch {
        f.write_all(r)?;
    }
    let f = f.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_firehose_layout() {
        let s = LocalSink::new("x".into(), "raw/".into(), "demo".into());
        let t = time::macros::datetime!(2026-12-25 04:05:06 UTC);
        assert_eq!(
            s.key(t, 7, 0xabc),
            "raw/2026/12/25/04/demo-1-2026-12-25-04-05-06-00000007-00000abc"
        );
    }
}
