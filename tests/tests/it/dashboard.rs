//! The dashboard through the real server: `sentimap demo` as a process, its JSON API over HTTP, its
//! embedded page, and its pipeline from delivered objects to the store.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sentimap_store::{GeoQuery, PostsQuery, SqliteStore, Store, SummaryQuery, TimelineQuery};
use serde_json::Value;

use crate::store::{fixture_docs, params, raw_posts};

/// A running `sentimap demo`, stopped with SIGINT on drop. Its stdout is read on a thread to the
/// end: closing the pipe early would make the demo's next line fail and stop it.
pub(crate) struct Demo {
    child: Child,
    pub(crate) url: String,
    stdout: std::sync::mpsc::Receiver<String>,
}

impl Demo {
    pub(crate) fn start(data_dir: &Path, extra: &[&str]) -> Demo {
        let mut child = Command::new(crate::e2e::bin("sentimap"))
            .args(["demo", "--data-dir"])
            .arg(data_dir)
            .args(["--port", "0", "--poll-ms", "100"])
            .args(extra)
            .env("RUST_LOG", "warn")
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
