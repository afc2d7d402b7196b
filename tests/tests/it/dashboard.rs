//! The dashboard through the real server: `sentimap demo` as a process, its JSON API over HTTP, its
//! embedded page, and its pipeline from delivered objects to the store.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sentimap_store::{GeoQuery, PostsQuery, SqliteStore, Store, SummaryQuery, TimelineQuery};
use serde_json::Value;

use crate::store::{fixture_docs, opensearch_url, params, raw_posts, unique};

/// A running `sentimap demo`, stopped with SIGINT on drop. Its stdout is read on a thread to the
/// end: closing the pipe early would make the demo's next line fail and stop it.
pub(crate) struct Demo {
    child: Child,
    pub(crate) url: String,
    stdout: std::sync::mpsc::Receiver<String>,
}

impl Demo {
    pub(crate) fn start(data_dir: &Path, extra: &[&str]) -> Demo {
        Demo::start_with_env(data_dir, extra, &[])
    }

    pub(crate) fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Demo {
        let mut child = Command::new(crate::e2e::bin("sentimap"))
            .args(["demo", "--data-dir"])
            .arg(data_dir)
            .args(["--port", "0", "--poll-ms", "100"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting sentimap demo");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the demo prints its URL");
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .trim_end_matches('/')
            .to_string();
        Demo {
            child,
            url,
            stdout: rx,
        }
    }

    /// SIGINT (Ctrl-C), then the exit status and the rest of stdout.
    fn interrupt(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill -INT");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("waiting for the demo") {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "the demo did not stop within 30 s of Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let rest: Vec<String> = self.stdout.try_iter().collect();
        (status, rest.join("\n"))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn wait_total(base: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = get(&format!("{base}/api/summary")).await;
        if v["total"].as_u64() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "summary total stayed {} (want {want})",
            v["total"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_as_the_store_does_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.sqlite")).unwrap();
    store.index(&fixture_docs(21, 400)).await.unwrap();
    let demo = Demo::start(dir.path(), &["--serve-only"]);
    assert!(
        demo.url.starts_with("http://127.0.0.1:"),
        "binds loopback by default: {}",
        demo.url
    );
    let base = demo.url.clone();

    let cases: &[(&str, &[(&str, &str)])] = &[
        ("summary", &[]),
        ("summary", &[("q", "christmas"), ("label", "positive")]),
        ("geo", &[("zoom", "1")]),
        ("geo", &[("zoom", "1"), ("max_points", "10")]),
        (
            "geo",
            &[
                ("bbox", "-12,35,20,60"),
                ("zoom", "4"),
                ("label", "negative,neutral"),
            ],
        ),
        ("timeline", &[]),
        (
            "timeline",
            &[("interval", "3h"), ("from", "2024-12-25T06:00:00Z")],
        ),
        ("posts", &[("limit", "5")]),
        ("posts", &[("q", "tokyo"), ("to", "2024-12-26T00:00:00Z")]),
    ];
    for (endpoint, p) in cases {
        let qs: String = p
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace(',', "%2C").replace(':', "%3A")))
            .collect::<Vec<_>>()
            .join("&");
        let (status, got) = get(&format!("{base}/api/{endpoint}?{qs}")).await;
        assert_eq!(status, 200, "{endpoint} {p:?}: {got}");
        let raw = params(p);
        let want = match *endpoint {
            "summary" => serde_json::to_value(
                store
                    .summary(SummaryQuery::parse(&raw).unwrap())
                    .await
                    .unwrap(),
            ),
            "geo" => serde_json::to_value(store.geo(GeoQuery::parse(&raw).unwrap()).await.unwrap()),
            "timeline" => serde_json::to_value(
                store
                    .timeline(TimelineQuery::parse(&raw).unwrap())
                    .await
                    .unwrap(),
            ),
            _ => serde_json::to_value(store.posts(PostsQuery::parse(&raw).unwrap()).await.unwrap()),
        }
        .unwrap();
        assert_eq!(got, want, "{endpoint} {p:?}");
    }
    let (_, s) = get(&format!("{base}/api/summary")).await;
    assert_eq!(s["total"], 400);

    for bad in [
        "summary?label=happy",
        "summary?from=yesterday",
        "summary?from=2&to=1",
        "geo?bbox=1,2,3",
        "geo?bbox=0,80,10,10",
        "geo?zoom=99",
        "timeline?interval=2h",
        "posts?limit=many",
        "posts?nope=1",
    ] {
        let (status, v) = get(&format!("{base}/api/{bad}")).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{bad}: {v}"
        );
    }

    let http = reqwest::Client::new();
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let r = http
            .request(method.clone(), format!("{base}/api/summary"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            405,
            "{method} must not be allowed: the server is read-only"
        );
    }

    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert!(page.text().await.unwrap().contains(r#"<canvas id="map""#));
    let world = http
        .get(format!("{base}/vendor/countries-110m.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(world.status().as_u16(), 200);
    let topo: Value = world.json().await.unwrap();
    assert_eq!(topo["type"], "Topology");
    for missing in ["/nope.js", "/../Cargo.toml", "/%2e%2e/Cargo.toml"] {
        let r = http.get(format!("{base}{missing}")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "{missing}");
    }

    let (status, out) = demo.interrupt();
    assert!(status.success(), "exit after Ctrl-C: {status:?} {out}");
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("listing dead letters") {
            let p = e.expect("listing dead letters").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn deliver(firehose: &Path, hour: &str, name: &str, lines: &[String]) {
    let dir = firehose.join(hour);
    std::fs::create_dir_all(&dir).expect("creating the hour folder");
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, lines.join("\n") + "\n").expect("writing the object");
    std::fs::rename(&tmp, dir.join(name)).expect("renaming the object into place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_indexes_delivered_objects_dead_letters_bad_records_and_continues_after_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let firehose = dir.path().join("firehose");
    let posts: Vec<String> = raw_posts(33, 130).iter().map(Value::to_string).collect();
    let mut first: Vec<String> = posts[..60].to_vec();
    first.insert(10, "this is not json".into());
    first.insert(20, r#"{"unexpected":"shape"}"#.into());
    first.insert(
        30,
        r#"{"data":{"text":"no id","created_at":"2024-12-25T00:00:00.000Z"}}"#.into(),
    );
    deliver(
        &firehose,
        "2024/12/25/00",
        "s-1-2024-12-25-00-00-00-a",
        &first,
    );
    deliver(
        &firehose,
        "2024/12/25/01",
        "s-1-2024-12-25-01-00-00-b",
        &posts[60..100],
    );
    // A file still being written is not read.
    std::fs::write(firehose.join("2024/12/25/01/.partial.tmp"), "{").unwrap();

    let demo = Demo::start(dir.path(), &["--source", "none"]);
    wait_total(&demo.url, 100).await;
    let dead: Vec<Value> = files_under(&dir.path().join("dead-letters"))
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    assert_eq!(dead.len(), 3, "{dead:?}");
    for d in &dead {
        assert!(
            d.to_string().contains("s-1-2024-12-25-00-00-00-a"),
            "names its object: {d}"
        );
        assert!(
            d["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "says why: {d}"
        );
    }
    let (status, out) = demo.interrupt();
    assert!(status.success(), "{status:?}");
    assert!(out.contains("Stopped:"), "{out}");

    // More objects arrive while it is stopped; the rerun indexes only those.
    deliver(
        &firehose,
        "2024/12/25/02",
        "s-1-2024-12-25-02-00-00-c",
        &posts[100..],
    );
    let demo = Demo::start(dir.path(), &["--source", "none"]);
    wait_total(&demo.url, 130).await;
    let (_, s) = get(&format!("{}/api/summary", demo.url)).await;
    assert_eq!(s["total"], 130);
    let (status, out) = demo.interrupt();
    assert!(status.success());
    assert!(
        out.contains("Stopped: 1 objects"),
        "the rerun processed only the new object: {out}"
    );
}

/// Dummy credentials the SigV4 proxy knows (no real AWS account is involved).
const PROXY_KEY_ID: &str = "AKIDSIGV4PROXYTEST";
const PROXY_SECRET: &str = "proxySECRET/only+for+the+local+test+bed";
const PROXY_TOKEN: &str = "proxySESSIONtoken/for+the+local+test+bed";
const PROXY_REGION: &str = "eu-west-1";

/// A reverse proxy in front of the test bed's OpenSearch node that, like an IAM-only Amazon
/// OpenSearch Service domain, lets through only requests carrying a valid `AWS4-HMAC-SHA256`
/// signature: each one is recomputed with aws-sigv4 from the bytes received and the proxy's copy of
/// the credentials, and must match. Everything else gets 403.
struct SigV4Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    passed: Arc<AtomicUsize>,
    refused: Arc<Mutex<Vec<String>>>,
}

impl SigV4Proxy {
    fn start(upstream: &str) -> SigV4Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        listener.set_nonblocking(true).expect("nonblocking proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let passed = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (stop2, passed2, refused2) = (stop.clone(), passed.clone(), refused.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (up, passed, refused) =
                            (upstream.clone(), passed2.clone(), refused2.clone());
                        std::thread::spawn(move || proxy_one(stream, &up, &passed, &refused));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        SigV4Proxy {
            port,
            stop,
            passed,
            refused,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for SigV4Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Why a request's signature is not the one the proxy computes, or `None` when it is.
fn check_signature(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Option<String> {
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    let Some(auth) = get("authorization") else {
        return Some("no Authorization header".into());
    };
    if !auth.starts_with(sentimap_store::sigv4::SCHEME) {
        return Some(format!("scheme is not {}", sentimap_store::sigv4::SCHEME));
    }
    let Some(date) = get("x-amz-date") else {
        return Some("no x-amz-date".into());
    };
    let time = match time::PrimitiveDateTime::parse(
        date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    ) {
        Ok(t) => std::time::SystemTime::from(t.assume_utc()),
        Err(e) => return Some(format!("x-amz-date {date:?}: {e}")),
    };
    let creds = aws_credential_types::Credentials::new(
        PROXY_KEY_ID,
        PROXY_SECRET,
        Some(PROXY_TOKEN.to_owned()),
        None,
        "proxy",
    );
    let url = match url::Url::parse(&format!(
        "http://{}{target}",
        get("host").unwrap_or_default()
    )) {
        Ok(u) => u,
        Err(e) => return Some(format!("url: {e}")),
    };
    let want = match sentimap_store::sigv4::sign_headers(
        method,
        &url,
        get("content-type").unwrap_or_default(),
        body,
        &creds,
        PROXY_REGION,
        "es",
        time,
    ) {
        Ok(w) => w,
        Err(e) => return Some(e),
    };
    for (name, value) in &want {
        if get(name) != Some(value.as_str()) {
            return Some(format!("{name} differs: got {:?}", get(name)));
        }
    }
    None
}

fn proxy_one(
    stream: TcpStream,
    upstream: &str,
    passed: &AtomicUsize,
    refused: &Mutex<Vec<String>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut client = stream;
    if let Some(why) = check_signature(method, target, &headers, &body) {
        refused
            .lock()
            .expect("refused lock")
            .push(format!("{method} {target}: {why}"));
        let answer = r#"{"message":"The request signature we calculated does not match the signature you provided."}"#;
        let _ = write!(
            client,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        return;
    }
    passed.fetch_add(1, Ordering::Relaxed);
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "application/json".into());
    let _ = write!(
        up,
        "{method} {target} HTTP/1.1\r\nHost: {upstream}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = up.write_all(&body);
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    // Relay the answer, closing this connection after it.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let mut out = format!("{}\r\n", lines.next().unwrap_or("HTTP/1.1 502 Bad Gateway"));
    for l in lines.filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n");
    let _ = client.write_all(out.as_bytes());
    // `split` points at the blank line's "\r\n\r\n": the head above ends with one "\r\n".
    let _ = client.write_all(&answer[(split + 2).min(answer.len())..]);
    let _ = client.flush();
}

/// Issue 7: the dashboard reads (and the demo writes) an IAM-only OpenSearch domain with SigV4:
/// every request passes a proxy that checks its signature, and the answers equal those read from
/// the node directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue7_dashboard_signs_its_opensearch_requests_with_sigv4() {
    let url = opensearch_url();
    let index = unique("sigv4-map");
    let proxy = SigV4Proxy::start(&url);
    // The proxy refuses what is not signed.
    let resp = reqwest::get(format!("{}/_cluster/health", proxy.url()))
        .await
        .expect("GET through the proxy");
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(proxy.refused.lock().unwrap().len(), 1);
    proxy.refused.lock().unwrap().clear();

    let dir = tempfile::tempdir().unwrap();
    let posts: Vec<String> = raw_posts(41, 90).iter().map(Value::to_string).collect();
    deliver(
        &dir.path().join("firehose"),
        "2024/12/25/00",
        "s-1-2024-12-25-00-00-00-a",
        &posts,
    );
    let proxy_url = proxy.url();
    let env = [
        ("AWS_ACCESS_KEY_ID", PROXY_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", PROXY_SECRET),
        ("AWS_SESSION_TOKEN", PROXY_TOKEN),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/sentimap-sigv4-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/sentimap-sigv4-credentials",
        ),
    ];
    let demo = Demo::start_with_env(
        dir.path(),
        &[
            "--source",
            "none",
            "--opensearch",
            &proxy_url,
            "--index",
            &index,
            "--opensearch-auth",
            "sigv4",
            "--region",
            PROXY_REGION,
        ],
        &env,
    );
    wait_total(&demo.url, 90).await;
    let refused = proxy.refused.lock().unwrap().clone();
    assert!(refused.is_empty(), "the proxy refused: {refused:?}");
    assert!(
        proxy.passed.load(Ordering::Relaxed) >= 3,
        "template, bulk and searches went through"
    );

    // The same answers as the node gives directly.
    let mut cfg = sentimap_store::OpenSearchConfig::new(url.clone());
    cfg.index = index.clone();
    let direct = sentimap_store::OpenSearchStore::new(cfg).unwrap();
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("summary", &[]),
        (
            "summary",
            &[("q", "christmas"), ("label", "positive,negative")],
        ),
        ("geo", &[("zoom", "2"), ("max_points", "10")]),
        ("timeline", &[("interval", "1h")]),
        ("posts", &[("q", "paris"), ("limit", "5")]),
    ];
    for (ep, p) in cases {
        let query: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let (status, via_demo) = get(&format!("{}/api/{ep}?{}", demo.url, query.join("&"))).await;
        assert_eq!(status, 200, "{ep} {p:?}: {via_demo}");
        let raw = params(p);
        let want = match *ep {
            "summary" => serde_json::to_value(
                direct
                    .summary(SummaryQuery::parse(&raw).unwrap())
                    .await
                    .unwrap(),
            ),
            "geo" => {
                serde_json::to_value(direct.geo(GeoQuery::parse(&raw).unwrap()).await.unwrap())
            }
            "timeline" => serde_json::to_value(
                direct
                    .timeline(TimelineQuery::parse(&raw).unwrap())
                    .await
                    .unwrap(),
            ),
            _ => serde_json::to_value(
                direct
                    .posts(PostsQuery::parse(&raw).unwrap())
                    .await
                    .unwrap(),
            ),
        }
        .unwrap();
        assert_eq!(via_demo, want, "{ep} {p:?}");
    }

    // A signature made with another secret is refused, and the store says so.
    let wrong = aws_credential_types::Credentials::new(
        PROXY_KEY_ID,
        "not-the-secret",
        Some(PROXY_TOKEN.to_owned()),
        None,
        "test",
    );
    let mut cfg = sentimap_store::OpenSearchConfig::new(proxy_url);
    cfg.index = index;
    cfg.auth = sentimap_store::Auth::SigV4(sentimap_store::sigv4::Signer::new(
        aws_credential_types::provider::SharedCredentialsProvider::new(wrong),
        PROXY_REGION,
        sentimap_store::sigv4::Service::Es,
    ));
    let forged = sentimap_store::OpenSearchStore::new(cfg).unwrap();
    let err = forged
        .summary(SummaryQuery::parse(&params(&[])).unwrap())
        .await
        .expect_err("a wrong secret is refused");
    assert!(err.to_string().contains("403"), "{err}");
    assert_eq!(proxy.refused.lock().unwrap().len(), 1);
}
