//! Issue 9, point 1: the whole pipeline on the test bed, every part real.
//!
//! `sentimap produce` (the binary: the generator, then a replay file holding non-matching, unlocated,
//! malformed and oversize records; 10,000 posts in all) -> moto's Firehose (real `PutRecordBatch`)
//! -> moto's S3 under `raw/YYYY/MM/DD/HH/` -> moto's S3 -> SQS notifications -> the Lambda handler
//! (`sentimap-lambda`) under the runtime API emulator `cargo lambda watch`, invoked with SQS events
//! read from the queue -> the test bed's OpenSearch node -> the dashboard API (`sentimap demo
//! --serve-only --opensearch`).
//!
//! Every expectation is computed from the same inputs by the core (`normalize`, `Filter`,
//! `IndexDoc::score`); nothing is hard-coded. Start the services with
//! `eval "$(scripts/testbed start)"`, and install cargo-lambda with `scripts/install.d/50-lambda.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use sentimap::produce::{Generator, Summary};
use sentimap_core::{normalize, Filter, FilterConfig, IndexDoc};
use sentimap_tests::testbed::{self, OpenSearch};
use serde_json::{json, Value};

/// Christmas Day 2025, 09:00 UTC: generated posts are the same bytes every run.
pub(crate) const START_UNIX: i64 = 1_766_653_200;

/// Where Firehose delivers (and the only prefix whose objects notify the queue).
pub(crate) const RAW_PREFIX: &str = "raw/";

/// Where the Lambda writes its dead letters (outside [`RAW_PREFIX`]: no loop).
pub(crate) const DEAD_PREFIX: &str = "dead-letter/";

/// Firehose's record limit: the producer dead-letters a record longer than this, newline included.
const FIREHOSE_RECORD_BYTES: usize = 1_024_000;

/// Malformed records, one of each kind, as (name, bytes). The core refuses every one of them
/// (checked by [`malformed_records_are_refused_by_the_core`]), so each must be dead-lettered.
pub(crate) fn malformed_records() -> Vec<(&'static str, Vec<u8>)> {
    const C: &str = r#""created_at":"Wed Dec 25 10:00:00 +0000 2024""#;
    const P: &str = r#""coordinates":{"type":"Point","coordinates":[2.35,48.86]}"#;
    let mut v: Vec<(&'static str, String)> = vec![
        ("not JSON", "{not json".into()),
        ("truncated JSON", r#"{"id_str":"1","text":"Merry christmas"#.into()),
        ("a JSON array", "[1,2,3]".into()),
        ("a JSON string", r#""just a string""#.into()),
        ("a JSON number", "42".into()),
        ("JSON null", "null".into()),
        ("an empty object", "{}".into()),
        ("no id", format!(r#"{{"text":"christmas",{C},{P}}}"#)),
        ("id of the wrong type", format!(r#"{{"id_str":{{"a":1}},"text":"christmas",{C},{P}}}"#)),
        ("no text", format!(r#"{{"id_str":"2",{C},{P}}}"#)),
        ("text of the wrong type", format!(r#"{{"id_str":"3","text":5,{C},{P}}}"#)),
        ("no created_at", format!(r#"{{"id_str":"4","text":"christmas",{P}}}"#)),
        ("unparsable created_at", format!(r#"{{"id_str":"5","text":"christmas","created_at":"yesterday",{P}}}"#)),
        ("created_at a number", r#"{"id_str":"14","text":"christmas","created_at":12}"#.into()),
        ("latitude out of range", format!(r#"{{"id_str":"6","text":"christmas",{C},"coordinates":{{"type":"Point","coordinates":[500,100]}}}}"#)),
        ("coordinates not numbers", format!(r#"{{"id_str":"7","text":"christmas",{C},"coordinates":{{"type":"Point","coordinates":"here"}}}}"#)),
        ("NaN coordinate", format!(r#"{{"id_str":"11","text":"christmas",{C},"coordinates":{{"type":"Point","coordinates":[NaN,1]}}}}"#)),
        ("number out of range", format!(r#"{{"id_str":"13","text":"christmas",{C},"coordinates":{{"type":"Point","coordinates":[1e999,1]}}}}"#)),
        ("trailing garbage", format!(r#"{{"id_str":"9","text":"christmas",{C}}} trailing"#)),
        ("lone surrogate escape", format!(r#"{{"id_str":"10","text":"christmas \ud800",{C}}}"#)),
        ("invalid escape", format!(r#"{{"id_str":"12","text":"christmas \q",{C}}}"#)),
        ("empty id", format!(r#"{{"id_str":"","text":"christmas",{C}}}"#)),
        ("negative id", format!(r#"{{"id_str":"-5","text":"christmas",{C}}}"#)),
        ("user not an object", format!(r#"{{"id_str":"15","text":"christmas",{C},"user":"me"}}"#)),
        ("hashtags not an array", format!(r#"{{"id_str":"16","text":"christmas",{C},"entities":{{"hashtags":"xmas"}}}}"#)),
        ("X v2 message without id", r#"{"data":{"text":"christmas","created_at":"2024-12-25T10:00:00.000Z"}}"#.into()),
        ("Jetstream commit without record", r#"{"did":"did:plc:abc","time_us":1735120800000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k"}}"#.into()),
    ];
    // Longer than the core accepts.
    v.push((
        "oversize (core limit + 1)",
        format!(
            r#"{{"id_str":"17","text":"{}",{C}}}"#,
            "a".repeat(sentimap_core::MAX_RAW_POST_BYTES)
        ),
    ));
    let mut out: Vec<(&'static str, Vec<u8>)> =
        v.into_iter().map(|(k, s)| (k, s.into_bytes())).collect();
    out.push(("invalid UTF-8", b"\xff\xfe{\"id_str\":\"99\"}".to_vec()));
    out
}

/// The kind the Lambda's dead letter must carry for a malformed record: the core's, except for a
/// top-level JSON array, which the Lambda's framing reads as a list of records (Firehose objects may
/// be arrays), so the bad record is the array's content and its kind follows from that.
pub(crate) fn lambda_kind(name: &str, raw: &[u8]) -> Option<&'static str> {
    if name == "a JSON array" {
        return None;
    }
    normalize(raw).err().map(|e| e.kind())
}

#[test]
fn malformed_records_are_refused_by_the_core() {
    let records = malformed_records();
    assert!(records.len() >= 20, "at least 20 kinds");
    for (name, raw) in records {
        assert!(normalize(&raw).is_err(), "{name} was accepted");
    }
}

/// A fresh scratch folder.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(testbed::unique_name(name));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Builds the workspace's binaries once and returns the path of `name` (debug).
pub(crate) fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let root = sentimap_tests::repo_root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // The selection `cargo test --workspace` builds, so no dependency is rebuilt.
        let status = Command::new(cargo)
            .args(["build", "--workspace", "--bins", "--tests", "--quiet"])
            .current_dir(&root)
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build --workspace --bins failed");
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"))
            .join("debug")
    });
    dir.join(name)
}

/// A bucket whose `raw/` objects notify a fresh SQS queue: (bucket, queue URL, queue ARN).
pub(crate) async fn notifying_bucket(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    tag: &str,
) -> (String, String, String) {
    let bucket = testbed::unique_name(tag);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    let queue = sqs
        .create_queue()
        .queue_name(&bucket)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue URL");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue ARN");
    let rule = FilterRule::builder()
        .name(FilterRuleName::Prefix)
        .value(RAW_PREFIX)
        .build();
    let config = QueueConfiguration::builder()
        .queue_arn(&arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(S3KeyFilter::builder().filter_rules(rule).build())
                .build(),
        )
        .build()
        .expect("queue configuration");
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(config)
                .build(),
        )
        .send()
        .await
        .expect("bucket notification");
    (bucket, queue, arn)
}

/// Keys of every object under `prefix`.
pub(crate) async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .expect("list objects");
        out.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return out;
        }
    }
}

/// One object's bytes.
pub(crate) async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get object")
        .body
        .collect()
        .await
        .expect("read object")
        .into_bytes()
        .to_vec()
}

/// Every dead letter the Lambda wrote under [`DEAD_PREFIX`].
pub(crate) async fn lambda_dead_letters(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for key in keys(s3, bucket, DEAD_PREFIX).await {
        let body = object(s3, bucket, &key).await;
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            out.push(serde_json::from_slice(line).expect("dead letters are JSON lines"));
        }
    }
    out
}

/// Reads the queue until it holds a notification for each of `want` objects, and returns the SQS
/// events (ten messages at most each, as the event source mapping batches them), deleting what
/// was read. Test events and repeats are passed on too: the handler must cope with them.
pub(crate) async fn sqs_events(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    arn: &str,
    want: &BTreeSet<String>,
) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !want.is_subset(&seen) {
        assert!(
            Instant::now() < deadline,
            "notifications missing for {:?}",
            want.difference(&seen).collect::<Vec<_>>()
        );
        let answer = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive message");
        let mut records = Vec::new();
        for m in answer.messages() {
            let body = m.body().unwrap_or_default();
            if let Ok(v) = serde_json::from_str::<Value>(body) {
                for r in v["Records"].as_array().into_iter().flatten() {
                    if let Some(k) = r["s3"]["object"]["key"].as_str() {
                        seen.insert(url_decode(k));
                    }
                }
            }
            records.push(json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }));
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete message");
        }
        if !records.is_empty() {
            events.push(json!({ "Records": records }));
        }
    }
    events
}

/// S3 notification keys are form-encoded (moto encodes `/` too).
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every document of `index`: `_id` -> (`_version`, `_source`). Refreshes first.
pub(crate) async fn index_docs(os: &OpenSearch, index: &str) -> BTreeMap<String, (u64, Value)> {
    os.json(reqwest::Method::POST, &format!("/{index}/_refresh"), None)
        .await;
    let mut out = BTreeMap::new();
    let mut after: Option<Value> = None;
    loop {
        let mut query = json!({"size": 2000, "version": true, "sort": [{"_id": "asc"}], "query": {"match_all": {}}});
        if let Some(a) = &after {
            query["search_after"] = a.clone();
        }
        let (status, body) = os
            .json(
                reqwest::Method::POST,
                &format!("/{index}/_search"),
                Some(&query),
            )
            .await;
        assert!(status.is_success(), "search {index}: {status} {body}");
        let hits = body["hits"]["hits"].as_array().cloned().unwrap_or_default();
        if hits.is_empty() {
            return out;
        }
        for h in &hits {
            let id = h["_id"].as_str().expect("_id").to_owned();
            let version = h["_version"].as_u64().unwrap_or(0);
            assert!(
                out.insert(id.clone(), (version, h["_source"].clone()))
                    .is_none(),
                "{id} listed twice"
            );
        }
        after = hits.last().map(|h| h["sort"].clone());
    }
}

/// `cargo lambda watch` running the `sentimap-lambda` binary under the runtime API emulator, in its
/// own process group (stopped with the function it spawned on drop).
pub(crate) struct LambdaWatch {
    child: Child,
    port: u16,
    http: reqwest::Client,
    log: PathBuf,
}

impl LambdaWatch {
    /// Starts the emulator with `env` as the function's environment; waits until it listens.
    pub(crate) fn start(dir: &Path, env: &[(&str, String)]) -> LambdaWatch {
        let root = sentimap_tests::repo_root();
        let cargo_lambda = root.join(".venv/lambda/bin/cargo-lambda");
        assert!(
            cargo_lambda.exists(),
            "{} is missing: run scripts/install.d/50-lambda.sh",
            cargo_lambda.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let env_file = dir.join("lambda.env");
        let mut text = String::new();
        for (k, v) in env {
            text.push_str(&format!("{k}={v}\n"));
        }
        for k in [
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            text.push_str(&format!("{k}={}\n", testbed::env(k)));
        }
        text.push_str("AWS_REGION=us-east-1\nRUST_LOG=warn\n");
        std::fs::write(&env_file, text).expect("write env file");
        let log = dir.join("watch.log");
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        use std::os::unix::process::CommandExt;
        let child = Command::new(cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--package",
                "sentimap-lambda",
                "--bin",
                "sentimap-lambda",
            ])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            .arg("--env-file")
            .arg(&env_file)
            .arg("--ignore-changes")
            .current_dir(&root)
            .process_group(0)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn cargo lambda watch");
        let w = LambdaWatch {
            child,
            port,
            http: testbed::http_client(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(300);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen: {}",
                w.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        w
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Invokes the function with `event`, as `cargo lambda invoke` does; the status and the answer.
    pub(crate) async fn invoke(&self, event: &Value) -> (u16, Value) {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/sentimap-lambda/invocations",
            self.port
        );
        // The first invocation builds the function: allow for a compile, but not for a failed one
        // (the emulator then keeps the invocation waiting; its log says the build failed).
        let send = self
            .http
            .post(url)
            .json(event)
            .timeout(Duration::from_secs(900))
            .send();
        let build_failed = async {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if self.log_text().contains("ERROR command exited") {
                    return;
                }
            }
        };
        let r = tokio::select! {
            r = send => r.unwrap_or_else(|e| panic!("invoke: {e}\n{}", self.log_text())),
            () = build_failed => panic!("cargo lambda watch could not build the function:\n{}", self.log_text()),
        };
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// Runs `sentimap produce --config <config>` to its end; the summary it wrote.
pub(crate) fn produce(config: &Path) -> Summary {
    let summary = config.with_extension("summary.json");
    let out = Command::new(bin("sentimap"))
        .arg("produce")
        .arg("--config")
        .arg(config)
        .arg("--summary")
        .arg(&summary)
        .env("SENTIMAP_LOG", "warn")
        .stdout(Stdio::null())
        .output()
        .expect("run sentimap produce");
    assert!(
        out.status.success(),
        "sentimap produce failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&summary).expect("summary file")).expect("summary JSON")
}

/// A producer config (TOML) delivering to Firehose `stream` -> `bucket` under [`RAW_PREFIX`].
pub(crate) fn producer_toml(
    endpoint: &str,
    stream: &str,
    bucket: &str,
    dead: &Path,
    source: &str,
    keywords: &[&str],
) -> String {
    let kw: Vec<String> = keywords.iter().map(|k| format!("{k:?}")).collect();
    format!(
        r#"
sink = "firehose"
region = "us-east-1"
endpoint_url = "{endpoint}"
dead_letter = "{dead}"
status = "never"
{source}
[filter]
keywords = [{kw}]
require_location = true
[batch]
max_records = 500
linger_ms = 200
[retry]
base_ms = 1
max_ms = 20
max_attempts = 60
[firehose]
DeliveryStreamName = "{stream}"
BucketARN = "arn:aws:s3:::{bucket}"
RoleARN = "arn:aws:iam::123456789012:role/firehose_delivery_role"
Prefix = "{RAW_PREFIX}"
"#,
        dead = dead.display(),
        kw = kw.join(", "),
    )
}

/// The Lambda's environment for `index` (dead letters under [`DEAD_PREFIX`] of the source bucket).
pub(crate) fn lambda_env(index_url: &str, index: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SENTIMAP_INDEX_URL", index_url.to_owned()),
        ("SENTIMAP_INDEX", index.to_owned()),
        ("SENTIMAP_TEMPLATE_NAME", index.to_owned()),
        ("SENTIMAP_DEAD_LETTER_PREFIX", DEAD_PREFIX.to_owned()),
        ("SENTIMAP_RETRY_MIN_DELAY_MS", "20".to_owned()),
        ("SENTIMAP_RETRY_MAX_DELAY_MS", "500".to_owned()),
    ]
}

/// What the pipeline must index for these raw records: id -> the core's document.
pub(crate) fn expected_docs<'a>(
    raws: impl IntoIterator<Item = &'a [u8]>,
    filter: &FilterConfig,
) -> BTreeMap<String, Value> {
    let f = Filter::new(filter).expect("filter");
    let mut out = BTreeMap::new();
    for raw in raws {
        if raw.len() + 1 > FIREHOSE_RECORD_BYTES {
            continue;
        }
        let Ok(post) = normalize(raw) else { continue };
        if f.check(&post).is_err() {
            continue;
        }
        let doc = serde_json::to_value(IndexDoc::score(post)).expect("doc JSON");
        out.insert(doc["id"].as_str().expect("id").to_owned(), doc);
    }
    out
}

/// Writes raw records, one a line, to `path`.
pub(crate) fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut text = Vec::new();
    for l in lines {
        text.extend_from_slice(l);
        text.push(b'\n');
    }
    std::fs::write(path, text).expect("write lines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_posts_through_firehose_s3_sqs_lambda_opensearch_and_dashboard() {
    let started = Instant::now();
    let os = OpenSearch::from_env();
    let aws = testbed::aws_config().await;
    let s3 = testbed::s3_client(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let dir = scratch("e2e");
    let (bucket, queue, arn) = notifying_bucket(&s3, &sqs, "e2e").await;
    let index = testbed::unique_name("e2e-posts");
    let stream = testbed::unique_name("e2e");
    let keywords = ["christmas", "coffee", "snow"];
    let filter = FilterConfig {
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        require_location: true,
        ..FilterConfig::default()
    };

    // The emulator builds the function while the producer runs.
    let watch = LambdaWatch::start(&dir, &lambda_env(&os.url, &index));

    // 1. The generator: 5,000 posts (a quarter unlocated, most not matching).
    let generated: Vec<Vec<u8>> = Generator::new(91, 0.75, START_UNIX * 1000)
        .take(5_000)
        .collect();
    // One `sentimap produce` run into the stream: its config file, source and dead-letter file.
    let produce_from = |name: &str, source: &str, dead: &str| {
        let config = dir.join(name);
        std::fs::write(
            &config,
            producer_toml(
                &testbed::aws_endpoint_url(),
                &stream,
                &bucket,
                &dir.join(dead),
                source,
                &keywords,
            ),
        )
        .expect("config");
        produce(&config)
    };
    let source = format!(
        "source = \"generate\"\n[generate]\nseed = 91\ncount = 5000\nlocated_share = 0.75\nstart_unix = {START_UNIX}"
    );
    let gen_summary = produce_from("generate.toml", &source, "dead-gen.jsonl");

    // 2. A replay of 5,000 records: other generated posts with every malformed kind spread among
    // them, and one valid post exactly at the core's limit (too large for a Firehose record).
    let bad = malformed_records();
    let mut replay: Vec<Vec<u8>> = Generator::new(92, 0.75, (START_UNIX + 3_600) * 1000)
        .take(5_000 - bad.len() - 1)
        .collect();
    for (i, (_, raw)) in bad.iter().enumerate() {
        replay.insert(i * 150 + 7, raw.clone());
    }
    let limit_post = {
        let shell = r#"{"id_str":"424242","text":"christmas ","created_at":"Thu Dec 25 10:00:00 +0000 2025","coordinates":{"type":"Point","coordinates":[-0.1,51.5]}}"#;
        let pad = sentimap_core::MAX_RAW_POST_BYTES - shell.len();
        shell
            .replace("christmas ", &format!("christmas {}", "a".repeat(pad)))
            .into_bytes()
    };
    assert_eq!(limit_post.len(), sentimap_core::MAX_RAW_POST_BYTES);
    assert!(normalize(&limit_post).is_ok());
    replay.push(limit_post.clone());
    assert_eq!(generated.len() + replay.len(), 10_000);
    let input = dir.join("replay.jsonl");
    write_lines(&input, &replay);
    let source = format!(
        "source = \"replay\"\n[replay]\ninput = \"{}\"",
        input.display()
    );
    let replay_summary = produce_from("replay.toml", &source, "dead-replay.jsonl");

    // 3. An object another writer put under the delivery prefix, with bad records the Lambda must
    // dead-letter itself: a few good posts, then every malformed kind.
    let foreign_good: Vec<Vec<u8>> = Generator::new(93, 1.0, START_UNIX * 1000)
        .filter(|raw| {
            normalize(raw).is_ok_and(|p| Filter::new(&filter).expect("filter").check(&p).is_ok())
        })
        .take(5)
        .collect();
    // Firehose concatenates records, so the Lambda frames JSON values, not lines: a valid post with
    // trailing garbage is a post and then a bad record there. Leave that one to the producer.
    let foreign_bad: Vec<&(&str, Vec<u8>)> = bad
        .iter()
        .filter(|(name, _)| *name != "trailing garbage")
        .collect();
    let mut foreign = foreign_good.clone();
    foreign.extend(foreign_bad.iter().map(|(_, r)| r.clone()));
    let foreign_key = format!("{RAW_PREFIX}2025/12/25/09/foreign writer+1.json");
    let mut body = Vec::new();
    for l in &foreign {
        body.extend_from_slice(l);
        body.push(b'\n');
    }
    s3.put_object()
        .bucket(&bucket)
        .key(&foreign_key)
        .body(body.into())
        .send()
        .await
        .expect("put foreign object");

    // The producer's own accounting, against the core's verdict on the same records.
    let produced_t = started.elapsed();
    let expected_gen = expected_docs(generated.iter().map(Vec::as_slice), &filter);
    let expected_replay = expected_docs(replay.iter().map(Vec::as_slice), &filter);
    assert_eq!(gen_summary.received, 5_000, "{gen_summary:?}");
    assert_eq!(
        gen_summary.sent,
        expected_gen.len() as u64,
        "{gen_summary:?}"
    );
    assert_eq!(
        (gen_summary.invalid, gen_summary.failed),
        (0, 0),
        "{gen_summary:?}"
    );
    assert_eq!(replay_summary.received, 5_000, "{replay_summary:?}");
    assert_eq!(
        replay_summary.sent,
        expected_replay.len() as u64,
        "{replay_summary:?}"
    );
    // The producer skips what is not a post at all (`unsupported_shape`: stream notices, and also
    // JSON that is no object): counted, not dead-lettered. Everything else bad is dead-lettered.
    let shapeless = |raw: &[u8]| {
        normalize(raw)
            .err()
            .is_some_and(|e| e.kind() == "unsupported_shape")
    };
    let skipped: Vec<&(&str, Vec<u8>)> = bad.iter().filter(|(_, r)| shapeless(r)).collect();
    let lettered: Vec<&(&str, Vec<u8>)> = bad.iter().filter(|(_, r)| !shapeless(r)).collect();
    assert_eq!(
        replay_summary.skipped,
        skipped.len() as u64,
        "{replay_summary:?}"
    );
    assert_eq!(
        replay_summary.invalid + replay_summary.failed,
        lettered.len() as u64 + 1,
        "{replay_summary:?}"
    );
    let unlocated_or_unmatched =
        10_000 - gen_summary.sent - replay_summary.sent - bad.len() as u64 - 1;
    assert!(
        unlocated_or_unmatched > 1_000,
        "the filter dropped many: {unlocated_or_unmatched}"
    );
    assert_eq!(
        gen_summary.rejected + replay_summary.rejected,
        unlocated_or_unmatched
    );
    assert!(
        !dir.join("dead-gen.jsonl").exists(),
        "the generator makes no bad records"
    );
    // Producer dead letters: every bad record, in order, with the core's kind and a reason.
    let dead: Vec<Value> = std::fs::read_to_string(dir.join("dead-replay.jsonl"))
        .expect("producer dead letters")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(dead.len(), lettered.len() + 1, "{dead:?}");
    for ((name, raw), d) in lettered.iter().map(|b| (b.0, &b.1)).zip(&dead) {
        let kind = normalize(raw).err().map(|e| e.kind()).expect("refused");
        assert_eq!(d["kind"], kind, "{name}: {d}");
        assert!(
            d["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{name}: {d}"
        );
    }
    assert_eq!(
        dead[lettered.len()]["kind"],
        "record_too_large",
        "{}",
        dead[lettered.len()]
    );

    // 4. SQS -> the Lambda under the emulator, one invocation per batch of ten messages.
    let raw_keys: BTreeSet<String> = keys(&s3, &bucket, RAW_PREFIX).await.into_iter().collect();
    assert_eq!(
        raw_keys.len() as u64,
        gen_summary.calls + replay_summary.calls + 1,
        "one object per PutRecordBatch, plus the foreign one"
    );
    for k in &raw_keys {
        assert!(
            k == &foreign_key || k.split('/').nth(1).is_some_and(|y| y.len() == 4),
            "Firehose layout prefix/YYYY/MM/DD/HH/: {k}"
        );
    }
    let events = sqs_events(&sqs, &queue, &arn, &raw_keys).await;
    let mut lambda_indexed = 0;
    let mut lambda_dead = 0;
    for event in &events {
        let (status, answer) = watch.invoke(event).await;
        assert_eq!(status, 200, "{answer}\n{}", watch.log_text());
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
        for o in answer["objects"].as_array().into_iter().flatten() {
            lambda_indexed += o["indexed"].as_u64().unwrap_or(0);
            lambda_dead += o["dead_lettered"].as_u64().unwrap_or(0);
        }
    }
    let lambda_t = started.elapsed();

    // 5. OpenSearch: each matching post exactly once, as the core scores and places it.
    let mut expected = expected_gen;
    expected.extend(expected_replay);
    expected.extend(expected_docs(
        foreign_good.iter().map(Vec::as_slice),
        &filter,
    ));
    let docs = index_docs(&os, &index).await;
    let want: BTreeSet<&String> = expected.keys().collect();
    let got: BTreeSet<&String> = docs.keys().collect();
    assert_eq!(
        want.difference(&got).count() + got.difference(&want).count(),
        0,
        "missing: {:?}; unexpected: {:?}",
        want.difference(&got).take(5).collect::<Vec<_>>(),
        got.difference(&want).take(5).collect::<Vec<_>>()
    );
    for (id, doc) in &expected {
        let (version, source) = &docs[id];
        assert_eq!(*version, 1, "{id} indexed once, never rewritten");
        assert_eq!(source["sentiment"], doc["sentiment"], "{id}: sentiment");
        assert_eq!(source["location"], doc["location"], "{id}: location");
        assert_eq!(source["created_at"], doc["created_at"], "{id}");
    }
    assert_eq!(lambda_indexed, expected.len() as u64);

    // Lambda dead letters: every bad record of the foreign object, with its kind and reason.
    assert_eq!(lambda_dead, foreign_bad.len() as u64);
    let letters = lambda_dead_letters(&s3, &bucket).await;
    assert_eq!(letters.len(), foreign_bad.len(), "{letters:?}");
    let mut by_line: BTreeMap<u64, &Value> = BTreeMap::new();
    for l in &letters {
        assert_eq!(l["source"]["key"], foreign_key.as_str(), "{l}");
        by_line.insert(l["source"]["line"].as_u64().expect("line"), l);
    }
    for (i, (name, raw)) in foreign_bad.iter().enumerate() {
        let line = (foreign_good.len() + i + 1) as u64;
        let l = by_line
            .get(&line)
            .unwrap_or_else(|| panic!("{name}: no dead letter for line {line}"));
        if let Some(kind) = lambda_kind(name, raw) {
            assert_eq!(l["kind"], kind, "{name}: {l}");
        }
        assert!(
            l["kind"].as_str().is_some_and(|k| !k.is_empty()),
            "{name}: {l}"
        );
        assert!(
            l["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{name}: {l}"
        );
    }

    // 6. The dashboard's counts are OpenSearch's.
    let dashboard = crate::dashboard::Demo::start(
        &dir.join("dashboard"),
        &["--serve-only", "--opensearch", &os.url, "--index", &index],
    );
    let summary: Value = testbed::http_client()
        .get(format!("{}/api/summary", dashboard.url))
        .send()
        .await
        .expect("GET /api/summary")
        .json()
        .await
        .expect("summary JSON");
    let (_, count) = os
        .json(reqwest::Method::GET, &format!("/{index}/_count"), None)
        .await;
    let (_, aggs) = os
        .json(
            reqwest::Method::POST,
            &format!("/{index}/_search"),
            Some(&json!({"size": 0, "aggs": {"l": {"terms": {"field": "sentiment.label"}}}})),
        )
        .await;
    assert_eq!(summary["total"], count["count"], "{summary}");
    assert_eq!(summary["total"], json!(expected.len()));
    for b in aggs["aggregations"]["l"]["buckets"]
        .as_array()
        .expect("buckets")
    {
        let label = b["key"].as_str().expect("label");
        assert_eq!(
            summary["labels"][label], b["doc_count"],
            "{label}: {summary}"
        );
    }
    let by_label = |l: &str| {
        expected
            .values()
            .filter(|d| d["sentiment"]["label"] == l)
            .count()
    };
    for l in ["positive", "neutral", "negative"] {
        assert_eq!(summary["labels"][l], json!(by_label(l)), "{l}");
    }

    let mut out = std::io::stdout().lock();
    use std::io::Write;
    let _ = writeln!(
        out,
        "e2e: 10000 posts -> {} indexed once, {} producer dead letters, {} Lambda dead letters, {} filtered; \
         {} objects, {} SQS events; produce {:.1}s, to index {:.1}s, total {:.1}s",
        expected.len(),
        dead.len(),
        letters.len(),
        unlocated_or_unmatched,
        raw_keys.len(),
        events.len(),
        produced_t.as_secs_f64(),
        lambda_t.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
