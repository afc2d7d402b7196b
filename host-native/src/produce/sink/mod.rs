//! Where batches go: Firehose, a local folder in Firehose's S3 layout, or stdout.

pub mod firehose;
pub mod local;

use std::io::Write;

use anyhow::Context;
use bytes::Bytes;

use super::dead_letter::DeadLetter;
use super::stats::Stats;

/// The configured sink.
#[derive(Debug)]
pub enum Sink {
    /// Amazon Kinesis Data Firehose.
    Firehose(firehose::FirehoseSink),
    /// A local folder.
    Local(local::LocalSink),
    /// Standard output.
    Stdout,
}

impl Sink {
    /// Delivers one batch of newline-terminated records. Records that cannot be delivered are
    /// dead-lettered and counted as failed; an `Err` means the sink itself is unusable.
    pub async fn send(
        &mut self,
        batch: Vec<Bytes>,
        stats: &Stats,
        dead: &DeadLetter,
    ) -> anyhow::Result<()> {
        match self {
            Sink::Firehose(s) => s.send(batch, stats, dead).await,
            Sink::Local(s) => s.send(batch, stats).await,
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                for r in &batch {
                    out.write_all(r).context("writing stdout")?;
                }
                out.flush().context("writing stdout")?;
                Stats::inc(&stats.calls);
                Stats::add(&stats.sent, batch.len() as u64);
                Ok(())
            }
        }
    }

    /// Called once after the last batch.
    pub async fn close(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}
