//! `sentimap produce` (issue 5) against real protocols on 127.0.0.1: moto's Firehose and S3, the
//! test bed's fault-injecting proxy, a fake X stream server and a local Jetstream websocket.

#[path = "producer_jetstream.rs"]
mod jetstream;
#[path = "producer_x.rs"]
pub(crate) mod x;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use sentimap::produce::config::{Config, SinkKind, SourceKind, StatusMode};
use sentimap::produce::secret::SecretRef;
use sentimap::produce::{Generator, Summary};
use sentimap_core::{normalize, Filter, FilterConfig};
use sentimap_tests::proxy::{Action, Proxy, Reply};
use sentimap_tests::testbed;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Christmas Day 2025, 09:00 UTC: a fixed start so generated posts are the same bytes every run.
const START_UNIX: i64 = 1_766_653_200;

/// A fresh scratch folder under the system's temp dir.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(testbed::unique_name(name));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A config that logs nothing to the terminal and dead-letters into `dir`.
pub(crate) fn base_config(dir: &Path) -> Config {
    Config {
        status: StatusMode::Never,
        dead_letter: dir.join("dead.jsonl"),
        ..Config::default()
    }
}

/// The posts a seeded generator makes, and the ones the filter keeps (raw lines with `\n`).
fn generated(seed: u64, count: usize, filter: &FilterConfig) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let f = Filter::new(filter).expect("filter");
    let all: Vec<Vec<u8>> = Generator::new(seed, 0.75, START_UNIX * 1000)
        .take(count)
        .collect();
    let kept = all
        .iter()
        .filter(|raw| {
            let post = normalize(raw).expect("generated posts normalise");
            f.check(&post).is_ok()
        })
        .map(|raw| {
            let mut line = raw.clone();
            line.push(b'\n');
            line
        })
        .collect();
    (all, kept)
}

/// Counts each line.
pub(crate) fn multiset(lines: impl IntoIterator<Item = Vec<u8>>) -> BTreeMap<Vec<u8>, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(l).or_insert(0) += 1;
    }
    m
}

/// Every line of every object under `prefix` in `bucket`, each with its `\n`.
async fn s3_lines(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> (usize, Vec<Vec<u8>>) {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .max_keys(1000)
        .send()
        .await
        .expect("list objects");
    let mut lines = Vec::new();
    for o in listed.contents() {
        let key = o.key().expect("key");
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("get object")
            .body
            .collect()
            .await
            .expect("read object")
            .into_bytes();
        assert!(
            body.ends_with(b"\n"),
            "{key}: objects are NDJSON, newline-terminated"
        );
        lines.extend(body.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec));
    }
    (listed.contents().len(), lines)
}

/// Every line of every file under `dir` (the local sink), each with its `\n`.
pub(crate) fn local_lines(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tmp"))
            {
                let body = std::fs::read(&p).expect("read sink file");
                out.extend(body.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec));
            }
        }
    }
    out
}

/// A bucket for a Firehose stream the producer will create, and the config pointing at both.
async fn firehose_config(dir: &Path, endpoint: &str) -> (aws_sdk_s3::Client, String, Config) {
    let aws = testbed::aws_config().await;
    let s3 = testbed::s3_client(&aws);
    let bucket = testbed::unique_name("prod");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    let mut c = base_config(dir);
    c.sink = SinkKind::Firehose;
    c.endpoint_url = Some(endpoint.to_owned());
    c.region = Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()));
    c.firehose.delivery_stream_name = Some(testbed::unique_name("prod"));
    c.firehose.bucket_arn = Some(format!("arn:aws:s3:::{bucket}"));
    c.firehose.role_arn = Some("arn:aws:iam::123456789012:role/firehose_delivery_role".into());
    c.firehose.prefix = "twitter/raw-data/".into();
    (s3, bucket, c)
}

async fn run(c: Config) -> Summary {
    sentimap::produce::run(c, CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("producer failed: {e:#}"))
}

#[tokio::test]
async fn generated_posts_reach_s3_through_moto_exactly_the_matching_ones() {
    let dir = scratch("prod-moto");
    let (s3, bucket, mut c) = firehose_config(&dir, &testbed::aws_endpoint_url()).await;
    c.source = SourceKind::Generate;
    c.generate.seed = 7;
    c.generate.count = Some(3_000);
    c.generate.start_unix = Some(START_UNIX);
    c.filter.keywords = vec!["christmas".into(), "coffee".into()];
    let (_, kept) = generated(7, 3_000, &c.filter);
    assert!(
        kept.len() > 300,
        "the filter keeps a good share: {}",
        kept.len()
    );

    let summary = run(c).await;
    assert_eq!(summary.received, 3_000);
    assert_eq!(summary.matched, kept.len() as u64);
    assert_eq!(summary.sent, kept.len() as u64);
    assert_eq!(
        (summary.failed, summary.invalid, summary.retried),
        (0, 0, 0)
    );
    // Batches of up to 500: the original made one call per post.
    assert!(
        summary.calls <= (kept.len() as u64).div_ceil(500) + 1,
        "{summary:?}"
    );

    let (objects, lines) = s3_lines(&s3, &bucket, "twitter/raw-data/").await;
    assert_eq!(
        objects as u64, summary.calls,
        "one object per PutRecordBatch"
    );
    assert_eq!(multiset(lines), multiset(kept));
    assert!(!dir.join("dead.jsonl").exists(), "nothing dead-lettered");
}

/// 30% of the records in every PutRecordBatch fail (dropped from the forwarded request, marked
/// failed in the answer); every fifth call gets a 500 and every seventh a throttling answer, both
/// without reaching moto. Nothing may be lost, and nothing is duplicated.
#[tokio::test]
async fn partial_failures_throttling_and_500s_lose_nothing() {
    let moto = testbed::aws_endpoint_url();
    let calls = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let (calls2, dropped2) = (calls.clone(), dropped.clone());
    let proxy = Proxy::start(&moto, move |req| {
        if req.amz_target() != Some("Firehose_20150804.PutRecordBatch") {
            return Action::Forward;
        }
        let n = calls2.fetch_add(1, Ordering::SeqCst);
        if n % 5 == 1 {
            return Action::Respond(Reply::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"__type": "InternalFailure", "message": "injected 500"}),
            ));
        }
        if n % 7 == 2 {
            return Action::Respond(Reply::json(
                StatusCode::BAD_REQUEST,
                &json!({"__type": "ServiceUnavailableException", "message": "Slow down."}),
            ));
        }
        let Some(mut body) = req.body_json() else {
            return Action::Forward;
        };
        let records = body["Records"].as_array().cloned().unwrap_or_default();
        // A deterministic 30%: records whose data hash (mixed with the call number) falls in it.
        let failed: Vec<bool> = records
            .iter()
            .map(|r| {
                let data = r["Data"].as_str().unwrap_or_default();
                let h = data
                    .bytes()
                    .fold(n.wrapping_mul(0x9E37_79B9), |h, b| {
                        h.wrapping_mul(31).wrapping_add(u64::from(b))
                    });
                h % 10 < 3
            })
            .collect();
        let kept: Vec<_> = records
            .iter()
            .zip(&failed)
            .filter(|(_, f)| !**f)
            .map(|(r, _)| r.clone())
            .collect();
        let n_failed = failed.iter().filter(|f| **f).count();
        dropped2.fetch_add(n_failed as u64, Ordering::SeqCst);
        if kept.is_empty() {
            // Nothing left to forward: answer for moto.
            let responses: Vec<_> = failed
                .iter()
                .map(|_| json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "injected"}))
                .collect();
            return Action::Respond(Reply::json(
                StatusCode::OK,
                &json!({"FailedPutCount": n_failed, "Encrypted": false, "RequestResponses": responses}),
            ));
        }
        body["Records"] = json!(kept);
        req.set_body_json(&body);
        Action::transform(move |mut reply| {
            let Some(mut answer) = reply.body_json() else {
                return reply;
            };
            let upstream = answer["RequestResponses"].as_array().cloned().unwrap_or_default();
            let mut it = upstream.into_iter();
            let merged: Vec<_> = failed
                .iter()
                .map(|f| {
                    if *f {
                        json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "injected partial failure"})
                    } else {
                        it.next().unwrap_or(json!({}))
                    }
                })
                .collect();
            answer["FailedPutCount"] = json!(n_failed);
            answer["RequestResponses"] = json!(merged);
            reply.set_body_json(&answer);
            reply
        })
    })
    .await
    .expect("proxy");

    let dir = scratch("prod-faults");
    let (s3, bucket, mut c) = firehose_config(&dir, &proxy.url()).await;
    c.source = SourceKind::Generate;
    c.generate.seed = 21;
    c.generate.count = Some(2_500);
    c.generate.start_unix = Some(START_UNIX);
    c.filter.require_location = true;
    c.retry.base_ms = 1;
    c.retry.max_ms = 20;
    c.retry.max_attempts = 60;
    let (_, kept) = generated(21, 2_500, &c.filter);

    let summary = run(c).await;
    assert_eq!(summary.sent, kept.len() as u64, "{summary:?}");
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert!(
        summary.retried >= dropped.load(Ordering::SeqCst),
        "{summary:?}"
    );
    let stats = proxy.stats();
    assert!(stats.responded >= 2 && stats.modified >= 2, "{stats:?}");
    assert!(dropped.load(Ordering::SeqCst) > 0);

    let (_, lines) = s3_lines(&s3, &bucket, "twitter/raw-data/").await;
    assert_eq!(multiset(lines), multiset(kept), "0 lost, 0 duplicated");
}

#[tokio::test]
async fn bad_lines_and_oversized_records_are_dead_lettered_with_a_reason() {
    let dir = scratch("prod-dead");
    let input = dir.join("in.jsonl");
    let good = Generator::new(5, 1.0, START_UNIX * 1000)
        .find(|raw| normalize(raw).is_ok_and(|p| p.location.point().is_some()))
        .expect("a located post");
    // A valid post of exactly the core's limit: it passes the core, but with its newline it is
    // one byte over Firehose's record limit.
    let pad = sentimap_core::MAX_RAW_POST_BYTES - br#"{"id_str":"9","text":"","created_at":"Wed Dec 25 10:00:00 +0000 2024","coordinates":{"type":"Point","coordinates":[-0.1,51.5]}}"#.len();
    let huge = format!(
        r#"{{"id_str":"9","text":"{}","created_at":"Wed Dec 25 10:00:00 +0000 2024","coordinates":{{"type":"Point","coordinates":[-0.1,51.5]}}}}"#,
        "a".repeat(pad)
    );
    assert_eq!(huge.len(), sentimap_core::MAX_RAW_POST_BYTES);
    let mut text = Vec::new();
    text.extend_from_slice(&good);
    text.extend_from_slice(b"\n{not json\n{\"delete\":{\"status\":{\"id\":1}}}\n\n");
    text.extend_from_slice(huge.as_bytes());
    text.push(b'\n');
    std::fs::write(&input, text).expect("write input");

    let mut c = base_config(&dir);
    c.source = SourceKind::Replay;
    c.replay.input = Some(input);
    c.sink = SinkKind::Local;
    c.local.dir = dir.join("out");
    let summary = sentimap::produce::run(c, CancellationToken::new())
        .await
        .expect("run");
    assert_eq!(
        (
            summary.received,
            summary.sent,
            summary.invalid,
            summary.skipped,
            summary.failed
        ),
        (4, 1, 1, 1, 1),
        "{summary:?}"
    );
    let mut expected = good.clone();
    expected.push(b'\n');
    assert_eq!(local_lines(&dir.join("out")), vec![expected]);
    let dead = std::fs::read_to_string(dir.join("dead.jsonl")).expect("dead letters");
    let dead: Vec<serde_json::Value> = dead
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0]["kind"], "json");
    assert_eq!(dead[0]["record"], "{not json");
    assert_eq!(dead[1]["kind"], "record_too_large");
    assert!(dead[1]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("1024001 bytes")));
}

/// Env var that turns the test binary into the producer (see [`sigterm_mid_batch_loses_nothing`]).
const CHILD_ENV: &str = "SENTIMAP_TEST_PRODUCER_CONFIG";

/// Runs the producer in a child process (this test binary, re-executed into this test), sends it
/// SIGTERM while a batch is half full, and checks that it exits 0 having delivered every record it
/// accepted.
#[test]
fn sigterm_mid_batch_loses_nothing() {
    if let Ok(config) = std::env::var(CHILD_ENV) {
        // The child: run the producer as `sentimap produce --config FILE --summary FILE` would.
        let args = sentimap::produce::ProduceArgs {
            config: Some(PathBuf::from(&config)),
            summary: Some(PathBuf::from(format!("{config}.summary.json"))),
            ..Default::default()
        };
        let code = match sentimap::produce::main(&args) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("producer failed: {e:#}");
                2
            }
        };
        std::process::exit(code);
    }

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = scratch("prod-sigterm");
    let (s3, bucket, c) = rt.block_on(firehose_config(&dir, &testbed::aws_endpoint_url()));
    let input = dir.join("in.jsonl");
    let (all, _) = generated(3, 6_000, &FilterConfig::default());
    let mut text = Vec::new();
    for raw in &all {
        text.extend_from_slice(raw);
        text.push(b'\n');
    }
    std::fs::write(&input, text).expect("write input");
    let config = dir.join("producer.toml");
    std::fs::write(
        &config,
        format!(
            r#"
source = "replay"
sink = "firehose"
region = "{region}"
endpoint_url = "{endpoint}"
dead_letter = "{dead}"
status = "never"
[replay]
input = "{input}"
rate = 1000.0
[filter]
require_location = false
[batch]
max_records = 500
linger_ms = 60000
[firehose]
DeliveryStreamName = "{stream}"
BucketARN = "{bucket_arn}"
RoleARN = "arn:aws:iam::123456789012:role/firehose_delivery_role"
Prefix = "twitter/raw-data/"
"#,
            region = c.region.as_deref().unwrap_or("us-east-1"),
            endpoint = testbed::aws_endpoint_url(),
            dead = dir.join("dead.jsonl").display(),
            input = input.display(),
            stream = c
                .firehose
                .delivery_stream_name
                .as_deref()
                .unwrap_or_default(),
            bucket_arn = c.firehose.bucket_arn.as_deref().unwrap_or_default(),
        ),
    )
    .expect("write config");

    // Other tests run nested cargo builds that may re-link this test binary while it runs, which
    // unlinks its path; /proc/self/exe still names the running file on Linux.
    let proc_exe = std::path::PathBuf::from("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe
    } else {
        std::env::current_exe().expect("test binary")
    };
    let mut child = std::process::Command::new(exe)
        .args([
            "producer::sigterm_mid_batch_loses_nothing",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &config)
        .env("SENTIMAP_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn the producer");

    // Wait for the first full batch to land: the producer is now mid-stream with a part-filled
    // batch (linger is a minute), and records still arriving.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (objects, _) = rt.block_on(s3_lines(&s3, &bucket, "twitter/raw-data/"));
        if objects >= 1 {
            break;
        }
        if std::time::Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            panic!("the producer delivered nothing in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = child.wait().expect("wait for the producer");
    assert_eq!(exit.code(), Some(0), "exit 0 after SIGTERM");

    let summary: Summary = serde_json::from_slice(
        &std::fs::read(format!("{}.summary.json", config.display())).expect("summary file"),
    )
    .expect("summary JSON");
    assert!(
        summary.accepted > 500 && summary.accepted < 6_000,
        "stopped mid-stream, after the first batch: {summary:?}"
    );
    assert_eq!(summary.sent, summary.accepted, "{summary:?}");
    assert_eq!(summary.failed, 0);
    // Replay is in order: what was accepted is exactly the first `accepted` lines.
    let expected = all[..summary.accepted as usize].iter().map(|r| {
        let mut l = r.clone();
        l.push(b'\n');
        l
    });
    let (_, lines) = rt.block_on(s3_lines(&s3, &bucket, "twitter/raw-data/"));
    assert_eq!(multiset(lines), multiset(expected));
}

#[test]
fn secrets_resolve_from_ssm_and_secrets_manager_in_moto() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let aws = testbed::aws_config().await;
        let name = format!("/sentimap/{}", testbed::unique_name("bearer"));
        aws_json_call(
            "ssm",
            "AmazonSSM.PutParameter",
            &json!({"Name": name, "Value": "from-ssm", "Type": "SecureString"}),
        )
        .await;
        let r = SecretRef::from(format!("ssm:{name}"));
        let s = r.resolve(&aws).await.expect("ssm secret");
        assert_eq!(s.expose(), "from-ssm");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");

        let id = testbed::unique_name("sentimap-x");
        aws_json_call(
            "secretsmanager",
            "secretsmanager.CreateSecret",
            &json!({"Name": id, "SecretString": "{\"bearer_token\":\"from-sm\"}"}),
        )
        .await;
        let r = SecretRef::from(format!("secretsmanager:{id}#bearer_token"));
        assert_eq!(
            format!("{r:?}"),
            format!("secretsmanager:{id}#bearer_token")
        );
        let s = r.resolve(&aws).await.expect("secrets manager secret");
        assert_eq!(s.expose(), "from-sm");
        let missing = SecretRef::from(format!("secretsmanager:{id}#nope"));
        let err = missing.resolve(&aws).await.expect_err("no such key");
        assert!(!format!("{err:#}").contains("from-sm"), "{err:#}");
    });
}

/// One AWS JSON-protocol call to moto (moto does not check signatures): seeds parameters and
/// secrets without pulling two more SDK crates into the tests.
async fn aws_json_call(service: &str, target: &str, body: &serde_json::Value) {
    let resp = testbed::http_client()
        .post(testbed::aws_endpoint_url())
        .header("X-Amz-Target", target)
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "Authorization",
            format!("AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{target}: {e}"));
    assert!(resp.status().is_success(), "{target}: {}", resp.status());
}
