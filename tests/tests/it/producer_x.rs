//! The X source against a fake X API on 127.0.0.1: `oauth2/token`, rule sync with a dry run, and a
//! filtered stream (chunked HTTP with keep-alive lines) that disconnects, answers 503, answers 429
//! TooManyConnections and stalls, proving reconnects on X's schedule with test-scaled delays; the
//! rules endpoints answer a 429 and a 503 once each, which are retried on the same schedule.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sentimap::produce::config::{SinkKind, SourceKind};
use sentimap::produce::secret::SecretRef;
use sentimap::produce::Generator;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::{base_config, local_lines, multiset, scratch};

/// What the fake server saw: (method, path, body, when).
type Seen = Arc<Mutex<Vec<(String, String, String, Instant)>>>;

pub(crate) async fn read_request(
    sock: &mut TcpStream,
) -> Option<(String, String, Vec<(String, String)>, String)> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some((
        method,
        path,
        headers,
        String::from_utf8_lossy(&body).to_string(),
    ))
}

pub(crate) async fn respond(sock: &mut TcpStream, status: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(msg.as_bytes()).await;
    let _ = sock.shutdown().await;
}

pub(crate) async fn chunk(sock: &mut TcpStream, data: &str) {
    let _ = sock
        .write_all(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes())
        .await;
    let _ = sock.flush().await;
}

/// Serves one stream connection according to its number.
async fn stream_connection(
    mut sock: TcpStream,
    n: usize,
    posts: Arc<Vec<String>>,
    hold: CancellationToken,
) {
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    match n {
        // Keep-alive, three posts split across chunks, then the connection drops mid-stream.
        0 => {
            let _ = sock.write_all(head.as_bytes()).await;
            chunk(&mut sock, "\r\n").await;
            let (a, b) = posts[0].split_at(posts[0].len() / 2);
            chunk(&mut sock, a).await;
            chunk(&mut sock, &format!("{b}\r\n")).await;
            chunk(&mut sock, &format!("{}\r\n{}\r\n\r\n", posts[1], posts[2])).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(sock);
        }
        1 => respond(&mut sock, "503 Service Unavailable", r#"{"title":"Service Unavailable"}"#).await,
        2 => {
            respond(
                &mut sock,
                "429 Too Many Requests",
                r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.twitter.com/2/problems/streaming-connection"}"#,
            )
            .await
        }
        // Two posts, then silence: no data, no keep-alive.
        3 => {
            let _ = sock.write_all(head.as_bytes()).await;
            chunk(&mut sock, &format!("{}\r\n{}\r\n", posts[3], posts[4])).await;
            hold.cancelled().await;
        }
        // Healthy: keep-alives between the last two posts, then keep-alives until the test ends.
        _ => {
            let _ = sock.write_all(head.as_bytes()).await;
            chunk(&mut sock, &format!("{}\r\n", posts[5])).await;
            chunk(&mut sock, "\r\n").await;
            chunk(&mut sock, &format!("{}\r\n", posts[6])).await;
            loop {
                tokio::select! {
                    _ = hold.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => chunk(&mut sock, "\r\n").await,
                }
            }
        }
    }
}

async fn serve(
    listener: TcpListener,
    seen: Seen,
    posts: Arc<Vec<String>>,
    hold: CancellationToken,
) {
    let mut stream_n = 0usize;
    let mut rules_n = 0usize;
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let Some((method, path, headers, body)) = read_request(&mut sock).await else {
            continue;
        };
        seen.lock().expect("lock").push((
            method.clone(),
            path.clone(),
            body.clone(),
            Instant::now(),
        ));
        let auth = headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if path == "/oauth2/token" {
            // The example key and secret of X's application-only auth documentation.
            let ok = auth == "Basic eHZ6MWV2RlM0d0VFUFRHRUZQSEJvZzpMOHFxOVBaeVJnNmllS0dFS2hab2xHQzB2SldMdzhpRUo4OERSZHlPZw==" && body == "grant_type=client_credentials";
            if ok {
                respond(
                    &mut sock,
                    "200 OK",
                    r#"{"token_type":"bearer","access_token":"AAAA-token"}"#,
                )
                .await;
            } else {
                respond(&mut sock, "403 Forbidden", r#"{"errors":[{"code":99}]}"#).await;
            }
            continue;
        }
        if auth != "Bearer AAAA-token" {
            respond(&mut sock, "401 Unauthorized", r#"{"title":"Unauthorized"}"#).await;
            continue;
        }
        if path.starts_with("/2/tweets/search/stream/rules") {
            // The first listing is rate limited and the first dry run meets a 503: both are retried.
            let n = rules_n;
            rules_n += 1;
            if n == 0 {
                respond(&mut sock, "429 Too Many Requests", r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#).await;
                continue;
            }
            if n == 2 {
                respond(
                    &mut sock,
                    "503 Service Unavailable",
                    r#"{"title":"Service Unavailable"}"#,
                )
                .await;
                continue;
            }
            let answer = if method == "GET" {
                json!({"data": [
                    {"id": "100", "value": "old rule", "tag": "sentimap:0"},
                    {"id": "200", "value": "someone else's", "tag": "other"}
                ], "meta": {"result_count": 2}})
            } else {
                json!({"meta": {"summary": {"created": 1, "valid": 1}}})
            };
            respond(&mut sock, "200 OK", &answer.to_string()).await;
            continue;
        }
        if path.starts_with("/2/tweets/search/stream") {
            let n = stream_n;
            stream_n += 1;
            tokio::spawn(stream_connection(sock, n, posts.clone(), hold.clone()));
            continue;
        }
        respond(&mut sock, "404 Not Found", "{}").await;
    }
}

#[tokio::test]
async fn x_stream_reconnects_on_disconnect_503_429_and_stall_with_x_backoff() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut generator = Generator::new(42, 1.0, super::START_UNIX * 1000);
    let posts: Vec<String> = (0..7)
        .map(|_| {
            let v = generator.post(sentimap::produce::source::generate::Format::XV2);
            serde_json::to_string(&v).expect("json")
        })
        .collect();
    let posts = Arc::new(posts);
    let seen: Seen = Arc::default();
    let hold = CancellationToken::new();
    let server = tokio::spawn(serve(listener, seen.clone(), posts.clone(), hold.clone()));

    let dir = scratch("prod-x");
    let mut c = base_config(&dir);
    c.source = SourceKind::X;
    c.sink = SinkKind::Local;
    c.local.dir = dir.join("out");
    c.batch.linger_ms = 20;
    c.backoff_scale = 0.01; // 250 ms -> 2.5 ms, 5 s -> 50 ms, 60 s -> 600 ms, stall 20 s -> 200 ms
    c.x.api_base = base;
    c.x.consumer_key = Some(SecretRef::from("xvz1evFS4wEEPTGEFPHBog".to_owned()));
    c.x.consumer_secret = Some(SecretRef::from(
        "L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg".to_owned(),
    ));
    c.x.rules = vec!["from:sentimap_test".into()];
    c.filter.require_location = false;

    let stop = CancellationToken::new();
    let producer = tokio::spawn(sentimap::produce::run(c, stop.clone()));
    let out = dir.join("out");
    let deadline = Instant::now() + Duration::from_secs(30);
    while local_lines(&out).len() < 7 {
        assert!(
            Instant::now() < deadline,
            "seen: {:?}",
            seen.lock()
                .expect("lock")
                .iter()
                .map(|s| s.1.clone())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let summary = producer.await.expect("join").expect("producer");
    hold.cancel();
    server.abort();

    let expected = posts.iter().map(|p| format!("{p}\n").into_bytes());
    assert_eq!(multiset(local_lines(&out)), multiset(expected));
    assert_eq!(
        summary.received, 7,
        "keep-alives are not posts: {summary:?}"
    );
    assert_eq!(
        (
            summary.reconnects_network,
            summary.reconnects_http,
            summary.reconnects_rate_limited,
            summary.stalls
        ),
        (2, 1, 1, 1),
        "disconnect + stall, 503, 429: {summary:?}"
    );

    let seen = seen.lock().expect("lock").clone();
    let calls: Vec<(String, String)> = seen.iter().map(|s| (s.0.clone(), s.1.clone())).collect();
    let paths: Vec<&str> = calls
        .iter()
        .map(|c| c.1.split('?').next().unwrap_or(""))
        .collect();
    // The listing is tried again after the 429 (X's 60 s, scaled) and the dry run after the 503
    // (5 s, scaled); only then do the changes go out: the stale rule is deleted, ours added.
    let rules: Vec<usize> = (0..seen.len())
        .filter(|&i| paths[i] == "/2/tweets/search/stream/rules")
        .collect();
    assert_eq!(paths[0], "/oauth2/token", "{calls:?}");
    assert_eq!(rules.len(), 6, "{calls:?}");
    let method = |i: usize| calls[rules[i]].0.as_str();
    assert_eq!(
        (0..6).map(method).collect::<Vec<_>>(),
        ["GET", "GET", "POST", "POST", "POST", "POST"],
        "{calls:?}"
    );
    let rules_gap = |i: usize| seen[rules[i + 1]].3.duration_since(seen[rules[i]].3);
    assert!(
        rules_gap(0) >= Duration::from_millis(600),
        "429 -> 60 s x 0.01: {:?}",
        rules_gap(0)
    );
    assert!(
        rules_gap(2) >= Duration::from_millis(50),
        "503 -> 5 s x 0.01: {:?}",
        rules_gap(2)
    );
    // The dry run validates the addition before anything changes; then the stale rule goes.
    assert!(calls[rules[2]].1.ends_with("?dry_run=true"), "{calls:?}");
    assert!(calls[rules[3]].1.ends_with("?dry_run=true"), "{calls:?}");
    let dry: Value = serde_json::from_str(&seen[rules[3]].2).expect("dry-run body");
    assert_eq!(dry["add"][0]["value"], "from:sentimap_test");
    let delete: Value = serde_json::from_str(&seen[rules[4]].2).expect("delete body");
    assert_eq!(
        delete["delete"]["ids"],
        json!(["100"]),
        "only our stale rule"
    );
    let add: Value = serde_json::from_str(&seen[rules[5]].2).expect("add body");
    assert_eq!(add["add"][0]["tag"], "sentimap:0");
    // The stream asks for the fields and expansions that carry places, coordinates and authors.
    let streams: Vec<&(String, String, String, Instant)> = seen
        .iter()
        .filter(|s| s.1.starts_with("/2/tweets/search/stream?"))
        .collect();
    assert!(streams.len() >= 5, "{calls:?}");
    assert!(
        streams[0].1.contains("expansions=geo.place_id,author_id"),
        "{}",
        streams[0].1
    );
    assert!(streams[0]
        .1
        .contains("place.fields=full_name,country_code,geo"));
    // Gaps between attempts follow X's schedule, scaled by 0.01 (lower bounds: never sooner).
    let gap = |i: usize| streams[i + 1].3.duration_since(streams[i].3);
    assert!(
        gap(1) >= Duration::from_millis(50),
        "503 -> 5 s x 0.01: {:?}",
        gap(1)
    );
    assert!(
        gap(2) >= Duration::from_millis(600),
        "429 -> 60 s x 0.01: {:?}",
        gap(2)
    );
    assert!(
        gap(3) >= Duration::from_millis(200),
        "stall after 20 s x 0.01: {:?}",
        gap(3)
    );
}
