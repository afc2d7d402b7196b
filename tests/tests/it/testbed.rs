//! Smoke tests of the real-service test bed (`scripts/testbed start`): each proves a service is real
//! and does what later tests rely on. They fail, never skip, without the test bed's environment.

use std::collections::BTreeMap;
use std::f64::consts::PI;

use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{
    CompressionFormat, DeliveryStreamStatus, DeliveryStreamType,
    ExtendedS3DestinationConfiguration, Record,
};
use reqwest::{Method, StatusCode};
use sentimap_core::IndexDoc;
use sentimap_tests::proxy::{Action, Proxy, Reply};
use sentimap_tests::testbed::{self, OpenSearch, INDEX_PATTERN, TEMPLATE_NAME};
use serde_json::json;
use time::OffsetDateTime;

const DOCS: usize = 1_000;
/// Map tiles at zoom 2: a 4 x 4 grid over the Web Mercator world.
const ZOOM: u32 = 2;

/// A point well inside tile (x, y) of zoom [`ZOOM`] (a quarter tile away from every edge), so the
/// node's coordinate quantisation cannot move it to a neighbour.
fn point_in_tile(x: u32, y: u32, fx: f64, fy: f64) -> (f64, f64) {
    let n = f64::from(1u32 << ZOOM);
    let lon = (f64::from(x) + fx) / n * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * (f64::from(y) + fy) / n))
        .sinh()
        .atan()
        .to_degrees();
    (lat, lon)
}

/// 1,000 X API v2 messages with exact points spread over all 16 tiles (unevenly, so a wrong bucket
/// shows), plus the number of posts expected in each `z/x/y` tile.
fn generated_posts() -> (Vec<String>, BTreeMap<String, u64>) {
    let mut raw = Vec::with_capacity(DOCS);
    let mut expected = BTreeMap::new();
    for i in 0..DOCS {
        // Tile index skewed towards low numbers: i*i mod 16 is not uniform.
        let tile = (i * i + i / 7) % 16;
        let (x, y) = ((tile % 4) as u32, (tile / 4) as u32);
        let fx = 0.25 + 0.5 * ((i * 37) % 100) as f64 / 100.0;
        let fy = 0.25 + 0.5 * ((i * 61) % 100) as f64 / 100.0;
        let (lat, lon) = point_in_tile(x, y, fx, fy);
        *expected.entry(format!("{ZOOM}/{x}/{y}")).or_insert(0) += 1;
        raw.push(
            json!({
                "data": {
                    "id": format!("{}", 1_000_000 + i),
                    "text": format!("Merry #Christmas from tile {x}/{y}, post {i}"),
                    "created_at": format!("2024-12-25T{:02}:{:02}:00.000Z", i % 24, i % 60),
                    "lang": "en",
                    "author_id": format!("{}", 500 + i % 50),
                    "geo": { "coordinates": { "type": "Point", "coordinates": [lon, lat] } }
                }
            })
            .to_string(),
        );
    }
    (raw, expected)
}

fn bulk_body(index: &str, docs: &[IndexDoc]) -> String {
    let mut body = String::new();
    for doc in docs {
        body.push_str(&json!({ "index": { "_index": index, "_id": doc.id } }).to_string());
        body.push('\n');
        body.push_str(&serde_json::to_string(doc).expect("an IndexDoc serialises"));
        body.push('\n');
    }
    body
}

#[tokio::test]
async fn opensearch_takes_the_template_a_bulk_and_answers_geotile_grid() {
    let os = OpenSearch::from_env();
    os.install_index_template().await;
    let (status, template) = os
        .json(
            Method::GET,
            &format!("/_index_template/{TEMPLATE_NAME}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{template}");
    assert_eq!(
        template["index_templates"][0]["index_template"]["index_patterns"],
        json!([INDEX_PATTERN])
    );

    let (raw, expected) = generated_posts();
    let docs: Vec<IndexDoc> = raw
        .iter()
        .map(|line| {
            let post = sentimap_core::normalize(line.as_bytes())
                .unwrap_or_else(|e| panic!("generated post rejected: {e}: {line}"));
            IndexDoc::score(post)
        })
        .collect();
    assert!(docs.iter().all(|d| d.location.point.is_some()));

    let index = testbed::unique_name("sentimap-smoke");
    let (status, bulk) = os
        .ndjson("/_bulk?refresh=wait_for", bulk_body(&index, &docs))
        .await;
    assert_eq!(status, StatusCode::OK, "{bulk}");
    assert_eq!(bulk["errors"], false, "{bulk}");
    let items = bulk["items"].as_array().unwrap();
    assert_eq!(items.len(), DOCS);
    assert!(
        items.iter().all(|item| item["index"]["status"] == 201),
        "{bulk}"
    );

    // The index took the template's mapping, not a dynamic one.
    let (_, mapping) = os
        .json(Method::GET, &format!("/{index}/_mapping"), None)
        .await;
    let mappings = &mapping[&index]["mappings"];
    assert_eq!(mappings["dynamic"], "false", "{mapping}");
    assert_eq!(
        mappings["properties"]["location"]["properties"]["point"]["type"],
        "geo_point"
    );

    let (_, count) = os
        .json(Method::GET, &format!("/{index}/_count"), None)
        .await;
    assert_eq!(count["count"], DOCS);

    let query = json!({
        "size": 0,
        "aggs": { "tiles": { "geotile_grid": { "field": "location.point", "precision": ZOOM, "size": 100 } } }
    });
    let (status, answer) = os
        .json(Method::POST, &format!("/{index}/_search"), Some(&query))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "geotile_grid needs the geo module (org.opensearch.plugin:geo) in the node: {answer}"
    );
    let buckets = answer["aggregations"]["tiles"]["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no geotile_grid buckets: {answer}"));
    let actual: BTreeMap<String, u64> = buckets
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_string(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(actual.values().sum::<u64>(), DOCS as u64);
    assert_eq!(actual, expected);

    // Re-delivering documents overwrites them: `_id` comes from the post id.
    let (status, again) = os
        .ndjson("/_bulk?refresh=wait_for", bulk_body(&index, &docs[..100]))
        .await;
    assert_eq!(
        (status, &again["errors"]),
        (StatusCode::OK, &json!(false)),
        "{again}"
    );
    assert!(again["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|item| item["index"]["result"] == "updated"));
    let (_, count) = os
        .json(Method::GET, &format!("/{index}/_count"), None)
        .await;
    assert_eq!(count["count"], DOCS);

    let (status, _) = os.json(Method::DELETE, &format!("/{index}"), None).await;
    assert_eq!(status, StatusCode::OK);
}

/// A bucket plus a Firehose stream delivering to it under `raw/`; returns (bucket, stream).
async fn firehose_to_s3(
    s3: &aws_sdk_s3::Client,
    firehose: &aws_sdk_firehose::Client,
) -> (String, String) {
    let bucket = testbed::unique_name("smoke");
    let stream = testbed::unique_name("smoke-stream");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::123456789012:role/sentimap-firehose")
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .prefix("raw/")
        // moto leaves it out of its describe answer unless set, and the SDK then fails to parse.
        .compression_format(CompressionFormat::Uncompressed)
        .build()
        .expect("role and bucket ARNs are set");
    firehose
        .create_delivery_stream()
        .delivery_stream_name(&stream)
        .delivery_stream_type(DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateDeliveryStream {stream}: {e:?}"));
    let described = firehose
        .describe_delivery_stream()
        .delivery_stream_name(&stream)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeDeliveryStream {stream}: {e:?}"));
    let description = described
        .delivery_stream_description()
        .expect("DescribeDeliveryStream answers with a description");
    assert_eq!(
        description.delivery_stream_status(),
        &DeliveryStreamStatus::Active
    );
    (bucket, stream)
}

fn records(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{{\"seq\":{i},\"text\":\"record {i}\"}}\n").into_bytes())
        .collect()
}

fn to_firehose(records: &[Vec<u8>]) -> Vec<Record> {
    records
        .iter()
        .map(|r| {
            Record::builder()
                .data(Blob::new(r.clone()))
                .build()
                .expect("data is set")
        })
        .collect()
}

/// The UTC hour as Firehose writes it into keys: `YYYY/MM/DD/HH`.
fn hour_path(t: OffsetDateTime) -> String {
    format!(
        "{:04}/{:02}/{:02}/{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    )
}

#[tokio::test]
async fn firehose_delivers_a_put_record_batch_to_s3() {
    let aws = testbed::aws_config().await;
    let s3 = testbed::s3_client(&aws);
    let firehose = aws_sdk_firehose::Client::new(&aws);
    let (bucket, stream) = firehose_to_s3(&s3, &firehose).await;

    let sent = records(25);
    let before = OffsetDateTime::now_utc();
    let put = firehose
        .put_record_batch()
        .delivery_stream_name(&stream)
        .set_records(Some(to_firehose(&sent)))
        .send()
        .await
        .unwrap();
    let after = OffsetDateTime::now_utc();
    assert_eq!(put.failed_put_count(), 0);
    assert_eq!(put.request_responses().len(), sent.len());
    assert!(put
        .request_responses()
        .iter()
        .all(|r| r.record_id().is_some()));

    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("raw/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "one object per PutRecordBatch: {keys:?}");
    let key = keys[0];
    // raw/YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>
    let hours = [hour_path(before), hour_path(after)];
    let (hour, name) = key
        .strip_prefix("raw/")
        .and_then(|rest| rest.rsplit_once('/'))
        .unwrap_or_else(|| panic!("unexpected key {key}"));
    assert!(hours.contains(&hour.to_string()), "{key} not in {hours:?}");
    assert!(name.starts_with(&format!("{stream}-")), "{key}");

    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let content = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(
        content.to_vec(),
        sent.concat(),
        "the object is the records, back to back"
    );
}

#[tokio::test]
async fn proxy_injects_a_firehose_partial_failure() {
    // moto never reports failed records: the proxy rewrites its answer, as producer tests will.
    let moto = testbed::aws_endpoint_url();
    let proxy = Proxy::start(&moto, |req| {
        if req.amz_target() != Some("Firehose_20150804.PutRecordBatch") {
            return Action::Forward;
        }
        Action::transform(|mut reply| {
            let Some(mut body) = reply.body_json() else {
                return reply;
            };
            body["FailedPutCount"] = json!(1);
            body["RequestResponses"][0] = json!({
                "ErrorCode": "ServiceUnavailableException",
                "ErrorMessage": "injected by the test proxy"
            });
            reply.set_body_json(&body);
            reply
        })
    })
    .await
    .unwrap();
    let direct = testbed::aws_config().await;
    let via_proxy = testbed::aws_config_for(&proxy.url()).await;
    let s3 = testbed::s3_client(&direct);
    let firehose = aws_sdk_firehose::Client::new(&via_proxy);
    let (bucket, stream) = firehose_to_s3(&s3, &firehose).await;

    let sent = records(3);
    let put = firehose
        .put_record_batch()
        .delivery_stream_name(&stream)
        .set_records(Some(to_firehose(&sent)))
        .send()
        .await
        .unwrap();

    assert_eq!(put.failed_put_count(), 1);
    let first = &put.request_responses()[0];
    assert_eq!(first.error_code(), Some("ServiceUnavailableException"));
    assert!(put.request_responses()[1].record_id().is_some());
    let stats = proxy.stats();
    assert_eq!((stats.transformed, stats.injected), (1, 1), "{stats:?}");
    // Only the answer was rewritten: moto stored all three records.
    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.contents().len(), 1);
}

#[tokio::test]
async fn proxy_injects_opensearch_429_then_recovers() {
    let upstream = OpenSearch::from_env();
    let proxy = Proxy::start(&upstream.url, |req| {
        if req.path.starts_with("/_bulk") && req.seq == 0 {
            Action::Respond(Reply::json(
                http::StatusCode::TOO_MANY_REQUESTS,
                &json!({ "error": { "type": "es_rejected_execution_exception" }, "status": 429 }),
            ))
        } else {
            Action::Forward
        }
    })
    .await
    .unwrap();
    let os = OpenSearch::new(&proxy.url());
    let index = testbed::unique_name("sentimap-smoke-proxy");
    let body = format!(
        "{}\n{}\n",
        json!({ "index": { "_index": index, "_id": "a" } }),
        json!({ "text": "hello" })
    );

    let (first, rejected) = os.ndjson("/_bulk?refresh=wait_for", body.clone()).await;
    let (second, accepted) = os.ndjson("/_bulk?refresh=wait_for", body).await;

    assert_eq!(first, StatusCode::TOO_MANY_REQUESTS, "{rejected}");
    assert_eq!(second, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["errors"], false);
    let (_, count) = upstream
        .json(Method::GET, &format!("/{index}/_count"), None)
        .await;
    assert_eq!(
        count["count"], 1,
        "the rejected bulk never reached the node"
    );
    assert_eq!(proxy.stats().responded, 1);
    let (status, _) = upstream
        .json(Method::DELETE, &format!("/{index}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn missing_environment_names_the_start_command() {
    // Only the message is checked here (the variable name is one the test bed never sets).
    let panic = std::panic::catch_unwind(|| testbed::env("SENTIMAP_TESTBED_NEVER_SET"))
        .expect_err("a missing variable must fail the test");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("eval \"$(scripts/testbed start)\""),
        "{message}"
    );
}
