//! `sentimap produce` flags: one flag (and one `SENTIMAP_*` environment variable) per config key, so a
//! run needs no file. Flags override the file; the file overrides the defaults.

use std::path::PathBuf;

use sentimap_core::BBox;

use super::config::{Compression, Config, SinkKind, SourceKind, StatusMode};
use super::secret::SecretRef;

/// Follow a stream, keep matching posts, deliver them to Firehose (or a folder, or stdout).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Produce")]
pub struct ProduceArgs {
    /// TOML config file (mirrors the original Config.js); flags override it.
    #[arg(long, env = "SENTIMAP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write the final summary as JSON to this file.
    #[arg(long, env = "SENTIMAP_SUMMARY")]
    pub summary: Option<PathBuf>,

    /// Source: x, jetstream, replay or generate.
    #[arg(long, env = "SENTIMAP_SOURCE", value_enum)]
    pub source: Option<SourceKind>,
    /// Sink: firehose, local or stdout.
    #[arg(long, env = "SENTIMAP_SINK", value_enum)]
    pub sink: Option<SinkKind>,
    /// AWS region (default: the SDK's chain, e.g. AWS_REGION).
    #[arg(long, env = "SENTIMAP_REGION")]
    pub region: Option<String>,
    /// Dead-letter JSONL file.
    #[arg(long, env = "SENTIMAP_DEAD_LETTER")]
    pub dead_letter: Option<PathBuf>,
    /// Live status line: auto, always or never.
    #[arg(long, env = "SENTIMAP_STATUS", value_enum)]
    pub status: Option<StatusMode>,
    /// Multiply reconnect delays and the stall timeout by this (0 < s <= 1; for tests).
    #[arg(long, env = "SENTIMAP_BACKOFF_SCALE")]
    pub backoff_scale: Option<f64>,

    /// Firehose delivery stream name (DeliveryStreamName).
    #[arg(long, env = "SENTIMAP_STREAM")]
    pub stream: Option<String>,
    /// S3 bucket ARN for a new stream (BucketARN).
    #[arg(long, env = "SENTIMAP_BUCKET_ARN")]
    pub bucket_arn: Option<String>,
    /// IAM role ARN for a new stream (RoleARN).
    #[arg(long, env = "SENTIMAP_ROLE_ARN")]
    pub role_arn: Option<String>,
    /// S3 key prefix (Prefix); also the local sink's prefix.
    #[arg(long, env = "SENTIMAP_PREFIX")]
    pub prefix: Option<String>,
    /// S3 key prefix for failed deliveries.
    #[arg(long, env = "SENTIMAP_ERROR_PREFIX")]
    pub error_prefix: Option<String>,
    /// Firehose buffering size, MiB.
    #[arg(long, env = "SENTIMAP_BUFFERING_SIZE_MB")]
    pub buffering_size_mb: Option<i32>,
    /// Firehose buffering interval, seconds.
    #[arg(long, env = "SENTIMAP_BUFFERING_INTERVAL_S")]
    pub buffering_interval_s: Option<i32>,
    /// Compression of S3 objects.
    #[arg(long, env = "SENTIMAP_COMPRESSION", value_enum)]
    pub compression: Option<Compression>,
    /// Create the stream when missing (true/false).
    #[arg(long, env = "SENTIMAP_CREATE_STREAM")]
    pub create_stream: Option<bool>,
    /// Seconds to wait for a new stream to become ACTIVE.
    #[arg(long, env = "SENTIMAP_ACTIVE_TIMEOUT_S")]
    pub active_timeout_s: Option<u64>,

    /// X bearer token (or env:/ssm:/secretsmanager: reference).
    #[arg(long, env = "SENTIMAP_X_BEARER_TOKEN", hide_env_values = true)]
    pub x_bearer_token: Option<SecretRef>,
    /// X consumer (API) key.
    #[arg(long, env = "SENTIMAP_X_CONSUMER_KEY", hide_env_values = true)]
    pub x_consumer_key: Option<SecretRef>,
    /// X consumer (API) secret.
    #[arg(long, env = "SENTIMAP_X_CONSUMER_SECRET", hide_env_values = true)]
    pub x_consumer_secret: Option<SecretRef>,
    /// X user access token (accepted from the original's keys; unused by the v2 stream).
    #[arg(long, env = "SENTIMAP_X_ACCESS_TOKEN", hide_env_values = true)]
    pub x_access_token: Option<SecretRef>,
    /// X user access token secret (accepted; unused by the v2 stream).
    #[arg(long, env = "SENTIMAP_X_ACCESS_TOKEN_SECRET", hide_env_values = true)]
    pub x_access_token_secret: Option<SecretRef>,
    /// X API base URL.
    #[arg(long, env = "SENTIMAP_X_API_BASE")]
    pub x_api_base: Option<String>,
    /// Sync the stream rules from the config (true/false).
    #[arg(long, env = "SENTIMAP_X_SYNC_RULES")]
    pub x_sync_rules: Option<bool>,
    /// An extra stream rule, verbatim (repeatable).
    #[arg(long = "x-rule", env = "SENTIMAP_X_RULES", value_delimiter = ';')]
    pub x_rules: Vec<String>,
    /// Add has:geo to rules (true/false).
    #[arg(long, env = "SENTIMAP_X_HAS_GEO")]
    pub x_has_geo: Option<bool>,
    /// Add -is:retweet to rules (true/false).
    #[arg(long, env = "SENTIMAP_X_EXCLUDE_RETWEETS")]
    pub x_exclude_retweets: Option<bool>,
    /// Longest rule this app may add.
    #[arg(long, env = "SENTIMAP_X_RULE_MAX_LEN")]
    pub x_rule_max_len: Option<usize>,
    /// Stall timeout, milliseconds.
    #[arg(long, env = "SENTIMAP_X_STALL_TIMEOUT_MS")]
    pub x_stall_timeout_ms: Option<u64>,

    /// Jetstream subscribe URL.
    #[arg(long, env = "SENTIMAP_JETSTREAM_URL")]
    pub jetstream_url: Option<String>,
    /// Jetstream start cursor (microseconds since the epoch).
    #[arg(long, env = "SENTIMAP_JETSTREAM_CURSOR")]
    pub jetstream_cursor: Option<i64>,
    /// Jetstream rewind on reconnect, milliseconds.
    #[arg(long, env = "SENTIMAP_JETSTREAM_REWIND_MS")]
    pub jetstream_rewind_ms: Option<u64>,
    /// Jetstream stall timeout, milliseconds.
    #[arg(long, env = "SENTIMAP_JETSTREAM_STALL_TIMEOUT_MS")]
    pub jetstream_stall_timeout_ms: Option<u64>,

    /// Replay input file (`-` for stdin).
    #[arg(long, env = "SENTIMAP_INPUT")]
    pub input: Option<PathBuf>,
    /// Posts per second for replay or generate (default: full speed).
    #[arg(long, env = "SENTIMAP_RATE")]
    pub rate: Option<f64>,
    /// Generator seed.
    #[arg(long, env = "SENTIMAP_SEED")]
    pub seed: Option<u64>,
    /// How many posts to generate.
    #[arg(long, env = "SENTIMAP_COUNT")]
    pub count: Option<u64>,
    /// Share of generated X posts with a location (0..=1).
    #[arg(long, env = "SENTIMAP_LOCATED_SHARE")]
    pub located_share: Option<f64>,
    /// Creation time of the first generated post, seconds since the epoch.
    #[arg(long, env = "SENTIMAP_START_UNIX")]
    pub start_unix: Option<i64>,

    /// Local sink folder.
    #[arg(long, env = "SENTIMAP_OUT_DIR")]
    pub out_dir: Option<PathBuf>,

    /// Keywords to keep, comma separated (a phrase in double quotes).
    #[arg(long, env = "SENTIMAP_KEYWORDS", value_delimiter = ',')]
    pub keywords: Vec<String>,
    /// Keep only posts with a location (true/false).
    #[arg(long, env = "SENTIMAP_REQUIRE_LOCATION")]
    pub require_location: Option<bool>,
    /// Languages to keep, comma separated.
    #[arg(long, env = "SENTIMAP_LANGUAGES", value_delimiter = ',')]
    pub languages: Vec<String>,
    /// A box west,south,east,north to keep (repeatable).
    #[arg(long = "bbox", env = "SENTIMAP_BBOXES", value_delimiter = ';')]
    pub bboxes: Vec<BBox>,

    /// Records per batch (<= 500).
    #[arg(long, env = "SENTIMAP_BATCH_MAX_RECORDS")]
    pub batch_max_records: Option<usize>,
    /// Bytes per batch (<= 4 MiB).
    #[arg(long, env = "SENTIMAP_BATCH_MAX_BYTES")]
    pub batch_max_bytes: Option<usize>,
    /// Linger before sending a batch that is not full, milliseconds.
    #[arg(long, env = "SENTIMAP_LINGER_MS")]
    pub linger_ms: Option<u64>,
    /// Queue capacity between source and sink, records.
    #[arg(long, env = "SENTIMAP_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,

    /// First retry delay, milliseconds.
    #[arg(long, env = "SENTIMAP_RETRY_BASE_MS")]
    pub retry_base_ms: Option<u64>,
    /// Longest retry delay, milliseconds.
    #[arg(long, env = "SENTIMAP_RETRY_MAX_MS")]
    pub retry_max_ms: Option<u64>,
    /// Attempts per batch before dead-lettering.
    #[arg(long, env = "SENTIMAP_RETRY_MAX_ATTEMPTS")]
    pub retry_max_attempts: Option<u32>,
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn set_opt<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

impl ProduceArgs {
    /// The file (if any), overlaid with the flags, validated.
    pub fn to_config(&self) -> anyhow::Result<Config> {
        let mut c = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        let a = self.clone();
        set(&mut c.source, a.source);
        set(&mut c.sink, a.sink);
        set_opt(&mut c.region, a.region);
        set(&mut c.dead_letter, a.dead_letter);
        set(&mut c.status, a.status);
        set(&mut c.backoff_scale, a.backoff_scale);

        let f = &mut c.firehose;
        set_opt(&mut f.delivery_stream_name, a.stream);
        set_opt(&mut f.bucket_arn, a.bucket_arn);
        set_opt(&mut f.role_arn, a.role_arn);
        set(&mut f.prefix, a.prefix);
        set(&mut f.error_prefix, a.error_prefix);
        set(&mut f.buffering_size_mb, a.buffering_size_mb);
        set(&mut f.buffering_interval_s, a.buffering_interval_s);
        set(&mut f.compression, a.compression);
        set(&mut f.create, a.create_stream);
        set(&mut f.active_timeout_s, a.active_timeout_s);

        let x = &mut c.x;
        set_opt(&mut x.bearer_token, a.x_bearer_token);
        set_opt(&mut x.consumer_key, a.x_consumer_key);
        set_opt(&mut x.consumer_secret, a.x_consumer_secret);
        set_opt(&mut x.access_token, a.x_access_token);
        set_opt(&mut x.access_token_secret, a.x_access_token_secret);
        set(&mut x.api_base, a.x_api_base);
        set(&mut x.sync_rules, a.x_sync_rules);
        if !a.x_rules.is_empty() {
            x.rules = a.x_rules;
        }
        set_opt(&mut x.has_geo, a.x_has_geo);
        set(&mut x.exclude_retweets, a.x_exclude_retweets);
        set(&mut x.rule_max_len, a.x_rule_max_len);
        set(&mut x.stall_timeout_ms, a.x_stall_timeout_ms);

        let j = &mut c.jetstream;
        set(&mut j.url, a.jetstream_url);
        set_opt(&mut j.cursor, a.jetstream_cursor);
        set(&mut j.rewind_ms, a.jetstream_rewind_ms);
        set(&mut j.stall_timeout_ms, a.jetstream_stall_timeout_ms);

        set_opt(&mut c.replay.input, a.input);
        set_opt(&mut c.replay.rate, a.rate);
        let g = &mut c.generate;
        set_opt(&mut g.rate, a.rate);
        set(&mut g.seed, a.seed);
        set_opt(&mut g.count, a.count);
        set(&mut g.located_share, a.located_share);
        set_opt(&mut g.start_unix, a.start_unix);

        set(&mut c.local.dir, a.out_dir);

        let fl = &mut c.filter;
        if !a.keywords.is_empty() {
            fl.keywords = a.keywords;
        }
        set(&mut fl.require_location, a.require_location);
        if !a.languages.is_empty() {
            fl.languages = a.languages;
        }
        if !a.bboxes.is_empty() {
            fl.bboxes = a.bboxes;
        }

        let b = &mut c.batch;
        set(&mut b.max_records, a.batch_max_records);
        set(&mut b.max_bytes, a.batch_max_bytes);
        set(&mut b.linger_ms, a.linger_ms);
        set(&mut b.queue_capacity, a.queue_capacity);

        let r = &mut c.retry;
        set(&mut r.base_ms, a.retry_base_ms);
        set(&mut r.max_ms, a.retry_max_ms);
        set(&mut r.max_attempts, a.retry_max_attempts);

        c.validate()?;
        Ok(c)
    }
}
