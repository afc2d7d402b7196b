//! Replay: raw posts from a JSONL file or stdin, at full speed or a fixed rate.

use anyhow::Context;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use super::{trim_line, Pacer};
use crate::produce::config::ReplayConfig;
use crate::produce::filter::Ingest;

/// Reads until end of input or `stop`.
pub async fn run(
    cfg: &ReplayConfig,
    ingest: &Ingest,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let (name, mut reader): (String, Box<dyn AsyncBufRead + Unpin + Send>) = match &cfg.input {
        Some(p) if p.as_os_str() != "-" => {
            let f = tokio::fs::File::open(p)
                .await
                .with_context(|| format!("opening {}", p.display()))?;
            (
                p.display().to_string(),
                Box::new(BufReader::with_capacity(1 << 18, f)),
            )
        }
        _ => ("stdin".into(), Box::new(BufReader::new(tokio::io::stdin()))),
    };
    let mut pacer = Pacer::new(cfg.rate);
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        buf.clear();
        let n = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            r = reader.read_until(b'\n', &mut buf) => r.with_context(|| format!("reading {name}"))?,
        };
        if n == 0 {
            break;
        }
        let line = trim_line(&buf);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            _ = pacer.wait() => {}
        }
        if ingest.offer(line).await.is_err() {
            break;
        }
    }
    Ok(())
}
