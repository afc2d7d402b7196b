//! The step between a source and the queue: normalise with the core, filter, count, dead-letter
//! what cannot be read, and queue the raw bytes of what is kept (waiting when the queue is full).

use std::sync::Arc;

use bytes::Bytes;
use sentimap_core::{normalize, Filter};
use tokio::sync::mpsc;
use tracing::warn;

use super::dead_letter::DeadLetter;
use super::stats::Stats;

/// The queue is closed: the sink has stopped, the source should too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// What became of one offered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Queued for delivery.
    Accepted,
    /// A valid message that is not a post.
    Skipped,
    /// Unreadable: dead-lettered.
    Invalid,
    /// Not kept by the filter.
    Rejected,
}

/// Sources hand every raw message to this.
#[derive(Debug, Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Bytes>,
    filter: Arc<Filter>,
    stats: Arc<Stats>,
    dead: Arc<DeadLetter>,
}

impl Ingest {
    /// Wires a filter to the queue.
    pub fn new(
        tx: mpsc::Sender<Bytes>,
        filter: Filter,
        stats: Arc<Stats>,
        dead: Arc<DeadLetter>,
    ) -> Self {
        Ingest {
            tx,
            filter: Arc::new(filter),
            stats,
            dead,
        }
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Reads, filters and queues one raw message (without its line ending).
    pub async fn offer(&self, raw: &[u8]) -> Result<Outcome, Closed> {
        Stats::inc(&self.stats.received);
        let post = match normalize(raw) {
            Ok(p) => p,
            Err(e) if e.kind() == "unsupported_shape" => {
                Stats::inc(&self.stats.skipped);
                return Ok(Outcome::Skipped);
            }
            Err(e) => {
                Stats::inc(&self.stats.invalid);
                if let Err(io) =
                    self.dead
                        .write("invalid", e.kind(), e.field(), &e.to_string(), raw)
                {
                    // Without a dead-letter file the record cannot be kept anywhere: say so loudly.
                    tracing::error!(error = %format!("{io:#}"), kind = e.kind(), "Dead letter lost.");
                }
                return Ok(Outcome::Invalid);
            }
        };
        if self.filter.check(&post).is_err() {
            Stats::inc(&self.stats.rejected);
            return Ok(Outcome::Rejected);
        }
        Stats::inc(&self.stats.matched);
        let mut record = Vec::with_capacity(raw.len() + 1);
        record.extend_from_slice(raw);
        record.push(b'\n');
        Stats::inc(&self.stats.queued);
        if self.tx.send(Bytes::from(record)).await.is_err() {
            self.stats
                .queued
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            warn!("Queue closed; stopping the source.");
            return Err(Closed);
        }
        Stats::inc(&self.stats.accepted);
        Ok(Outcome::Accepted)
    }
}
