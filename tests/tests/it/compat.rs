//! Engine compatibility: the Lambda indexer and the dashboard store against the older lines of the
//! engines Sentimap supports, each a real single node of its own (`scripts/testbed` with
//! `TESTBED_ENGINE`, built from the engine's Maven Central artifacts): OpenSearch 1.3,
//! Elasticsearch 7.17 and Elasticsearch 8.19. The test bed's own node covers OpenSearch 2.19 in every
//! other test.
//!
//! On each engine: the template is installed, objects are indexed with the right count, mapping and
//! `geo_point` values, a re-delivery adds nothing, a malformed line and the documents the engine
//! refuses (4xx items) are dead-lettered with their reasons, and the dashboard's store answers the
//! whole query battery exactly as SQLite does on the same documents.

use std::collections::BTreeSet;

use sentimap_tests::testbed::{self, OpenSearch, OwnNode};
use serde_json::{json, Value};

use crate::lambda::{app, point, post, s3_event, total};

/// The node's version number, from the nodes info API (the test bed's Elasticsearch 8 has no `GET /`:
/// that handler is in a module the test bed does not load).
async fn version(os: &OpenSearch) -> String {
    let (status, info) = os.json(reqwest::Method::GET, "/_nodes/_local", None).await;
    assert_eq!(status, 200, "{info}");
    info["nodes"]
        .as_object()
        .and_then(|nodes| nodes.values().next())
        .and_then(|node| node["version"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Every dead letter the handler wrote under `prefix` in `bucket`.
async fn dead_letters(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<Value> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut letters = Vec::new();
    for o in listed.contents() {
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(o.key().unwrap())
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        for line in String::from_utf8(bytes.to_vec()).unwrap().lines() {
            letters.push(serde_json::from_str::<Value>(line).unwrap());
        }
    }
    letters
}

/// The Lambda handler against the node at `url`: indexing, mapping, points, re-delivery, and
/// dead letters for a malformed line and for documents the engine refuses.
async fn lambda_indexes_into(url: &str, engine: &str) {
    let sdk = testbed::aws_config().await;
    let s3 = testbed::s3_client(&sdk);
    let bucket = testbed::unique_name(&format!("compat-{engine}"));
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let index = testbed::unique_name(&format!("compat-{engine}"));

    // 40 posts and, on line 21, one that is not JSON.
    let mut object = String::new();
    let mut expected = Vec::new();
    for i in 0..40u64 {
        if i == 20 {
            object.push_str("{\"id_str\": \"7\", \"text\": \n");
        }
        let id = 5_000 + i;
        let (lat, lon) = point(i);
        expected.push((id, lat, lon));
        object.push_str(&post(id, lat, lon));
        object.push('\n');
    }
    let key = "raw/2024/12/25/10/compat.ndjson".to_string();
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(object.into_bytes().into())
        .send()
        .await
        .unwrap();

    let vars = [
        ("SENTIMAP_INDEX_URL", url),
        ("SENTIMAP_DEAD_LETTER_PREFIX", "dead/"),
    ];
    let handler = app(&sdk, &index, &vars);
    let event = s3_event(&bucket, std::slice::from_ref(&key));
    let answer = handler.handle(event.clone()).await.unwrap();
    assert_eq!(total(&answer, "read"), 41, "{engine}: {answer}");
    assert_eq!(total(&answer, "indexed"), 40, "{engine}: {answer}");
    assert_eq!(total(&answer, "dead_lettered"), 1, "{engine}: {answer}");

    let os = OpenSearch::new(url);
    let count = |os: OpenSearch, index: String| async move {
        os.json(reqwest::Method::POST, &format!("/{index}/_refresh"), None)
            .await;
        let (status, v) = os
            .json(reqwest::Method::GET, &format!("/{index}/_count"), None)
            .await;
        assert_eq!(status, 200, "{v}");
        v["count"].as_u64().unwrap()
    };
    assert_eq!(count(os.clone(), index.clone()).await, 40, "{engine}");

    // The core's template was installed (composable, `_index_template`) and shaped the index.
    let (status, template) = os
        .json(
            reqwest::Method::GET,
            &format!("/_index_template/{index}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{engine}: {template}");
    let (_, mapping) = os
        .json(reqwest::Method::GET, &format!("/{index}/_mapping"), None)
        .await;
    let props = &mapping[&index]["mappings"]["properties"];
    assert_eq!(
        props["location"]["properties"]["point"]["type"], "geo_point",
        "{engine}: {mapping}"
    );
    assert_eq!(props["created_at"]["type"], "date", "{engine}");
    assert_eq!(
        props["sentiment"]["properties"]["label"]["type"], "keyword",
        "{engine}"
    );
    for &(id, lat, lon) in expected.iter().step_by(9) {
        let (status, doc) = os
            .json(reqwest::Method::GET, &format!("/{index}/_doc/x:{id}"), None)
            .await;
        assert_eq!(status, 200, "{engine}: {doc}");
        let p = &doc["_source"]["location"]["point"];
        assert_eq!(
            (p["lat"].as_f64(), p["lon"].as_f64()),
            (Some(lat), Some(lon)),
            "{engine}"
        );
    }
    let (status, south) = os
        .json(
            reqwest::Method::POST,
            &format!("/{index}/_search"),
            Some(&json!({ "size": 0, "track_total_hits": true, "query": { "geo_bounding_box": { "location.point": {
                "top_left": { "lat": 0.0, "lon": -180.0 }, "bottom_right": { "lat": -90.0, "lon": 180.0 } } } } })),
        )
        .await;
    assert_eq!(status, 200, "{engine}: {south}");
    let want_south = expected.iter().filter(|e| e.1 < 0.0).count() as u64;
    assert_eq!(
        south["hits"]["total"]["value"].as_u64(),
        Some(want_south),
        "{engine}: {south}"
    );

    // Re-delivery: the same `_id`s, nothing added.
    let again = handler.handle(event).await.unwrap();
    assert_eq!(total(&again, "indexed"), 40, "{engine}: {again}");
    assert_eq!(count(os.clone(), index.clone()).await, 40, "{engine}");

    // An index whose mapping refuses our documents (a label that must be a number): the engine
    // answers each bulk item with a 4xx, and each becomes a dead letter with the engine's reason.
    let refusing = format!("{index}-refusing");
    let (status, created) = os
        .json(
            reqwest::Method::PUT,
            &format!("/{refusing}"),
            Some(
                &json!({ "mappings": { "properties": { "sentiment": { "properties": {
                "label": { "type": "integer" } } } } } }),
            ),
        )
        .await;
    assert_eq!(status, 200, "{engine}: {created}");
    let refused = app(&sdk, &refusing, &vars)
        .handle(s3_event(&bucket, std::slice::from_ref(&key)))
        .await
        .unwrap();
    assert_eq!(total(&refused, "indexed"), 0, "{engine}: {refused}");
    assert_eq!(total(&refused, "dead_lettered"), 41, "{engine}: {refused}");
    assert_eq!(count(os.clone(), refusing.clone()).await, 0, "{engine}");

    let letters = dead_letters(&s3, &bucket, "dead/").await;
    let parse: Vec<&Value> = letters.iter().filter(|l| l["stage"] == "parse").collect();
    let index_stage: Vec<&Value> = letters.iter().filter(|l| l["stage"] == "index").collect();
    // The malformed line with its line number. Dead-letter keys are named after the source object,
    // so the last run's letters replaced the earlier runs' copies of it.
    assert_eq!(parse.len(), 1, "{engine}: {letters:#?}");
    assert!(parse
        .iter()
        .all(|l| l["source"]["line"] == 21 && l["kind"] == "json"));
    assert_eq!(index_stage.len(), 40, "{engine}: {letters:#?}");
    let reasons: BTreeSet<&str> = index_stage
        .iter()
        .map(|l| l["reason"].as_str().unwrap_or_default())
        .collect();
    // Elasticsearch 8 calls it document_parsing_exception, the others mapper_parsing_exception.
    assert!(
        reasons
            .iter()
            .all(|r| (r.starts_with("mapper_parsing_exception")
                || r.starts_with("document_parsing_exception"))
                && r.contains("[sentiment.label]")),
        "{engine}: the engine's reason is kept: {reasons:#?}"
    );
}

/// Starts the node of `engine`, then runs the Lambda and the store checks against it.
async fn engine_is_supported(engine: &str, want_version: &str) {
    let state = crate::e2e::scratch(&format!("compat-{engine}"));
    let node = OwnNode::start(state, engine);
    let os = OpenSearch::new(&node.url);
    let v = version(&os).await;
    assert!(
        v.starts_with(want_version),
        "{engine}: the node reports version {v}, expected {want_version}"
    );
    lambda_indexes_into(&node.url, engine).await;
    crate::store::sqlite_and_search_node_agree(node.url.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_1_indexes_and_answers_like_sqlite() {
    engine_is_supported("opensearch1", "1.3.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_7_indexes_and_answers_like_sqlite() {
    engine_is_supported("elasticsearch7", "7.17.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_8_indexes_and_answers_like_sqlite() {
    engine_is_supported("elasticsearch8", "8.19.").await;
}
