//! Clients for the real-service test bed (`scripts/testbed`): OpenSearch and moto on 127.0.0.1.
//!
//! Tests read the environment `eval "$(scripts/testbed start)"` exports. A test that needs a service
//! and does not find its variable fails with [`START_HINT`]; it never skips.
//!
//! ```no_run
//! # async fn demo() {
//! use sentimap_tests::testbed;
//!
//! let os = testbed::OpenSearch::from_env();          // OPENSEARCH_URL
//! let aws = testbed::aws_config().await;             // AWS_ENDPOINT_URL (moto), dummy keys, region
//! let s3 = testbed::s3_client(&aws);                 // path-style addressing, as moto needs
//! let firehose = aws_sdk_firehose::Client::new(&aws);
//! # let _ = (os, s3, firehose);
//! # }
//! ```
//!
//! The services are shared by every test of the run (and keep their state between runs of one test
//! bed): name indices, buckets and streams with [`unique_name`], never wipe moto.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use serde_json::Value;

/// What a test that misses the test bed's environment says.
pub const START_HINT: &str = "start the test bed: eval \"$(scripts/testbed start)\"";

/// The name under which tests install the core's index template.
pub const TEMPLATE_NAME: &str = "sentimap";

/// The index pattern of [`TEMPLATE_NAME`]: every index a test creates should match it.
pub const INDEX_PATTERN: &str = "sentimap-*";

/// The value of an environment variable the test bed sets; panics with [`START_HINT`] without it.
pub fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!("{name} is not set: {START_HINT}"),
    }
}

/// `OPENSEARCH_URL`, e.g. `http://127.0.0.1:9200` (no trailing slash).
pub fn opensearch_url() -> String {
    env("OPENSEARCH_URL").trim_end_matches('/').to_string()
}

/// `AWS_ENDPOINT_URL`: moto's base URL.
pub fn aws_endpoint_url() -> String {
    env("AWS_ENDPOINT_URL").trim_end_matches('/').to_string()
}

/// A name no other test (of this run or an earlier one against the same test bed) uses:
/// `<prefix>-<pid>-<milliseconds>-<counter>`, lower case, valid as an index, bucket or stream name
/// for a short prefix (S3 bucket names may have at most 63 characters).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "{}-{}-{}-{}",
        prefix.to_lowercase(),
        std::process::id(),
        millis,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The AWS SDK configuration for moto: `AWS_ENDPOINT_URL`, the test bed's credentials and region.
pub async fn aws_config() -> SdkConfig {
    aws_config_for(&aws_endpoint_url()).await
}

/// Like [`aws_config()`] but for another endpoint, e.g. a [`crate::proxy::Proxy`] in front of moto.
pub async fn aws_config_for(endpoint_url: &str) -> SdkConfig {
    let credentials = Credentials::new(
        env("AWS_ACCESS_KEY_ID"),
        env("AWS_SECRET_ACCESS_KEY"),
        None,
        None,
        "sentimap-testbed",
    );
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(Region::new(region))
        .credentials_provider(credentials)
        .load()
        .await
}

/// An S3 client with path-style addressing (`http://host/bucket/key`): moto on 127.0.0.1 has no
/// per-bucket host names.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// A plain HTTP client for the test bed: never goes through an `HTTP_PROXY` from the environment.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}

/// A minimal OpenSearch client for tests: JSON in, status and JSON out, panics on transport errors.
#[derive(Debug, Clone)]
pub struct OpenSearch {
    /// Base URL without a trailing slash.
    pub url: String,
    client: reqwest::Client,
}

impl OpenSearch {
    /// The test bed's node (`OPENSEARCH_URL`).
    pub fn from_env() -> OpenSearch {
        OpenSearch::new(&opensearch_url())
    }

    /// A node at `url`, e.g. a [`crate::proxy::Proxy`] in front of the test bed's.
    pub fn new(url: &str) -> OpenSearch {
        OpenSearch {
            url: url.trim_end_matches('/').to_string(),
            client: http_client(),
        }
    }

    /// Sends `body` (JSON, or nothing) and returns the status and the answer parsed as JSON
    /// (`Value::Null` for an empty or non-JSON answer).
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request, &method, path).await
    }

    /// Sends an NDJSON body (`_bulk`, `_msearch`) and returns the status and the parsed answer.
    pub async fn ndjson(&self, path: &str, body: String) -> (reqwest::StatusCode, Value) {
        let request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body);
        self.send(request, &reqwest::Method::POST, path).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        method: &reqwest::Method,
        path: &str,
    ) -> (reqwest::StatusCode, Value) {
        let response = request.send().await.unwrap_or_else(|e| {
            panic!(
                "{method} {}{path} failed: {e} (is the test bed running? {START_HINT})",
                self.url
            )
        });
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the answer failed: {e}"));
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The number of documents in `index`, after a refresh makes every indexed one visible.
    pub async fn count(&self, index: &str) -> u64 {
        self.json(reqwest::Method::POST, &format!("/{index}/_refresh"), None)
            .await;
        let (status, v) = self
            .json(reqwest::Method::GET, &format!("/{index}/_count"), None)
            .await;
        assert_eq!(status, 200, "GET /{index}/_count: {v}");
        v["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("GET /{index}/_count: no count in {v}"))
    }

    /// Installs the core's index template (`sentimap_core::index_template`) as [`TEMPLATE_NAME`] for
    /// [`INDEX_PATTERN`]; idempotent, so every test that needs it may call it.
    pub async fn install_index_template(&self) {
        let template = sentimap_core::index_template(INDEX_PATTERN);
        let path = format!("/_index_template/{TEMPLATE_NAME}");
        let (status, body) = self
            .json(reqwest::Method::PUT, &path, Some(&template))
            .await;
        assert!(status.is_success(), "PUT {path}: {status} {body}");
    }
}

/// A search node of a test's own, started by `scripts/testbed` with another state folder and the
/// `opensearch` service only: a node the fault suite may kill, or an older engine for the
/// compatibility tests (`engine`: opensearch2, opensearch1, elasticsearch7; see `TESTBED_ENGINE`).
/// Its port and data survive a restart; dropping it stops it.
#[derive(Debug)]
pub struct OwnNode {
    state: PathBuf,
    engine: String,
    /// The node's base URL.
    pub url: String,
}

impl OwnNode {
    fn testbed(&self, command: &str) -> Output {
        let script = crate::repo_root().join("scripts/testbed");
        let out = Command::new("bash")
            .arg(&script)
            .arg(command)
            .env("TESTBED_STATE", &self.state)
            .env("TESTBED_SERVICES", "opensearch")
            .env("TESTBED_ENGINE", &self.engine)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert!(
            out.status.success(),
            "scripts/testbed {command} failed (TESTBED_ENGINE={})",
            self.engine
        );
        out
    }

    /// Starts (or finds running) the node of `engine` whose state lives in `state`.
    pub fn start(state: PathBuf, engine: &str) -> OwnNode {
        let mut node = OwnNode {
            state,
            engine: engine.to_string(),
            url: String::new(),
        };
        let out = node.testbed("start");
        node.url = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("export OPENSEARCH_URL="))
            .expect("scripts/testbed start prints OPENSEARCH_URL")
            .to_string();
        node
    }

    /// SIGKILL (no shutdown of any kind), then a start on the same port and data; the seconds the
    /// node was away.
    pub fn kill_and_restart(&self) -> f64 {
        let t = Instant::now();
        let pid = std::fs::read_to_string(self.state.join("opensearch.pid")).expect("node pid");
        let status = Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -KILL {pid}");
        while Path::new(&format!("/proc/{}", pid.trim())).exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let again = self.testbed("start");
        assert!(
            String::from_utf8_lossy(&again.stdout).contains(&self.url),
            "the node came back on another port"
        );
        t.elapsed().as_secs_f64()
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        self.testbed("stop");
    }
}
