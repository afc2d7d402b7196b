//! Counters shared by the source, the sink and the status line; the final summary.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// Live counters. Every record received ends as exactly one of: skipped, invalid, rejected,
/// accepted (queued); every accepted record ends as sent or failed (dead-lettered).
#[derive(Debug, Default)]
pub struct Stats {
    /// Raw messages read from the source (keep-alives excluded).
    pub received: AtomicU64,
    /// Valid messages that are not posts (deletes, notices): counted, not dead-lettered.
    pub skipped: AtomicU64,
    /// Messages the core could not read: dead-lettered.
    pub invalid: AtomicU64,
    /// Posts the filter did not keep.
    pub rejected: AtomicU64,
    /// Posts the filter kept.
    pub matched: AtomicU64,
    /// Matched posts taken into the queue: from here on nothing is lost.
    pub accepted: AtomicU64,
    /// Records the sink confirmed.
    pub sent: AtomicU64,
    /// Accepted records the sink could not deliver: dead-lettered.
    pub failed: AtomicU64,
    /// Record re-sends after a partial failure, throttling or a server error.
    pub retried: AtomicU64,
    /// Calls to the sink (PutRecordBatch calls, files written).
    pub calls: AtomicU64,
    /// Reconnects of a live source after a network error or stall.
    pub reconnects_network: AtomicU64,
    /// Reconnects after an HTTP error status.
    pub reconnects_http: AtomicU64,
    /// Reconnects after a 429.
    pub reconnects_rate_limited: AtomicU64,
    /// Stalls detected (no data or keep-alive in time).
    pub stalls: AtomicU64,
    /// Records waiting in the queue or in the batch being built or sent.
    pub queued: AtomicU64,
}

/// A snapshot of the counters, written as the final summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub struct Summary {
    pub received: u64,
    pub skipped: u64,
    pub invalid: u64,
    pub rejected: u64,
    pub matched: u64,
    pub accepted: u64,
    pub sent: u64,
    pub failed: u64,
    pub retried: u64,
    pub calls: u64,
    pub reconnects_network: u64,
    pub reconnects_http: u64,
    pub reconnects_rate_limited: u64,
    pub stalls: u64,
}

impl Stats {
    /// Adds one.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Adds `n`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Reads the counters.
    pub fn summary(&self) -> Summary {
        Summary {
            received: self.received.load(Relaxed),
            skipped: self.skipped.load(Relaxed),
            invalid: self.invalid.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            matched: self.matched.load(Relaxed),
            accepted: self.accepted.load(Relaxed),
            sent: self.sent.load(Relaxed),
            failed: self.failed.load(Relaxed),
            retried: self.retried.load(Relaxed),
            calls: self.calls.load(Relaxed),
            reconnects_network: self.reconnects_network.load(Relaxed),
            reconnects_http: self.reconnects_http.load(Relaxed),
            reconnects_rate_limited: self.reconnects_rate_limited.load(Relaxed),
            stalls: self.stalls.load(Relaxed),
        }
    }
}

/// Draws `received matched sent failed retried queue posts/s` on stderr twice a second until
/// `stop`, when stderr is a terminal (or `force`).
pub async fn status_line(stats: Arc<Stats>, force: bool, stop: CancellationToken) {
    if !force && !std::io::stderr().is_terminal() {
        return;
    }
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let (mut last_n, mut last_t) = (0u64, Instant::now());
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let s = stats.summary();
        let now = Instant::now();
        let dt = now.duration_since(last_t).as_secs_f64().max(1e-3);
        let rate = (s.received - last_n) as f64 / dt;
        (last_n, last_t) = (s.received, now);
        let line = format!(
            "\r[{:>6.1}s] received {} matched {} sent {} failed {} retried {} queue {} {:.0} posts/s   ",
            started.elapsed().as_secs_f64(),
            s.received,
            s.matched,
            s.sent,
            s.failed,
            s.retried,
            stats.queued.load(Relaxed),
            rate
        );
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }
    let _ = std::io::stderr().lock().write_all(b"\n");
}
