//! The Jetstream source against a local websocket server: it asks for `app.bsky.feed.post`, and
//! after the connection drops it resumes from the last cursor seen (rewound by `rewind_ms`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use sentimap::produce::config::{SinkKind, SourceKind};
use sentimap::produce::source::generate::Format;
use sentimap::produce::Generator;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::{base_config, local_lines, multiset, scratch};

#[tokio::test]
async fn jetstream_resumes_from_its_cursor_after_a_drop() {
    let mut generator = Generator::new(9, 0.0, super::START_UNIX * 1000);
    let events: Vec<String> = (0..8)
        .map(|_| serde_json::to_string(&generator.post(Format::Jetstream)).expect("json"))
        .collect();
    let time_us = |e: &str| -> i64 {
        serde_json::from_str::<serde_json::Value>(e).expect("json")["time_us"]
            .as_i64()
            .expect("time_us")
    };
    let last_of_first = events[..5].iter().map(|e| time_us(e)).max().expect("five");
    let identity = r#"{"did":"did:plc:abc","time_us":1766653200000001,"kind":"identity","identity":{"did":"did:plc:abc","seq":1,"time":"2025-12-25T09:00:00Z"}}"#;

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/subscribe", listener.local_addr().expect("addr"));
    let uris: Arc<Mutex<Vec<String>>> = Arc::default();
    let hold = CancellationToken::new();
    let server = {
        let (uris, events, hold) = (uris.clone(), events.clone(), hold.clone());
        tokio::spawn(async move {
            for n in 0.. {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let uris = uris.clone();
                #[allow(clippy::result_large_err)] // the signature is tungstenite's
                let cb = move |req: &Request, resp: Response| {
                    uris.lock().expect("lock").push(req.uri().to_string());
                    Ok(resp)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(sock, cb).await else {
                    continue;
                };
                if n == 0 {
                    for e in &events[..5] {
                        let _ = ws.send(Message::text(e.clone())).await;
                    }
                    // Drop without a close frame: a network failure.
                    drop(ws);
                } else {
                    let _ = ws.send(Message::text(identity)).await;
                    for e in &events[5..] {
                        let _ = ws.send(Message::text(e.clone())).await;
                    }
                    hold.cancelled().await;
                }
            }
        })
    };

    let dir = scratch("prod-jetstream");
    let mut c = base_config(&dir);
    c.source = SourceKind::Jetstream;
    c.sink = SinkKind::Local;
    c.local.dir = dir.join("out");
    c.batch.linger_ms = 20;
    c.backoff_scale = 0.01;
    c.jetstream.url = url;
    c.jetstream.rewind_ms = 2;
    // Bluesky posts carry no location.
    c.filter.require_location = false;

    let stop = CancellationToken::new();
    let producer = tokio::spawn(sentimap::produce::run(c, stop.clone()));
    let out = dir.join("out");
    let deadline = Instant::now() + Duration::from_secs(30);
    while local_lines(&out).len() < 8 {
        assert!(
            Instant::now() < deadline,
            "uris: {:?}",
            uris.lock().expect("lock")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let summary = producer.await.expect("join").expect("producer");
    hold.cancel();
    server.abort();

    let expected = events.iter().map(|e| format!("{e}\n").into_bytes());
    assert_eq!(multiset(local_lines(&out)), multiset(expected));
    assert_eq!(
        (
            summary.received,
            summary.skipped,
            summary.sent,
            summary.reconnects_network
        ),
        (9, 1, 8, 1),
        "{summary:?}"
    );
    let uris = uris.lock().expect("lock").clone();
    assert_eq!(uris[0], "/subscribe?wantedCollections=app.bsky.feed.post");
    assert_eq!(
        uris[1],
        format!(
            "/subscribe?wantedCollections=app.bsky.feed.post&cursor={}",
            last_of_first - 2_000
        )
    );
}
