//! Issue 9, point 2: the fault suite. Each row is a real run against the test bed (moto, the
//! OpenSearch node, a fake X server, the fault-injecting proxy) with real counts; the suite prints
//! a table of what was injected and what was lost or duplicated, and fails if either is not 0.
//!
//! Rows reuse the area tests' helpers (`producer`, `producer::x`, `lambda`, `e2e`). Start the services
//! with `eval "$(scripts/testbed start)"`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use sentimap::produce::config::{SinkKind, SourceKind};
use sentimap::produce::secret::SecretRef;
use sentimap::produce::source::generate::Format;
use sentimap::produce::{Generator, Summary};
use sentimap_core::normalize;
use sentimap_tests::proxy::{Action, Proxy, Reply};
use sentimap_tests::testbed::{self, OpenSearch, OwnNode};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::e2e::{self, START_UNIX};
use crate::lambda::{self, Fault};
use crate::producer::x::{chunk, read_request, respond};
use crate::producer::{base_config, local_lines, multiset};

/// One row of the table.
struct Row {
    fault: &'static str,
    /// What was injected, in words and numbers.
    injected: String,
    /// How many faults were injected (the row fails below its floor).
    faults: u64,
    /// Records that had to arrive.
    records: u64,
    /// Distinct records that arrived.
    arrived: u64,
    /// Records that had to arrive and did not.
    lost: u64,
    /// Records that arrived more than once (in the index: documents beyond the distinct ids, or
    /// ids indexed under another document).
    duplicated: u64,
    secs: f64,
}

/// Lost and duplicated records between what had to arrive and what did (by record bytes).
fn compare(want: &[Vec<u8>], got: &[Vec<u8>]) -> (u64, u64, u64) {
    let want = multiset(want.iter().cloned());
    let got = multiset(got.iter().cloned());
    let lost = want.keys().filter(|k| !got.contains_key(*k)).count() as u64;
    let dup = got.values().map(|n| (*n as u64).saturating_sub(1)).sum();
    let arrived = want.keys().filter(|k| got.contains_key(*k)).count() as u64;
    (arrived, lost, dup)
}

/// Generated located posts, one line each (with its `\n`).
fn located_lines(seed: u64, n: usize) -> Vec<Vec<u8>> {
    Generator::new(seed, 1.0, START_UNIX * 1000)
        .filter(|raw| normalize(raw).is_ok_and(|p| p.location.point().is_some()))
        .take(n)
        .map(|mut l| {
            l.push(b'\n');
            l
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// X filtered stream: disconnects, 429s, stalls and 503s from a fake X server.

/// Per stream connection: 0 drops after three posts, 1 answers 429, 2 stalls after three posts,
/// 3 answers 503; after `cycles` rounds, a healthy connection serves the rest.
async fn fake_x(
    listener: TcpListener,
    posts: Arc<Vec<String>>,
    cycles: usize,
    served: Arc<Mutex<Vec<usize>>>,
    hold: CancellationToken,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut n = 0usize;
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let Some((_, path, _, _)) = read_request(&mut sock).await else {
            continue;
        };
        if !path.starts_with("/2/tweets/search/stream?") {
            respond(&mut sock, "404 Not Found", "{}").await;
            continue;
        }
        let kind = if n < cycles * 4 { n % 4 } else { 4 };
        n += 1;
        let (posts, served, next, hold) =
            (posts.clone(), served.clone(), next.clone(), hold.clone());
        tokio::spawn(async move { x_connection(sock, kind, posts, served, next, hold).await });
    }
}

async fn x_connection(
    mut sock: TcpStream,
    kind: usize,
    posts: Arc<Vec<String>>,
    served: Arc<Mutex<Vec<usize>>>,
    next: Arc<AtomicUsize>,
    hold: CancellationToken,
) {
    use tokio::io::AsyncWriteExt;
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let take = if kind == 4 { posts.len() } else { 3 };
    match kind {
        1 => {
            return respond(
                &mut sock,
                "429 Too Many Requests",
                r#"{"title":"ConnectionException","connection_issue":"TooManyConnections"}"#,
            )
            .await
        }
        3 => {
            return respond(
                &mut sock,
                "503 Service Unavailable",
                r#"{"title":"Service Unavailable"}"#,
            )
            .await
        }
        _ => {}
    }
    let _ = sock.write_all(head.as_bytes()).await;
    for _ in 0..take {
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= posts.len() {
            break;
        }
        chunk(&mut sock, &format!("{}\r\n", posts[i])).await;
        served.lock().expect("lock").push(i);
    }
    match kind {
        // Drop mid-stream.
        0 => drop(sock),
        // Silence until the client gives up (or the test ends).
        2 => {
            let mut buf = [0u8; 64];
            tokio::select! {
                _ = hold.cancelled() => {}
                _ = sock.read(&mut buf) => {}
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
        }
        // Healthy: keep-alives until the test ends.
        _ => loop {
            tokio::select! {
                _ = hold.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(10)) => chunk(&mut sock, "\r\n").await,
            }
        },
    }
}

async fn x_stream_row() -> Row {
    let t = Instant::now();
    let cycles = 34; // x 4 faults = 136, of which 102 drops, stalls and 429s
    let mut g = Generator::new(77, 1.0, START_UNIX * 1000);
    // Three posts per connection that sends any before its fault (two of four), 30 for the last.
    let posts: Vec<String> = (0..cycles * 2 * 3 + 30)
        .map(|_| serde_json::to_string(&g.post(Format::XV2)).expect("json"))
        .collect();
    let posts = Arc::new(posts);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = Arc::new(Mutex::new(Vec::new()));
    let hold = CancellationToken::new();
    let server = tokio::spawn(fake_x(
        listener,
        posts.clone(),
        cycles,
        served.clone(),
        hold.clone(),
    ));

    let dir = e2e::scratch("faults-x");
    let mut c = base_config(&dir);
    c.source = SourceKind::X;
    c.sink = SinkKind::Local;
    c.local.dir = dir.join("out");
    c.batch.linger_ms = 20;
    // X's schedule scaled by 0.002: 429 -> 120 ms, 503 -> 10 ms, stall 20 s -> 40 ms.
    c.backoff_scale = 0.002;
    c.x.api_base = base;
    c.x.bearer_token = Some(SecretRef::from("AAAA-token".to_owned()));
    c.x.sync_rules = false;
    c.x.rules = vec!["from:sentimap_test".into()];
    c.filter.require_location = false;
    let stop = CancellationToken::new();
    let producer = tokio::spawn(sentimap::produce::run(c, stop.clone()));
    let out = dir.join("out");
    let deadline = Instant::now() + Duration::from_secs(90);
    while local_lines(&out).len() < posts.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    let summary = producer.await.expect("join").expect("producer");
    hold.cancel();
    server.abort();

    let served: Vec<Vec<u8>> = served
        .lock()
        .expect("lock")
        .iter()
        .map(|&i| format!("{}\n", posts[i]).into_bytes())
        .collect();
    let (arrived, lost, duplicated) = compare(&served, &local_lines(&out));
    let faults =
        summary.reconnects_network + summary.reconnects_http + summary.reconnects_rate_limited;
    // The issue's floor counts disconnects, stalls and 429s; the 503s come on top.
    assert!(
        summary.reconnects_network + summary.reconnects_rate_limited >= 100,
        "only {} disconnects, stalls and 429s: {summary:?}",
        summary.reconnects_network + summary.reconnects_rate_limited
    );
    Row {
        fault: "X stream: drops, 429s, stalls, 503s",
        injected: format!(
            "{} drops+stalls ({} stalls), {} 429, {} 503",
            summary.reconnects_network,
            summary.stalls,
            summary.reconnects_rate_limited,
            summary.reconnects_http
        ),
        faults,
        records: served.len() as u64,
        arrived,
        lost: lost + (posts.len() as u64 - served.len() as u64),
        duplicated,
        secs: t.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------------
// Firehose: 30% of the records of every call failed, and throttled calls (a proxy in front of moto).

fn firehose_fault_proxy_hook(
    calls: Arc<AtomicU64>,
    failed_records: Arc<AtomicU64>,
    throttled: Arc<AtomicU64>,
) -> impl Fn(&mut sentimap_tests::proxy::Request) -> Action + Send + Sync + 'static {
    move |req| {
        if req.amz_target() != Some("Firehose_20150804.PutRecordBatch") {
            return Action::Forward;
        }
        let n = calls.fetch_add(1, Ordering::SeqCst);
        if n % 4 == 1 {
            throttled.fetch_add(1, Ordering::SeqCst);
            return Action::Respond(Reply::json(
                StatusCode::BAD_REQUEST,
                &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
            ));
        }
        let Some(mut body) = req.body_json() else {
            return Action::Forward;
        };
        let records = body["Records"].as_array().cloned().unwrap_or_default();
        // A deterministic 30% of the records of this call.
        let failed: Vec<bool> = records
            .iter()
            .enumerate()
            .map(|(i, _)| (i as u64).wrapping_mul(7).wrapping_add(n) % 10 < 3)
            .collect();
        let n_failed = failed.iter().filter(|f| **f).count();
        failed_records.fetch_add(n_failed as u64, Ordering::SeqCst);
        let kept: Vec<Value> = records
            .iter()
            .zip(&failed)
            .filter(|(_, f)| !**f)
            .map(|(r, _)| r.clone())
            .collect();
        let failure = json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "injected partial failure"});
        if kept.is_empty() {
            return Action::Respond(Reply::json(
                StatusCode::OK,
                &json!({"FailedPutCount": n_failed, "Encrypted": false,
                        "RequestResponses": vec![failure; failed.len()]}),
            ));
        }
        body["Records"] = json!(kept);
        req.set_body_json(&body);
        Action::transform(move |mut reply| {
            let Some(mut answer) = reply.body_json() else {
                return reply;
            };
            let mut upstream = answer["RequestResponses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter();
            let merged: Vec<Value> = failed
                .iter()
                .map(|f| {
                    if *f {
                        failure.clone()
                    } else {
                        upstream.next().unwrap_or(json!({}))
                    }
                })
                .collect();
            answer["FailedPutCount"] = json!(n_failed);
            answer["RequestResponses"] = json!(merged);
            reply.set_body_json(&answer);
            reply
        })
    }
}

/// Every line of every object under `prefix`.
async fn s3_lines(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for key in e2e::keys(s3, bucket, prefix).await {
        let body = e2e::object(s3, bucket, &key).await;
        out.extend(body.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec));
    }
    out
}

async fn firehose_row() -> Row {
    let t = Instant::now();
    let (calls, failed, throttled) = (Arc::default(), Arc::default(), Arc::default());
    let proxy = Proxy::start(
        &testbed::aws_endpoint_url(),
        firehose_fault_proxy_hook(
            Arc::clone(&calls),
            Arc::clone(&failed),
            Arc::clone(&throttled),
        ),
    )
    .await
    .expect("proxy");
    let aws = testbed::aws_config().await;
    let s3 = testbed::s3_client(&aws);
    let bucket = testbed::unique_name("faults-fh");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let dir = e2e::scratch("faults-fh");
    let input = dir.join("in.jsonl");
    let lines = located_lines(31, 3_000);
    std::fs::write(&input, lines.concat()).expect("input");
    let mut c = base_config(&dir);
    c.source = SourceKind::Replay;
    c.replay.input = Some(input);
    c.sink = SinkKind::Firehose;
    c.endpoint_url = Some(proxy.url());
    c.region = Some("us-east-1".into());
    c.firehose.delivery_stream_name = Some(testbed::unique_name("faults-fh"));
    c.firehose.bucket_arn = Some(format!("arn:aws:s3:::{bucket}"));
    c.firehose.role_arn = Some("arn:aws:iam::123456789012:role/firehose_delivery_role".into());
    c.firehose.prefix = e2e::RAW_PREFIX.into();
    c.filter.require_location = true;
    c.retry.base_ms = 1;
    c.retry.max_ms = 20;
    c.retry.max_attempts = 60;
    let summary: Summary = sentimap::produce::run(c, CancellationToken::new())
        .await
        .expect("producer");
    assert_eq!(summary.failed, 0, "{summary:?}");
    let got = s3_lines(&s3, &bucket, e2e::RAW_PREFIX).await;
    let (arrived, lost, duplicated) = compare(&lines, &got);
    let (f, th) = (
        failed.load(Ordering::SeqCst),
        throttled.load(Ordering::SeqCst),
    );
    Row {
        fault: "Firehose: 30% records failed, throttling",
        injected: format!(
            "{f} records failed in {} calls, {th} calls throttled",
            calls.load(Ordering::SeqCst)
        ),
        faults: f + th,
        records: lines.len() as u64,
        arrived,
        lost,
        duplicated,
        secs: t.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------------
// SIGTERM of `sentimap produce` mid-batch, then a restart that replays from the start; the
// Lambda indexes every object (re-delivered posts included) and the index dedupes by id.

async fn index_objects(
    sdk: &aws_config::SdkConfig,
    index: &str,
    bucket: &str,
    extra: &[(&str, &str)],
) -> Value {
    let s3 = testbed::s3_client(sdk);
    let keys = e2e::keys(&s3, bucket, e2e::RAW_PREFIX).await;
    handle_keys(sdk, index, bucket, &keys, extra).await
}

/// The Lambda handler, configured by `extra` over the test bed's defaults, run once on an S3 event
/// for `keys`; its answer.
async fn handle_keys(
    sdk: &aws_config::SdkConfig,
    index: &str,
    bucket: &str,
    keys: &[String],
    extra: &[(&str, &str)],
) -> Value {
    lambda::app(sdk, index, extra)
        .handle(lambda::s3_event(bucket, keys))
        .await
        .unwrap_or_else(|e| panic!("handler failed: {e:?}"))
}

/// Lost and duplicated documents in `index` against the ids that had to be there.
async fn index_check(index: &str, want: &BTreeSet<String>) -> (u64, u64, u64) {
    index_check_on(&OpenSearch::from_env(), index, want).await
}

/// [`index_check`] on another node than the test bed's.
async fn index_check_on(os: &OpenSearch, index: &str, want: &BTreeSet<String>) -> (u64, u64, u64) {
    let docs = e2e::index_docs(os, index).await;
    let (_, count) = os
        .json(reqwest::Method::GET, &format!("/{index}/_count"), None)
        .await;
    let count = count["count"].as_u64().unwrap_or(0);
    let got: BTreeSet<&String> = docs.keys().collect();
    let arrived = want.iter().filter(|id| got.contains(id)).count() as u64;
    let lost = want.len() as u64 - arrived;
    // Documents beyond one per expected id (extra ids, or a count above the distinct ids).
    let extra = got.iter().filter(|id| !want.contains(**id)).count() as u64;
    let duplicated = extra + count.saturating_sub(docs.len() as u64);
    (arrived, lost, duplicated)
}

fn ids_of(lines: &[Vec<u8>]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| normalize(l.strip_suffix(b"\n").unwrap_or(l)).ok())
        .map(|p| sentimap_core::IndexDoc::score(p).id)
        .collect()
}

async fn sigterm_row() -> Row {
    let t = Instant::now();
    let aws = testbed::aws_config().await;
    let s3 = testbed::s3_client(&aws);
    let bucket = testbed::unique_name("faults-term");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let dir = e2e::scratch("faults-term");
    let input = dir.join("in.jsonl");
    let lines = located_lines(41, 3_000);
    std::fs::write(&input, lines.concat()).expect("input");
    let stream = testbed::unique_name("faults-term");
    let config = dir.join("p.toml");
    let toml = e2e::producer_toml(
        &testbed::aws_endpoint_url(),
        &stream,
        &bucket,
        &dir.join("dead.jsonl"),
        &format!(
            "source = \"replay\"\n[replay]\ninput = \"{}\"\nrate = 3000.0",
            input.display()
        ),
        &[],
    )
    // A batch lingers for a minute: SIGTERM finds one half full.
    .replace("linger_ms = 200", "linger_ms = 60000");
    std::fs::write(&config, toml).expect("config");
    let summary_path = dir.join("p.summary.json");
    let mut child = Command::new(e2e::bin("sentimap"))
        .arg("produce")
        .arg("--config")
        .arg(&config)
        .arg("--summary")
        .arg(&summary_path)
        .env("SENTIMAP_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn sentimap produce");
    let deadline = Instant::now() + Duration::from_secs(60);
    while e2e::keys(&s3, &bucket, e2e::RAW_PREFIX).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the producer delivered nothing in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0), "exit 0 after SIGTERM");
    let first: Summary = serde_json::from_slice(&std::fs::read(&summary_path).expect("summary"))
        .expect("summary JSON");
    assert!(
        first.accepted < lines.len() as u64,
        "stopped mid-stream: {first:?}"
    );
    assert_eq!(first.sent, first.accepted, "{first:?}");
    // The restart: the replay starts over (no checkpoint), so posts already sent go again.
    let second = e2e::produce(&config.clone());
    let delivered = s3_lines(&s3, &bucket, e2e::RAW_PREFIX).await;
    let index = testbed::unique_name("faults-term");
    let answer = index_objects(&aws, &index, &bucket, &[]).await;
    assert_eq!(lambda::total(&answer, "dead_lettered"), 0, "{answer}");
    let (arrived, lost, duplicated) = index_check(&index, &ids_of(&lines)).await;
    Row {
        fault: "producer SIGTERM mid-batch + replay",
        injected: format!(
            "SIGTERM after {} of {} posts; restart re-sent {}",
            first.accepted,
            lines.len(),
            delivered.len() as u64 - lines.len() as u64
        ),
        faults: 1,
        records: lines.len() as u64,
        arrived,
        lost: lost + (second.failed),
        duplicated,
        secs: t.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------------
// OpenSearch: 429 storms, a node going away mid-bulk, the same S3 event twice, malformed records.

/// An object of `n` located posts under `raw/`; its key.
async fn put_posts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    name: &str,
    first_id: u64,
    n: u64,
) -> (String, BTreeSet<String>) {
    let body: String = (0..n)
        .map(|i| {
            let (lat, lon) = lambda::point(i % 100);
            lambda::post(first_id + i, lat, lon) + "\n"
        })
        .collect();
    let key = format!("{}2025/12/25/10/{name}.json", e2e::RAW_PREFIX);
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(body.clone().into_bytes().into())
        .send()
        .await
        .expect("put object");
    let ids = body
        .lines()
        .flat_map(|l| ids_of(&[l.as_bytes().to_vec()]))
        .collect();
    (key, ids)
}

async fn new_bucket(tag: &str) -> (aws_config::SdkConfig, aws_sdk_s3::Client, String) {
    let aws = testbed::aws_config().await;
    let s3 = testbed::s3_client(&aws);
    let bucket = testbed::unique_name(tag);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    (aws, s3, bucket)
}

async fn opensearch_429_row() -> Row {
    let t = Instant::now();
    let (aws, s3, bucket) = new_bucket("faults-429").await;
    let (key, ids) = put_posts(&s3, &bucket, "storm", 30_000, 2_000).await;
    use Fault::*;
    // A storm: whole requests refused with 429 (and some 503s), answers with half the items 429.
    let mut plan = Vec::new();
    for round in 0..4 {
        plan.extend([
            Status(429),
            Status(429),
            Status(429),
            Items429,
            Items429,
            Status(503),
        ]);
        if round % 2 == 1 {
            plan.push(Forward);
        }
    }
    let faults = plan.iter().filter(|f| !matches!(f, Forward)).count() as u64;
    let proxy = lambda::fault_proxy(plan).await;
    let url = proxy.url();
    let index = testbed::unique_name("faults-429");
    let answer = handle_keys(
        &aws,
        &index,
        &bucket,
        &[key],
        &[
            ("SENTIMAP_INDEX_URL", &url),
            ("SENTIMAP_BULK_MAX_BYTES", "65536"),
            ("SENTIMAP_MAX_RETRIES", "30"),
        ],
    )
    .await;
    let stats = proxy.stats();
    let (arrived, lost, duplicated) = index_check(&index, &ids).await;
    Row {
        fault: "OpenSearch 429 storm",
        injected: format!(
            "{} bulk requests refused (429/503), {} answers with 429 items; {} retried",
            stats.responded,
            stats.transformed,
            lambda::total(&answer, "retried")
        ),
        faults: faults.min(stats.responded + stats.transformed),
        records: ids.len() as u64,
        arrived,
        lost,
        duplicated,
        secs: t.elapsed().as_secs_f64(),
    }
}

async fn node_restart_row() -> Row {
    let t = Instant::now();
    let (aws, s3, bucket) = new_bucket("faults-down").await;
    let (key, ids) = put_posts(&s3, &bucket, "restart", 40_000, 2_000).await;
    // The node takes the second bulk request and dies before answering; it stays down (every
    // connection cut, nothing reaches it) for 3 s, then it is back.
    let down_since: Arc<Mutex<Option<Instant>>> = Arc::default();
    let bulks = AtomicU64::new(0);
    let cut = Arc::new(AtomicU64::new(0));
    let (down2, cut2) = (down_since.clone(), cut.clone());
    let proxy = Proxy::start(&testbed::opensearch_url(), move |req| {
        let mut down = down2.lock().expect("lock");
        if let Some(since) = *down {
            if since.elapsed() < Duration::from_secs(3) {
                cut2.fetch_add(1, Ordering::SeqCst);
                return Action::Close;
            }
            return Action::Forward;
        }
        if req.path.starts_with("/_bulk") && bulks.fetch_add(1, Ordering::SeqCst) == 1 {
            *down = Some(Instant::now());
            cut2.fetch_add(1, Ordering::SeqCst);
            return Action::ForwardThenClose;
        }
        Action::Forward
    })
    .await
    .expect("proxy");
    let url = proxy.url();
    let index = testbed::unique_name("faults-down");
    let answer = handle_keys(
        &aws,
        &index,
        &bucket,
        &[key],
        &[
            ("SENTIMAP_INDEX_URL", &url),
            ("SENTIMAP_BULK_MAX_BYTES", "65536"),
            ("SENTIMAP_MAX_RETRIES", "30"),
            ("SENTIMAP_RETRY_MIN_DELAY_MS", "100"),
            ("SENTIMAP_RETRY_MAX_DELAY_MS", "800"),
        ],
    )
    .await;
    let (arrived, lost, duplicated) = index_check(&index, &ids).await;
    Row {
        fault: "OpenSearch node gone mid-bulk (proxy)",
        injected: format!(
            "bulk cut after the node acted, then down 3 s: {} connections cut; {} retried",
            cut.load(Ordering::SeqCst),
            lambda::total(&answer, "retried")
        ),
        faults: cut.load(Ordering::SeqCst),
        records: ids.len() as u64,
        arrived,
        lost,
        duplicated,
        secs: t.elapsed().as_secs_f64(),
    }
}

async fn node_kill_restart_row() -> Row {
    let t = Instant::now();
    let (aws, s3, bucket) = new_bucket("faults-kill").await;
    let (key, ids) = put_posts(&s3, &bucket, "kill", 60_000, 20_000).await;
    let node = Arc::new(OwnNode::start(e2e::scratch("faults-node"), "opensearch2"));
    // The second bulk request (of about 5,000 documents) is forwarded; 100 ms later, while the node
    // is indexing it, the node is killed with SIGKILL and started again on its port and data.
    let restart: Arc<Mutex<Option<std::thread::JoinHandle<f64>>>> = Arc::default();
    let bulks = AtomicU64::new(0);
    let (node2, restart2) = (node.clone(), restart.clone());
    let proxy = Proxy::start(&node.url, move |req| {
        if req.path.starts_with("/_bulk") && bulks.fetch_add(1, Ordering::SeqCst) == 1 {
            let node = node2.clone();
            *restart2.lock().expect("lock") = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                node.kill_and_restart()
            }));
        }
        Action::Forward
    })
    .await
    .expect("proxy");
    let url = proxy.url();
    let index = testbed::unique_name("faults-kill");
    let answer = handle_keys(
        &aws,
        &index,
        &bucket,
        &[key],
        &[
            ("SENTIMAP_INDEX_URL", &url),
            ("SENTIMAP_BULK_MAX_BYTES", "2097152"),
            // Up to 30 retries of 0.5-5 s: minutes, while a restart takes seconds.
            ("SENTIMAP_MAX_RETRIES", "30"),
            ("SENTIMAP_RETRY_MIN_DELAY_MS", "500"),
            ("SENTIMAP_RETRY_MAX_DELAY_MS", "5000"),
        ],
    )
    .await;
    let handle = restart.lock().expect("lock").take();
    let away = handle
        .expect("the node was killed (a second bulk request was sent)")
        .join()
        .expect("restart thread");
    let stats = proxy.stats();
    let (arrived, lost, duplicated) =
        index_check_on(&OpenSearch::new(&node.url), &index, &ids).await;
    Row {
        fault: "OpenSearch node SIGKILL + restart mid-bulk",
        injected: format!(
            "SIGKILL 100 ms after bulk 2 was sent, back in {away:.1} s: {} requests unanswered; {} retried",
            stats.upstream_errors,
            lambda::total(&answer, "retried")
        ),
        faults: 1,
        records: ids.len() as u64,
        arrived,
        lost,
        duplicated,
        secs: t.elapsed().as_secs_f64(),
    }
}

async fn same_event_twice_row() -> Row {
    let t = Instant::now();
    let (aws, s3, bucket) = new_bucket("faults-twice").await;
    let (key, ids) = put_posts(&s3, &bucket, "twice", 50_000, 1_000).await;
    let index = testbed::unique_name("faults-twice");
    let app = lambda::app(&aws, &index, &[]);
    let event = lambda::s3_event(&bucket, &[key]);
    let mut indexed = 0;
    for _ in 0..2 {
        let answer = app
            .handle(event.clone())
            .await
            .unwrap_or_else(|e| panic!("handler: {e:?}"));
        indexed += lambda::total(&answer, "indexed");
    }
    let (arrived, lost, duplicated) = index_check(&index, &ids).await;
    Row {
        fault: "same S3 event delivered twice",
        injected: format!("1 event x 2 deliveries: {indexed} index writes"),
        faults: 1,
        records: ids.len() as u64,
        arrived,
        lost,
        duplicated,
        secs: t.elapsed().as_secs_f64(),
    }
}

async fn malformed_row() -> Row {
    let t = Instant::now();
    let (aws, s3, bucket) = new_bucket("faults-bad").await;
    // Good posts with every malformed kind between them (not "trailing garbage": in concatenated
    // framing that is a valid post followed by a bad record, and the e2e test covers it).
    let bad: Vec<(&str, Vec<u8>)> = e2e::malformed_records()
        .into_iter()
        .filter(|(name, _)| *name != "trailing garbage")
        .collect();
    let good = located_lines(51, 200);
    let mut body = Vec::new();
    let mut bad_lines = BTreeMap::new();
    let mut line = 0u64;
    for (i, g) in good.iter().enumerate() {
        body.extend_from_slice(g);
        line += 1;
        if let Some((name, raw)) = bad.get(i) {
            body.extend_from_slice(raw);
            body.push(b'\n');
            line += 1;
            bad_lines.insert(line, (*name, e2e::lambda_kind(name, raw)));
        }
    }
    let key = format!("{}2025/12/25/10/malformed.json", e2e::RAW_PREFIX);
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .expect("put object");
    let index = testbed::unique_name("faults-bad");
    let app = lambda::app(&aws, &index, &[]);
    let answer = app
        .handle(lambda::s3_event(&bucket, std::slice::from_ref(&key)))
        .await
        .unwrap_or_else(|e| panic!("handler: {e:?}"));
    assert_eq!(
        lambda::total(&answer, "dead_lettered"),
        bad.len() as u64,
        "{answer}"
    );
    let letters = e2e::lambda_dead_letters(&s3, &bucket).await;
    // Each bad record: one dead letter at its line, with the core's kind and a reason.
    let mut unaccounted = 0u64;
    for (line, (name, kind)) in &bad_lines {
        let found = letters.iter().filter(|l| {
            l["source"]["line"].as_u64() == Some(*line)
                && kind.is_none_or(|k| l["kind"] == k)
                && l["kind"].as_str().is_some_and(|k| !k.is_empty())
                && l["reason"].as_str().is_some_and(|r| !r.is_empty())
        });
        if found.count() != 1 {
            unaccounted += 1;
            let _ = writeln!(
                std::io::stderr(),
                "malformed {name:?} (line {line}): not dead-lettered once as {kind:?}"
            );
        }
    }
    let kinds: BTreeSet<&str> = letters.iter().filter_map(|l| l["kind"].as_str()).collect();
    let (arrived, lost, duplicated) = index_check(&index, &ids_of(&good)).await;
    Row {
        fault: "malformed records (Lambda dead letters)",
        injected: format!(
            "{} malformed kinds ({} error kinds) among {} posts; {} dead letters",
            bad.len(),
            kinds.len(),
            good.len(),
            letters.len()
        ),
        faults: bad.len() as u64,
        records: good.len() as u64 + bad.len() as u64,
        arrived: arrived + (bad.len() as u64 - unaccounted),
        lost: lost + unaccounted,
        duplicated: duplicated + (letters.len() as u64).saturating_sub(bad.len() as u64),
        secs: t.elapsed().as_secs_f64(),
    }
}

fn print_table(rows: &[Row], total: f64) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\nfault suite (issue 9): every row a real run; lost and duplicated must be 0"
    );
    let _ = writeln!(
        out,
        "{:<42} | {:>6} | {:>7} | {:>7} | {:>4} | {:>4} | {:>6} | injected",
        "fault", "faults", "records", "arrived", "lost", "dup", "time"
    );
    let _ = writeln!(out, "{}", "-".repeat(130));
    for r in rows {
        let _ = writeln!(
            out,
            "{:<42} | {:>6} | {:>7} | {:>7} | {:>4} | {:>4} | {:>5.1}s | {}",
            r.fault, r.faults, r.records, r.arrived, r.lost, r.duplicated, r.secs, r.injected
        );
    }
    let faults: u64 = rows.iter().map(|r| r.faults).sum();
    let lost: u64 = rows.iter().map(|r| r.lost).sum();
    let dup: u64 = rows.iter().map(|r| r.duplicated).sum();
    let _ = writeln!(out, "{}", "-".repeat(130));
    let _ = writeln!(
        out,
        "{:<42} | {:>6} | {:>7} | {:>7} | {:>4} | {:>4} | {:>5.1}s |",
        "total", faults, "", "", lost, dup, total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_suite_loses_and_duplicates_nothing() {
    // Fail at once, with the hint, without the test bed.
    let _ = (testbed::opensearch_url(), testbed::aws_endpoint_url());
    // The SIGTERM row runs the `sentimap` binary: build it first, outside the timings.
    let build = Instant::now();
    let _ = e2e::bin("sentimap");
    let build = build.elapsed().as_secs_f64();
    let t = Instant::now();
    let rows = vec![
        x_stream_row().await,
        firehose_row().await,
        sigterm_row().await,
        opensearch_429_row().await,
        node_restart_row().await,
        node_kill_restart_row().await,
        same_event_twice_row().await,
        malformed_row().await,
    ];
    print_table(&rows, t.elapsed().as_secs_f64());
    let _ = writeln!(
        std::io::stdout().lock(),
        "(binaries built or checked first in {build:.1}s)"
    );
    let floors = [100, 100, 1, 20, 2, 1, 1, 20];
    for (r, floor) in rows.iter().zip(floors) {
        assert!(
            r.faults >= floor,
            "{}: only {} faults injected (floor {floor})",
            r.fault,
            r.faults
        );
        assert_eq!(r.lost, 0, "{}: lost {}", r.fault, r.lost);
        assert_eq!(r.duplicated, 0, "{}: duplicated {}", r.fault, r.duplicated);
        assert_eq!(r.arrived, r.records, "{}", r.fault);
    }
}
