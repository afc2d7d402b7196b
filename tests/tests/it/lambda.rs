//! Issue 6: the Lambda indexer against the test bed: a real OpenSearch node and moto's S3, SQS and
//! Firehose. The handler is the production one (`App::handle`), given real-shaped events.
//!
//! Start the services with `eval "$(scripts/testbed start)"` (scripts/test does it).

// Helpers below are test code too: a failed set-up step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use http::StatusCode;
use sentimap_lambda::{App, Config};
use sentimap_tests::proxy::{Action, Proxy, Reply};
use sentimap_tests::testbed::{self, OpenSearch};
use serde_json::{json, Value};

const S3_EVENT: &str = include_str!("../../fixtures/lambda/s3-put-event.json");
const SQS_EVENT: &str = include_str!("../../fixtures/lambda/sqs-event.json");
const EVENTBRIDGE_EVENT: &str = include_str!("../../fixtures/lambda/eventbridge-event.json");
const MALFORMED: &[u8] = include_bytes!("../../fixtures/lambda/malformed.ndjson");

fn env(name: &str) -> String {
    testbed::env(name)
}

/// A lower-case name unique to this test run.
fn uniq(tag: &str) -> String {
    testbed::unique_name(&format!("lambda-it-{tag}"))
}

async fn sdk() -> SdkConfig {
    testbed::aws_config().await
}

fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    testbed::s3_client(sdk)
}

async fn new_bucket(s3: &aws_sdk_s3::Client, tag: &str) -> String {
    let bucket = uniq(tag);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    bucket
}

/// The handler as Lambda would build it, with the test's settings over the defaults.
pub(crate) fn app(sdk: &SdkConfig, index: &str, extra: &[(&str, &str)]) -> App {
    let mut vars = vec![
        ("SENTIMAP_INDEX_URL".to_string(), env("OPENSEARCH_URL")),
        ("SENTIMAP_INDEX".to_string(), index.to_string()),
        ("SENTIMAP_TEMPLATE_NAME".to_string(), index.to_string()),
        ("SENTIMAP_RETRY_MIN_DELAY_MS".to_string(), "20".to_string()),
        ("SENTIMAP_RETRY_MAX_DELAY_MS".to_string(), "200".to_string()),
    ];
    for (k, v) in extra {
        vars.push((k.to_string(), v.to_string()));
    }
    let config = Config::from_vars(vars, &Default::default()).unwrap();
    App::new(config, sdk).unwrap()
}

/// S3 notifications carry keys form-encoded; moto encodes every reserved byte, `/` included.
fn encode_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The S3 fixture event naming `keys` (one record each).
pub(crate) fn s3_event(bucket: &str, keys: &[String]) -> Value {
    let template: Value = serde_json::from_str(S3_EVENT).unwrap();
    let record = template["Records"][0].to_string();
    let records: Vec<Value> = keys
        .iter()
        .map(|k| {
            serde_json::from_str(
                &record
                    .replace("@BUCKET@", bucket)
                    .replace("@KEY@", &encode_key(k)),
            )
            .unwrap()
        })
        .collect();
    json!({ "Records": records })
}

pub(crate) fn post(id: u64, lat: f64, lon: f64) -> String {
    json!({
        "created_at": "Wed Dec 25 10:00:00 +0000 2024",
        "id_str": id.to_string(),
        "text": format!("Merry #Christmas from post {id}"),
        "user": { "id_str": "77", "screen_name": "elf" },
        "coordinates": { "type": "Point", "coordinates": [lon, lat] },
        "lang": "en",
        "entities": { "hashtags": [{ "text": "Christmas", "indices": [6, 16] }] }
    })
    .to_string()
}

pub(crate) fn point(i: u64) -> (f64, f64) {
    (-45.0 + i as f64 * 0.75, -120.0 + i as f64 * 1.5)
}

/// Checks that the documents of `expected` (post id, lat, lon) are in `index` on `os`, once each:
/// the count, the mapping the core's template gives, every 7th point exact, and the points
/// searchable as geo_points. `what` names the case in failures.
pub(crate) async fn assert_indexed(
    os: &OpenSearch,
    index: &str,
    expected: &[(u64, f64, f64)],
    what: &str,
) {
    assert_eq!(os.count(index).await, expected.len() as u64, "{what}");
    let (_, mapping) = os
        .json(reqwest::Method::GET, &format!("/{index}/_mapping"), None)
        .await;
    let props = &mapping[index]["mappings"]["properties"];
    assert_eq!(
        props["location"]["properties"]["point"]["type"], "geo_point",
        "{what}: {mapping}"
    );
    assert_eq!(props["created_at"]["type"], "date", "{what}");
    assert_eq!(
        props["sentiment"]["properties"]["label"]["type"], "keyword",
        "{what}"
    );
    for &(id, lat, lon) in expected.iter().step_by(7) {
        let (status, doc) = os
            .json(reqwest::Method::GET, &format!("/{index}/_doc/x:{id}"), None)
            .await;
        assert_eq!(status, 200, "{what}: {doc}");
        let p = &doc["_source"]["location"]["point"];
        assert_eq!(
            (p["lat"].as_f64(), p["lon"].as_f64()),
            (Some(lat), Some(lon)),
            "{what}"
        );
    }
    let (status, v) = os
        .json(
            reqwest::Method::POST,
            &format!("/{index}/_search"),
            Some(&json!({ "size": 0, "track_total_hits": true, "query": { "geo_bounding_box": { "location.point": {
                "top_left": { "lat": 0.0, "lon": -180.0 }, "bottom_right": { "lat": -90.0, "lon": 180.0 } } } } })),
        )
        .await;
    assert_eq!(status, 200, "{what}: {v}");
    let south = expected.iter().filter(|e| e.1 < 0.0).count() as u64;
    assert_eq!(
        v["hits"]["total"]["value"].as_u64(),
        Some(south),
        "{what}: {v}"
    );
}

/// Every dead letter under `prefix` in `bucket`, with the key of the object that holds it.
pub(crate) async fn dead_letters(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Vec<(String, Value)> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut letters = Vec::new();
    for o in listed.contents() {
        let k = o.key().unwrap();
        let body = s3.get_object().bucket(bucket).key(k).send().await.unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        for line in String::from_utf8(bytes.to_vec()).unwrap().lines() {
            letters.push((k.to_string(), serde_json::from_str::<Value>(line).unwrap()));
        }
    }
    letters
}

pub(crate) fn total(answer: &Value, field: &str) -> u64 {
    answer["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o[field].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn firehose_objects_are_indexed_once_with_mapping_and_points() {
    let sdk = sdk().await;
    let s3 = s3(&sdk);
    let bucket = new_bucket(&s3, "fh").await;
    let index = uniq("fh");
    let firehose = aws_sdk_firehose::Client::new(&sdk);
    let stream = uniq("fh");
    firehose
        .create_delivery_stream()
        .delivery_stream_name(&stream)
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .role_arn("arn:aws:iam::123456789012:role/firehose")
                .prefix("raw/")
                .compression_format(aws_sdk_firehose::types::CompressionFormat::Uncompressed)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // Three batches, three framings: concatenated (as Firehose writes bare records), NDJSON, and
    // the original producer's `,\n`.
    let mut id = 100u64;
    let mut expected = Vec::new();
    for sep in ["", "\n", ",\n"] {
        let mut batch = firehose.put_record_batch().delivery_stream_name(&stream);
        for _ in 0..15 {
            let (lat, lon) = point(id);
            expected.push((id, lat, lon));
            let data = format!("{}{sep}", post(id, lat, lon));
            batch = batch.records(
                aws_sdk_firehose::types::Record::builder()
                    .data(aws_sdk_firehose::primitives::Blob::new(data))
                    .build()
                    .unwrap(),
            );
            id += 1;
        }
        let out = batch.send().await.unwrap();
        assert_eq!(out.failed_put_count(), 0);
    }
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("raw/")
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert_eq!(
        keys.len(),
        3,
        "Firehose wrote one object per batch: {keys:?}"
    );
    // And one gzip object, as Firehose writes with GZIP compression.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..5 {
        let (lat, lon) = point(id);
        expected.push((id, lat, lon));
        std::io::Write::write_all(&mut gz, format!("{}\n", post(id, lat, lon)).as_bytes()).unwrap();
        id += 1;
    }
    let gz_key = "raw/2024/12/25/10/gzipped batch+1.gz".to_string();
    s3.put_object()
        .bucket(&bucket)
        .key(&gz_key)
        .body(gz.finish().unwrap().into())
        .send()
        .await
        .unwrap();
    keys.push(gz_key);

    let app = app(&sdk, &index, &[]);
    let event = s3_event(&bucket, &keys);
    let answer = app.handle(event.clone()).await.unwrap();
    assert_eq!(total(&answer, "read"), expected.len() as u64, "{answer}");
    assert_eq!(total(&answer, "indexed"), expected.len() as u64, "{answer}");
    assert_eq!(total(&answer, "dead_lettered"), 0, "{answer}");

    let os = OpenSearch::from_env();
    assert_indexed(&os, &index, &expected, "firehose objects").await;

    // Re-delivery of the same objects: same `_id`s, no duplicates.
    let again = app.handle(event).await.unwrap();
    assert_eq!(total(&again, "indexed"), expected.len() as u64);
    assert_eq!(os.count(&index).await, expected.len() as u64);
}

#[tokio::test]
async fn sqs_notifications_report_only_failed_messages() {
    let sdk = sdk().await;
    let s3 = s3(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bucket = new_bucket(&s3, "sqs").await;
    let index = uniq("sqs");
    let queue_url = sqs
        .create_queue()
        .queue_name(uniq("q"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .unwrap()
        .clone();
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(
                    aws_sdk_s3::types::QueueConfiguration::builder()
                        .queue_arn(queue_arn)
                        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // A key with a space, a plus and a non-ASCII letter: it arrives URL-encoded.
    let key = "raw/2024/12/25/noël batch+1.json";
    let body: String = (0..12)
        .map(|i| {
            let (lat, lon) = point(i);
            post(500 + i, lat, lon) + "\n"
        })
        .collect();
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(body.into_bytes().into())
        .send()
        .await
        .unwrap();

    // Collect what S3 really sent (the s3:TestEvent included) and hand it over as Lambda would.
    let mut messages = Vec::new();
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        messages.extend(out.messages().iter().cloned());
        if messages
            .iter()
            .any(|m| m.body().is_some_and(|b| b.contains("ObjectCreated")))
        {
            break;
        }
    }
    let template: Value = serde_json::from_str(SQS_EVENT).unwrap();
    let record = &template["Records"][0];
    let mut records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut r = record.clone();
            r["messageId"] = json!(m.message_id().unwrap());
            r["body"] = json!(m.body().unwrap());
            r
        })
        .collect();
    assert!(
        records.len() >= 2,
        "expected the test event and the object event: {records:?}"
    );
    let mut poison = record.clone();
    poison["messageId"] = json!("poison-1");
    poison["body"] = json!("this is not an S3 notification");
    records.push(poison);

    let app = app(&sdk, &index, &[]);
    let answer = app.handle(json!({ "Records": records })).await.unwrap();
    assert_eq!(
        answer["batchItemFailures"],
        json!([{ "itemIdentifier": "poison-1" }]),
        "{answer}"
    );
    assert_eq!(
        answer["objects"][0]["key"], key,
        "the key is decoded: {answer}"
    );
    assert_eq!(total(&answer, "indexed"), 12);
    assert_eq!(OpenSearch::from_env().count(&index).await, 12);
}

#[tokio::test]
async fn malformed_lines_are_dead_lettered_with_their_reasons() {
    let sdk = sdk().await;
    let s3 = s3(&sdk);
    let bucket = new_bucket(&s3, "bad").await;
    let index = uniq("bad");
    // The fixture, then an oversize record (over the core's 1,000 KiB limit) and one more good post.
    let mut object = MALFORMED.to_vec();
    let big = json!({ "id_str": "8999", "text": "x".repeat(1_100_000), "created_at": "Wed Dec 25 10:00:00 +0000 2024", "user": { "id_str": "1" } });
    object.extend_from_slice(big.to_string().as_bytes());
    object.push(b'\n');
    let (lat, lon) = point(3);
    object.extend_from_slice(post(9100, lat, lon).as_bytes());
    object.push(b'\n');
    let key = "raw/2024/12/25/10/mixed.ndjson";
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(object.into())
        .send()
        .await
        .unwrap();

    // Delivered as an EventBridge event this time.
    let event: Value = serde_json::from_str(
        &EVENTBRIDGE_EVENT
            .replace("@BUCKET@", &bucket)
            .replace("@KEY@", key),
    )
    .unwrap();
    let app = app(&sdk, &index, &[("SENTIMAP_DEAD_LETTER_PREFIX", "dead/")]);
    let answer = app.handle(event).await.unwrap();
    assert_eq!(total(&answer, "read"), 22, "{answer}");
    assert_eq!(total(&answer, "indexed"), 7, "{answer}");
    assert_eq!(total(&answer, "dead_lettered"), 15, "{answer}");
    assert_eq!(OpenSearch::from_env().count(&index).await, 7);

    let mut letters = Vec::new();
    for (k, letter) in dead_letters(&s3, &bucket, "dead/").await {
        assert!(k.starts_with(&format!("dead/{bucket}/{key}/part-")), "{k}");
        letters.push(letter);
    }
    let got: Vec<(u64, String)> = letters
        .iter()
        .map(|l| {
            assert_eq!(l["source"]["bucket"], bucket.as_str());
            assert_eq!(l["source"]["key"], key);
            assert_eq!(l["stage"], "parse");
            assert!(!l["reason"].as_str().unwrap().is_empty(), "{l}");
            (
                l["source"]["line"].as_u64().unwrap(),
                l["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, &str)> = vec![
        (2, "json"),               // not JSON
        (3, "json"),               // truncated
        (5, "utf8"),               // Latin-1 byte
        (6, "json"),               // raw control character in a string
        (8, "unsupported_shape"),  // a bare string
        (9, "unsupported_shape"),  // null
        (11, "unsupported_shape"), // an X `delete` notice
        (12, "unsupported_shape"), // an unknown object
        (14, "missing_field"),     // no text
        (15, "wrong_type"),        // text is a number
        (17, "invalid_value"),     // unreadable created_at
        (18, "invalid_value"),     // latitude 200
        (19, "json"),              // missing comma
        (20, "json"),              // a JSON array of numbers
        (21, "too_large"),         // over 1,000 KiB
    ];
    let want: Vec<(u64, String)> = want.into_iter().map(|(l, k)| (l, k.to_string())).collect();
    assert_eq!(got, want, "{letters:#?}");
    let kinds: std::collections::BTreeSet<_> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.len() >= 10,
        "at least ten distinct reasons: {kinds:#?}"
    );
    let big_letter = &letters[14];
    assert_eq!(big_letter["record_truncated"], true);
    assert!(big_letter["record_bytes"].as_u64().unwrap() > 1_100_000);
    assert!(
        letters[2]["record_base64"].is_string(),
        "non-UTF-8 kept as base64"
    );

    // Dead letters that can not be written fail the invocation: nothing is dropped silently.
    let broken = app_with_missing_dead_letter_bucket(&sdk, &index);
    let e = broken
        .handle(s3_event(&bucket, &[key.to_string()]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("writing dead letters"), "{e}");
}

fn app_with_missing_dead_letter_bucket(sdk: &SdkConfig, index: &str) -> App {
    app(
        sdk,
        index,
        &[("SENTIMAP_DEAD_LETTER_BUCKET", "lambda-it-no-such-bucket")],
    )
}

#[tokio::test]
async fn unreachable_index_fails_the_invocation_clearly() {
    let sdk = sdk().await;
    let s3 = s3(&sdk);
    let bucket = new_bucket(&s3, "down").await;
    let key = "raw/one.json".to_string();
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(post(1, 1.0, 2.0).into_bytes().into())
        .send()
        .await
        .unwrap();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);

    let index = uniq("down");
    let with_template = app(&sdk, &index, &[("SENTIMAP_INDEX_URL", &url)]);
    let e = with_template
        .handle(s3_event(&bucket, std::slice::from_ref(&key)))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("unreachable") && msg.contains(&url), "{msg}");
    let d = lambda_diag(e);
    assert!(d.starts_with("Retryable."), "{d}");

    let without_template = app(
        &sdk,
        &index,
        &[
            ("SENTIMAP_INDEX_URL", &url),
            ("SENTIMAP_INSTALL_TEMPLATE", "false"),
            ("SENTIMAP_MAX_RETRIES", "2"),
        ],
    );
    let e = without_template
        .handle(s3_event(&bucket, &[key]))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("1 document(s) still not indexed after 3 attempt(s)"),
        "{msg}"
    );
}

fn lambda_diag(e: sentimap_lambda::Error) -> String {
    let d: lambda_runtime::Diagnostic = e.into();
    d.error_type
}

/// What the fault plan does with one `_bulk` request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Pass it to OpenSearch unchanged.
    Forward,
    /// Answer with this status without forwarding.
    Status(u16),
    /// Forward, then mark every other item of the answer as rejected with 429 (as a node whose
    /// write queue is full does), so those items must be sent again.
    Items429,
}

/// The test bed's fault-injecting proxy in front of OpenSearch, following `plan` for the `_bulk`
/// requests (in order; then everything passes) and passing every other request.
pub(crate) async fn fault_proxy(plan: Vec<Fault>) -> Proxy {
    let bulks = AtomicUsize::new(0);
    Proxy::start(&testbed::opensearch_url(), move |req| {
        if !req.path.starts_with("/_bulk") {
            return Action::Forward;
        }
        match plan.get(bulks.fetch_add(1, Ordering::SeqCst)).copied() {
            None | Some(Fault::Forward) => Action::Forward,
            Some(Fault::Status(code)) => Action::Respond(Reply::json(
                StatusCode::from_u16(code).unwrap(),
                &json!({ "error": { "type": "injected", "reason": format!("injected {code}") }, "status": code }),
            )),
            Some(Fault::Items429) => Action::transform(|mut reply| {
                if let Some(mut v) = reply.body_json() {
                    v["errors"] = json!(true);
                    for item in v["items"].as_array_mut().into_iter().flatten().step_by(2) {
                        item["index"]["status"] = json!(429);
                        item["index"]["error"] = json!({ "type": "es_rejected_execution_exception", "reason": "injected: write queue full" });
                    }
                    reply.set_body_json(&v);
                }
                reply
            }),
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn injected_429s_and_503s_lose_nothing() {
    let sdk = sdk().await;
    let s3 = s3(&sdk);
    let bucket = new_bucket(&s3, "faults").await;
    let index = uniq("faults");
    let n = 400u64;
    let body: String = (0..n)
        .map(|i| {
            let (lat, lon) = point(i % 100);
            post(20_000 + i, lat, lon) + "\n"
        })
        .collect();
    let key = "raw/2024/12/25/10/faults.json".to_string();
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.into_bytes().into())
        .send()
        .await
        .unwrap();
    use Fault::*;
    let plan = vec![
        Status(503),
        Status(429),
        Items429,
        Items429,
        Forward,
        Status(503),
        Items429,
        Status(429),
        Status(503),
        Forward,
        Items429,
    ];
    let proxy = fault_proxy(plan).await;
    let proxy_url = proxy.url();
    let app = app(
        &sdk,
        &index,
        &[
            ("SENTIMAP_INDEX_URL", &proxy_url),
            // Small bodies, so the 400 posts take several bulk requests and every fault is met.
            ("SENTIMAP_BULK_MAX_BYTES", "65536"),
        ],
    );
    let answer = app.handle(s3_event(&bucket, &[key])).await.unwrap();
    assert_eq!(total(&answer, "read"), n, "{answer}");
    assert_eq!(total(&answer, "indexed"), n, "{answer}");
    assert_eq!(total(&answer, "dead_lettered"), 0, "{answer}");
    assert!(total(&answer, "retried") > 0, "{answer}");
    let bulk_calls = proxy
        .log()
        .iter()
        .filter(|r| r.request.path.starts_with("/_bulk"))
        .count();
    assert!(
        bulk_calls > 11,
        "every planned fault was met: {bulk_calls} bulk calls"
    );
    // Five requests answered 503/429 by the proxy, four answers with 429 items.
    let stats = proxy.stats();
    assert_eq!((stats.responded, stats.transformed), (5, 4), "{stats:?}");
    assert_eq!(OpenSearch::from_env().count(&index).await, n);
}
