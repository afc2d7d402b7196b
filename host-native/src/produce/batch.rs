//! Batching: records leave the queue in batches of at most `max_records` and `max_bytes`, sent when
//! full or `linger` after their first record. One batch is in flight at a time, so a slow sink
//! fills the queue and the source waits (backpressure).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, error};

use super::config::MAX_RECORD_BYTES;
use super::dead_letter::DeadLetter;
use super::sink::Sink;
use super::stats::Stats;

/// Records collected for one call.
#[derive(Debug)]
pub struct Batcher {
    max_records: usize,
    max_bytes: usize,
    records: Vec<Bytes>,
    bytes: usize,
}

impl Batcher {
    /// An empty batcher with these limits.
    pub fn new(max_records: usize, max_bytes: usize) -> Self {
        Batcher {
            max_records,
            max_bytes,
            records: Vec::with_capacity(max_records),
            bytes: 0,
        }
    }

    /// Adds a record; returns the previous batch when this one would not fit in it.
    pub fn push(&mut self, record: Bytes) -> Option<Vec<Bytes>> {
        let full = !self.records.is_empty()
            && (self.records.len() >= self.max_records
                || self.bytes + record.len() > self.max_bytes);
        let out = full.then(|| self.take());
        self.bytes += record.len();
        self.records.push(record);
        out
    }

    /// Whether no further record can join.
    pub fn is_full(&self) -> bool {
        self.records.len() >= self.max_records || self.bytes >= self.max_bytes
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Takes the batch.
    pub fn take(&mut self) -> Vec<Bytes> {
        self.bytes = 0;
        std::mem::replace(&mut self.records, Vec::with_capacity(self.max_records))
    }
}

/// Drains the queue into the sink until the queue is closed and empty.
pub async fn run(
    mut rx: mpsc::Receiver<Bytes>,
    mut sink: Sink,
    mut batcher: Batcher,
    linger: Duration,
    stats: Arc<Stats>,
    dead: Arc<DeadLetter>,
) -> anyhow::Result<()> {
    let mut deadline: Option<Instant> = None;
    loop {
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Some(record) => {
                    if record.len() > MAX_RECORD_BYTES {
                        too_large(&record, &stats, &dead);
                        continue;
                    }
                    if let Some(full) = batcher.push(record) {
                        flush(&mut sink, full, &stats, &dead).await?;
                        deadline = Some(Instant::now() + linger);
                    }
                    if deadline.is_none() {
                        deadline = Some(Instant::now() + linger);
                    }
                    if batcher.is_full() {
                        flush(&mut sink, batcher.take(), &stats, &dead).await?;
                        deadline = None;
                    }
                }
                None => {
                    if !batcher.is_empty() {
                        flush(&mut sink, batcher.take(), &stats, &dead).await?;
                    }
                    sink.close().await?;
                    return Ok(());
                }
            },
            _ = timer => {
                debug!("Linger elapsed.");
                if !batcher.is_empty() {
                    flush(&mut sink, batcher.take(), &stats, &dead).await?;
                }
                deadline = None;
            }
        }
    }
}

fn too_large(record: &[u8], stats: &Stats, dead: &DeadLetter) {
    let reason = format!(
        "record of {} bytes exceeds Firehose's limit of {MAX_RECORD_BYTES} bytes",
        record.len()
    );
    Stats::inc(&stats.failed);
    stats.queued.fetch_sub(1, Relaxed);
    if let Err(e) = dead.write("too_large", "record_too_large", None, &reason, record) {
        error!(error = %format!("{e:#}"), "Dead letter lost.");
    }
}

async fn flush(
    sink: &mut Sink,
    batch: Vec<Bytes>,
    stats: &Stats,
    dead: &DeadLetter,
) -> anyhow::Result<()> {
    let n = batch.len() as u64;
    sink.send(batch, stats, dead).await?;
    stats.queued.fetch_sub(n, Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_bytes() {
        let mut b = Batcher::new(3, 10);
        assert!(b.push(Bytes::from_static(b"aaaa")).is_none());
        assert!(b.push(Bytes::from_static(b"bbbb")).is_none());
        // 8 + 4 > 10: the first two leave together.
        let out = b.push(Bytes::from_static(b"cccc")).expect("full by bytes");
        assert_eq!(out.len(), 2);
        assert!(b.push(Bytes::from_static(b"d")).is_none());
        assert!(b.push(Bytes::from_static(b"e")).is_none());
        assert!(b.is_full());
        assert_eq!(b.take().len(), 3);
        assert!(b.is_empty());
    }
}
