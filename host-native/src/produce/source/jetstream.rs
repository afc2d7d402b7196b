//! Bluesky Jetstream: a websocket of commits (`wantedCollections=app.bsky.feed.post`, no account
//! needed). Each event's `time_us` is its cursor; after a reconnect the stream resumes from the
//! last cursor seen, rewound a little so nothing is missed (duplicates are fine: indexing is
//! idempotent).

use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::reconnect::{Backoff, Failure};
use crate::produce::config::JetstreamConfig;
use crate::produce::filter::Ingest;
use crate::produce::stats::Stats;

/// The collection this producer follows.
pub const COLLECTION: &str = "app.bsky.feed.post";

#[derive(Deserialize)]
struct Probe {
    time_us: Option<i64>,
}

/// The subscribe URL for a cursor.
pub fn subscribe_url(base: &str, cursor: Option<i64>) -> anyhow::Result<url::Url> {
    let mut url = url::Url::parse(base).with_context(|| format!("jetstream.url {base:?}"))?;
    url.query_pairs_mut()
        .append_pair("wantedCollections", COLLECTION);
    if let Some(c) = cursor {
        url.query_pairs_mut().append_pair("cursor", &c.to_string());
    }
    Ok(url)
}

enum Ended {
    Stopped,
    Failed(Failure),
}

/// Follows the stream until `stop`.
pub async fn run(
    cfg: &JetstreamConfig,
    scale: f64,
    ingest: &Ingest,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    subscribe_url(&cfg.url, None)?;
    let stall = Duration::from_millis(cfg.stall_timeout_ms).mul_f64(scale);
    let stats = ingest.stats().clone();
    let mut backoff = Backoff::new(scale);
    let mut cursor = cfg.cursor;
    let mut last_seen: Option<i64> = None;
    loop {
        let url = subscribe_url(&cfg.url, cursor)?;
        let ended = connect_once(url, stall, ingest, stop, &mut backoff, &mut last_seen).await;
        let failure = match ended {
            Ended::Stopped => return Ok(()),
            Ended::Failed(f) => f,
        };
        if let Some(t) = last_seen {
            cursor = Some(t.saturating_sub(cfg.rewind_ms as i64 * 1000));
        }
        let delay = backoff.next(failure);
        Stats::inc(match failure {
            Failure::Network => &stats.reconnects_network,
            Failure::Http => &stats.reconnects_http,
            Failure::RateLimited => &stats.reconnects_rate_limited,
        });
        warn!(kind = ?failure, delay_ms = delay.as_millis() as u64, cursor, "Jetstream lost; reconnecting.");
        tokio::select! {
            biased;
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

async fn connect_once(
    url: url::Url,
    stall: Duration,
    ingest: &Ingest,
    stop: &CancellationToken,
    backoff: &mut Backoff,
    last_seen: &mut Option<i64>,
) -> Ended {
    let connect = tokio::time::timeout(
        stall.max(Duration::from_millis(10)) * 3,
        tokio_tungstenite::connect_async(url.as_str()),
    );
    let (mut ws, _) = tokio::select! {
        biased;
        _ = stop.cancelled() => return Ended::Stopped,
        r = connect => match r {
            Err(_) => {
                warn!("Jetstream did not answer in time.");
                return Ended::Failed(Failure::Network);
            }
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let status = resp.status().as_u16();
                warn!(status, "Jetstream refused the connection.");
                return Ended::Failed(if status == 429 { Failure::RateLimited } else { Failure::Http });
            }
            Ok(Err(e)) => {
                warn!(error = %e, "Jetstream connection failed.");
                return Ended::Failed(Failure::Network);
            }
            Ok(Ok(pair)) => pair,
        },
    };
    info!(url = %url, "Jetstream connected.");
    backoff.reset();
    let stats = ingest.stats();
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => {
                let _ = ws.close(None).await;
                return Ended::Stopped;
            }
            n = tokio::time::timeout(stall, ws.next()) => n,
        };
        let msg = match next {
            Err(_) => {
                Stats::inc(&stats.stalls);
                warn!(stall_ms = stall.as_millis() as u64, "Jetstream stalled.");
                return Ended::Failed(Failure::Network);
            }
            Ok(None) => {
                warn!("Jetstream closed the connection.");
                return Ended::Failed(Failure::Network);
            }
            Ok(Some(Err(e))) => {
                warn!(error = %e, "Jetstream read failed.");
                return Ended::Failed(Failure::Network);
            }
            Ok(Some(Ok(m))) => m,
        };
        let data: &[u8] = match &msg {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            Message::Ping(p) => {
                let _ = ws.send(Message::Pong(p.clone())).await;
                continue;
            }
            Message::Close(_) => {
                warn!("Jetstream sent close.");
                return Ended::Failed(Failure::Network);
            }
            _ => continue,
        };
        if let Ok(Probe { time_us: Some(t) }) = serde_json::from_slice::<Probe>(data) {
            *last_seen = Some(last_seen.map_or(t, |l| l.max(t)));
        }
        if ingest.offer(data).await.is_err() {
            return Ended::Stopped;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_collection_and_cursor() {
        let u = subscribe_url(
            "wss://jetstream2.us-east.bsky.network/subscribe",
            Some(1_700_000_000_000_000),
        )
        .expect("url");
        assert_eq!(
            u.as_str(),
            "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post&cursor=1700000000000000"
        );
    }
}
