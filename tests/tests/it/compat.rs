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

use crate::lambda::{app, assert_indexed, dead_letters, point, post, s3_event, total};

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

    // The core's template was installed (composable, `_index_template`) and shaped the index.
    let os = OpenSearch::new(url);
    let (status, template) = os
        .json(
            reqwest::Method::GET,
            &format!("/_index_template/{index}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{engine}: {template}");
    assert_indexed(&os, &index, &expected, engine).await;

    // Re-delivery: the same `_id`s, nothing added.
    let again = handler.handle(event).await.unwrap();
    assert_eq!(total(&again, "indexed"), 40, "{engine}: {again}");
    assert_eq!(os.count(&index).await, 40, "{engine}");

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
    assert_eq!(os.count(&refusing).await, 0, "{engine}");

    let letters: Vec<Value> = dead_letters(&s3, &bucket, "dead/")
        .await
        .into_iter()
        .map(|(_, letter)| letter)
        .collect();
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
