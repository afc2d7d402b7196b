//! The producer's configuration: a TOML file mirroring the original `Config.js`, overlaid by flags
//! and environment variables (see [`super::args`]). Limits are named consts checked at load.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sentimap_core::{Filter, FilterConfig};
use serde::Deserialize;

use super::secret::SecretRef;

/// Firehose's PutRecordBatch limit on records per call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Firehose's PutRecordBatch limit on bytes per call (4 MiB).
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Firehose's limit on one record, before base64 (1,000 KiB). Larger records are dead-lettered.
pub const MAX_RECORD_BYTES: usize = 1_000 * 1024;
/// The longest a batch may wait for more records before it is sent.
pub const MAX_LINGER_MS: u64 = 15 * 60 * 1000;
/// The largest queue between source and sink, in records.
pub const MAX_QUEUE_CAPACITY: usize = 1_000_000;
/// Firehose's S3 buffering size range, in MiB.
pub const BUFFERING_SIZE_MB: std::ops::RangeInclusive<i32> = 1..=128;
/// Firehose's S3 buffering interval range, in seconds.
pub const BUFFERING_INTERVAL_S: std::ops::RangeInclusive<i32> = 0..=900;
/// X's rule length limit on the highest access level (512 on the basic levels).
pub const MAX_X_RULE_LEN: usize = 1024;
/// The most attempts for one batch before its remaining records are dead-lettered.
pub const MAX_RETRY_ATTEMPTS: u32 = 100;

/// Which source the producer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// X API v2 filtered stream.
    X,
    /// Bluesky Jetstream.
    Jetstream,
    /// A JSONL file (or stdin) of raw posts.
    Replay,
    /// Synthetic posts.
    Generate,
}

/// Where matching posts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// Amazon Kinesis Data Firehose.
    Firehose,
    /// A local folder in Firehose's S3 layout.
    Local,
    /// Standard output, one raw post per line.
    Stdout,
}

/// When to draw the live status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum StatusMode {
    /// When stderr is a terminal.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Firehose's compression of the objects it writes to S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[clap(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compression {
    /// No compression: objects are NDJSON, as the Lambda expects by default.
    #[default]
    Uncompressed,
    /// gzip.
    Gzip,
    /// zip.
    Zip,
    /// Snappy.
    Snappy,
    /// Hadoop-compatible Snappy.
    HadoopSnappy,
}

/// The whole producer configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where posts come from: `x`, `jetstream`, `replay` or `generate`.
    pub source: SourceKind,
    /// Where matching posts go: `firehose`, `local` or `stdout`.
    pub sink: SinkKind,
    /// AWS region for Firehose, Secrets Manager and SSM (else the SDK's chain: `AWS_REGION`, profile).
    pub region: Option<String>,
    /// JSONL file receiving every record that could not be used or delivered, with the reason.
    pub dead_letter: PathBuf,
    /// When to draw the live status line on stderr.
    pub status: StatusMode,
    /// Multiplies every reconnect delay and the stall timeout (1.0 in production; tests scale down).
    pub backoff_scale: f64,
    /// Firehose delivery stream (`firehose` in Config.js).
    pub firehose: FirehoseConfig,
    /// X API credentials and stream options (`twitter` in Config.js).
    #[serde(alias = "twitter")]
    pub x: XConfig,
    /// Bluesky Jetstream options.
    pub jetstream: JetstreamConfig,
    /// Replay options.
    pub replay: ReplayConfig,
    /// Generator options.
    pub generate: GenerateConfig,
    /// Local-folder sink options.
    pub local: LocalConfig,
    /// Which posts to keep (the core's filter: keywords, location, languages, boxes).
    pub filter: FilterConfig,
    /// Batching between source and sink.
    pub batch: BatchConfig,
    /// Retries of failed Firehose records.
    pub retry: RetryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: SourceKind::Generate,
            sink: SinkKind::Stdout,
            region: None,
            dead_letter: PathBuf::from("sentimap-dead-letter.jsonl"),
            status: StatusMode::Auto,
            backoff_scale: 1.0,
            firehose: FirehoseConfig::default(),
            x: XConfig::default(),
            jetstream: JetstreamConfig::default(),
            replay: ReplayConfig::default(),
            generate: GenerateConfig::default(),
            local: LocalConfig::default(),
            filter: FilterConfig::default(),
            batch: BatchConfig::default(),
            retry: RetryConfig::default(),
        }
    }
}

/// The Firehose delivery stream, created when missing.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FirehoseConfig {
    /// The delivery stream's name (Config.js `DeliveryStreamName`).
    #[serde(alias = "DeliveryStreamName")]
    pub delivery_stream_name: Option<String>,
    /// The S3 bucket the stream writes to (Config.js `BucketARN`); needed only to create the stream.
    #[serde(alias = "BucketARN")]
    pub bucket_arn: Option<String>,
    /// The IAM role Firehose assumes to write (Config.js `RoleARN`); needed only to create the stream.
    #[serde(alias = "RoleARN")]
    pub role_arn: Option<String>,
    /// S3 key prefix of delivered objects (Config.js `Prefix`); also the local sink's prefix.
    #[serde(alias = "Prefix")]
    pub prefix: String,
    /// S3 key prefix for objects Firehose could not deliver.
    pub error_prefix: String,
    /// Firehose buffers this many MiB before writing an object (1..=128).
    pub buffering_size_mb: i32,
    /// Firehose writes an object at least this often, in seconds (0..=900).
    pub buffering_interval_s: i32,
    /// Compression of the objects in S3.
    pub compression: Compression,
    /// Create the stream when it does not exist.
    pub create: bool,
    /// How long to wait for a new stream to become ACTIVE, in seconds.
    pub active_timeout_s: u64,
}

impl Default for FirehoseConfig {
    fn default() -> Self {
        FirehoseConfig {
            delivery_stream_name: None,
            bucket_arn: None,
            role_arn: None,
            prefix: "sentimap/raw/".into(),
            error_prefix: "sentimap/errors/".into(),
            buffering_size_mb: 5,
            buffering_interval_s: 300,
            compression: Compression::Uncompressed,
            create: true,
            active_timeout_s: 600,
        }
    }
}

/// X API v2 filtered stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XConfig {
    /// App-only bearer token (or a secret reference: `env:`, `ssm:`, `secretsmanager:`).
    pub bearer_token: Option<SecretRef>,
    /// Consumer (API) key, exchanged with the secret for a bearer token via `oauth2/token`.
    #[serde(alias = "consumer_key")]
    pub consumer_key: Option<SecretRef>,
    /// Consumer (API) secret.
    pub consumer_secret: Option<SecretRef>,
    /// User access token from the original's four keys; the v2 stream does not use it.
    pub access_token: Option<SecretRef>,
    /// User access token secret from the original's four keys; the v2 stream does not use it.
    pub access_token_secret: Option<SecretRef>,
    /// The API's base URL.
    pub api_base: String,
    /// Replace this app's `sentimap`-tagged stream rules with the ones built from the filter.
    pub sync_rules: bool,
    /// Extra rules, verbatim, added to the ones built from the keywords.
    pub rules: Vec<String>,
    /// Add `has:geo` to rules (default: the filter's `require_location`).
    pub has_geo: Option<bool>,
    /// Add `-is:retweet` to rules.
    pub exclude_retweets: bool,
    /// The longest rule X accepts on this app's access level (512 or 1024).
    pub rule_max_len: usize,
    /// No data or keep-alive for this long means a stalled stream (X sends keep-alives every 20 s).
    pub stall_timeout_ms: u64,
}

impl Default for XConfig {
    fn default() -> Self {
        XConfig {
            bearer_token: None,
            consumer_key: None,
            consumer_secret: None,
            access_token: None,
            access_token_secret: None,
            api_base: "https://api.x.com".into(),
            sync_rules: true,
            rules: Vec::new(),
            has_geo: None,
            exclude_retweets: true,
            rule_max_len: 512,
            stall_timeout_ms: 20_000,
        }
    }
}

/// Bluesky Jetstream.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JetstreamConfig {
    /// The subscribe endpoint.
    pub url: String,
    /// Start from this cursor (microseconds since the epoch); default: live.
    pub cursor: Option<i64>,
    /// On reconnect, resume this many milliseconds before the last event seen, so none is missed.
    pub rewind_ms: u64,
    /// No event for this long means a stalled connection, in milliseconds.
    pub stall_timeout_ms: u64,
}

impl Default for JetstreamConfig {
    fn default() -> Self {
        JetstreamConfig {
            url: "wss://jetstream2.us-east.bsky.network/subscribe".into(),
            cursor: None,
            rewind_ms: 2_000,
            stall_timeout_ms: 30_000,
        }
    }
}

/// Replay of recorded raw posts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    /// JSONL file of raw posts; `-` or absent reads stdin.
    pub input: Option<PathBuf>,
    /// Posts per second; absent means full speed.
    pub rate: Option<f64>,
}

/// Synthetic posts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateConfig {
    /// Seed: the same seed and start give the same posts.
    pub seed: u64,
    /// How many posts; absent means until stopped.
    pub count: Option<u64>,
    /// Posts per second; absent means full speed.
    pub rate: Option<f64>,
    /// Share of X posts that carry a location (0..=1); Jetstream posts never do.
    pub located_share: f64,
    /// Creation time of the first post, seconds since the epoch; absent means now.
    pub start_unix: Option<i64>,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            seed: 1,
            count: None,
            rate: None,
            located_share: 0.75,
            start_unix: None,
        }
    }
}

/// The local-folder sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalConfig {
    /// The folder standing in for the bucket; objects go to `<dir>/<prefix>YYYY/MM/DD/HH/<name>`.
    pub dir: PathBuf,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            dir: PathBuf::from("sentimap-data"),
        }
    }
}

/// Batching between the source and the sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    /// Records per batch (at most 500, Firehose's limit).
    pub max_records: usize,
    /// Bytes per batch (at most 4 MiB, Firehose's limit).
    pub max_bytes: usize,
    /// A batch that is not full is sent this long after its first record, in milliseconds.
    pub linger_ms: u64,
    /// Records the queue between source and sink holds; when full, the source waits.
    pub queue_capacity: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_records: MAX_BATCH_RECORDS,
            max_bytes: MAX_BATCH_BYTES,
            linger_ms: 1_000,
            queue_capacity: 10_000,
        }
    }
}

/// Retries of records Firehose did not take.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// First retry delay, in milliseconds (doubles each attempt, with jitter).
    pub base_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub max_ms: u64,
    /// Attempts per batch before the records still failing are dead-lettered.
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            base_ms: 100,
            max_ms: 20_000,
            max_attempts: 20,
        }
    }
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Config::from_toml(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> anyhow::Result<Config> {
        Ok(toml::from_str(text)?)
    }

    /// Checks every limit and every combination; the producer runs only on a valid config.
    pub fn validate(&self) -> anyhow::Result<()> {
        let b = &self.batch;
        if !(1..=MAX_BATCH_RECORDS).contains(&b.max_records) {
            bail!(
                "batch.max_records {} is outside 1..={MAX_BATCH_RECORDS}",
                b.max_records
            );
        }
        if !(MAX_RECORD_BYTES + 1..=MAX_BATCH_BYTES).contains(&b.max_bytes) {
            bail!(
                "batch.max_bytes {} is outside {}..={MAX_BATCH_BYTES} (a batch must hold the largest record)",
                b.max_bytes,
                MAX_RECORD_BYTES + 1
            );
        }
        if b.linger_ms > MAX_LINGER_MS {
            bail!("batch.linger_ms {} exceeds {MAX_LINGER_MS}", b.linger_ms);
        }
        if !(1..=MAX_QUEUE_CAPACITY).contains(&b.queue_capacity) {
            bail!(
                "batch.queue_capacity {} is outside 1..={MAX_QUEUE_CAPACITY}",
                b.queue_capacity
            );
        }
        let r = &self.retry;
        if r.max_attempts == 0 || r.max_attempts > MAX_RETRY_ATTEMPTS {
            bail!(
                "retry.max_attempts {} is outside 1..={MAX_RETRY_ATTEMPTS}",
                r.max_attempts
            );
        }
        if r.base_ms == 0 || r.base_ms > r.max_ms {
            bail!(
                "retry.base_ms {} must be positive and at most retry.max_ms {}",
                r.base_ms,
                r.max_ms
            );
        }
        if !(self.backoff_scale > 0.0 && self.backoff_scale <= 1.0) {
            bail!("backoff_scale {} is outside (0, 1]", self.backoff_scale);
        }
        let f = &self.firehose;
        if !BUFFERING_SIZE_MB.contains(&f.buffering_size_mb) {
            bail!(
                "firehose.buffering_size_mb {} is outside {BUFFERING_SIZE_MB:?}",
                f.buffering_size_mb
            );
        }
        if !BUFFERING_INTERVAL_S.contains(&f.buffering_interval_s) {
            bail!(
                "firehose.buffering_interval_s {} is outside {BUFFERING_INTERVAL_S:?}",
                f.buffering_interval_s
            );
        }
        if self.sink == SinkKind::Firehose {
            let Some(name) = f.delivery_stream_name.as_deref() else {
                bail!("the firehose sink needs firehose.delivery_stream_name (--stream)");
            };
            if !(1..=64).contains(&name.len())
                || !name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
            {
                bail!("firehose.delivery_stream_name {name:?} is not 1-64 of [a-zA-Z0-9_.-]");
            }
        }
        if let Some(a) = f.bucket_arn.as_deref() {
            if !a.starts_with("arn:") {
                bail!("firehose.bucket_arn {a:?} is not an ARN (arn:aws:s3:::bucket)");
            }
        }
        if let Some(a) = f.role_arn.as_deref() {
            if !a.starts_with("arn:") {
                bail!("firehose.role_arn {a:?} is not an ARN");
            }
        }
        let x = &self.x;
        if !(1..=MAX_X_RULE_LEN).contains(&x.rule_max_len) {
            bail!(
                "x.rule_max_len {} is outside 1..={MAX_X_RULE_LEN}",
                x.rule_max_len
            );
        }
        if x.stall_timeout_ms == 0 {
            bail!("x.stall_timeout_ms must be positive");
        }
        if self.source == SourceKind::X
            && x.bearer_token.is_none()
            && (x.consumer_key.is_none() || x.consumer_secret.is_none())
        {
            bail!("the x source needs x.bearer_token, or x.consumer_key and x.consumer_secret");
        }
        for rate in [self.replay.rate, self.generate.rate].into_iter().flatten() {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("rate {rate} must be a positive number of posts per second");
            }
        }
        if !(0.0..=1.0).contains(&self.generate.located_share) {
            bail!(
                "generate.located_share {} is outside 0..=1",
                self.generate.located_share
            );
        }
        Filter::new(&self.filter).map_err(|e| anyhow::anyhow!("filter: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_config_js_names_are_accepted() {
        let c = Config::from_toml(
            r#"
            source = "x"
            sink = "firehose"
            region = "eu-west-1"
            [firehose]
            DeliveryStreamName = "twitter-stream"
            BucketARN = "arn:aws:s3:::my-bucket"
            RoleARN = "arn:aws:iam::123456789012:role/firehose_delivery_role"
            Prefix = "twitter/raw-data/"
            [twitter]
            consumer_key = "env:X_KEY"
            consumer_secret = "env:X_SECRET"
            [filter]
            keywords = ["christmas"]
            "#,
        )
        .expect("parses");
        assert_eq!(
            c.firehose.delivery_stream_name.as_deref(),
            Some("twitter-stream")
        );
        assert_eq!(c.firehose.prefix, "twitter/raw-data/");
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        c.validate().expect("valid");
    }

    #[test]
    fn unknown_keys_and_limits_are_refused() {
        assert!(Config::from_toml("sourse = \"x\"").is_err());
        let mut c = Config::default();
        c.batch.max_records = 501;
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.batch.max_bytes = MAX_BATCH_BYTES + 1;
        assert!(c.validate().is_err());
        let c = Config {
            sink: SinkKind::Firehose,
            ..Config::default()
        };
        let err = c.validate().expect_err("stream name missing");
        assert!(err.to_string().contains("delivery_stream_name"), "{err}");
        Config::default().validate().expect("defaults are valid");
    }
}
