//! Sources: each reads raw posts and hands them to [`Ingest`](super::filter::Ingest) until it ends
//! or `stop` is cancelled.

pub mod generate;
pub mod jetstream;
pub mod reconnect;
pub mod replay;
pub mod x;

use std::time::Duration;

use tokio::time::Instant;

/// Spaces records at a fixed rate (or not at all).
#[derive(Debug)]
pub struct Pacer {
    start: Instant,
    rate: Option<f64>,
    n: u64,
}

impl Pacer {
    /// `rate` records per second; `None` is full speed.
    pub fn new(rate: Option<f64>) -> Self {
        Pacer {
            start: Instant::now(),
            rate,
            n: 0,
        }
    }

    /// Waits until the next record is due.
    pub async fn wait(&mut self) {
        if let Some(rate) = self.rate {
            let due = self.start + Duration::from_secs_f64(self.n as f64 / rate);
            self.n += 1;
            tokio::time::sleep_until(due).await;
        }
    }
}

/// Strips the line ending (`\n` or `\r\n`).
pub fn trim_line(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}
