//! `sentimap-lambda`: the Lambda function (no arguments) or, with `local`, the same handler run on an
//! event file, an S3 object or a local file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lambda_runtime::{service_fn, LambdaEvent};
use sentimap_lambda::event::ObjectRef;
use sentimap_lambda::{App, Config};
use serde_json::{json, Value};

#[derive(Debug, Parser)]
#[command(
    name = "sentimap-lambda",
    version,
    about = "Sentimap's S3 -> OpenSearch/Elasticsearch indexer"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the handler once outside Lambda and print its answer as JSON.
    Local(Local),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true))]
struct Local {
    /// An event file (S3 notification, SQS batch or EventBridge event), as Lambda would pass it.
    #[arg(long, group = "input")]
    event: Option<PathBuf>,
    /// One S3 object, `s3://bucket/key` (the key as stored, not URL-encoded).
    #[arg(long, group = "input")]
    s3: Option<String>,
    /// A local file (NDJSON, `,\n`-framed or concatenated JSON, optionally gzipped).
    #[arg(long, group = "input")]
    file: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

/// Flags mirroring the environment variables (`--index-url` = `SENTIMAP_INDEX_URL`, ...); a flag
/// wins over its variable. Secrets (password, API key) are read from the environment only.
#[derive(Debug, Args)]
struct Settings {
    /// SENTIMAP_INDEX_URL: base URL of the engine.
    #[arg(long)]
    index_url: Option<String>,
    /// SENTIMAP_INDEX: index or write alias; `{yyyy}`, `{MM}`, `{dd}` from the post date.
    #[arg(long)]
    index: Option<String>,
    /// SENTIMAP_INDEX_PATTERN: pattern of the index template.
    #[arg(long)]
    index_pattern: Option<String>,
    /// SENTIMAP_INDEX_ALIAS: read alias added by the template.
    #[arg(long)]
    index_alias: Option<String>,
    /// SENTIMAP_TEMPLATE_NAME: name of the index template.
    #[arg(long)]
    template_name: Option<String>,
    /// SENTIMAP_INSTALL_TEMPLATE: true or false.
    #[arg(long)]
    install_template: Option<bool>,
    /// SENTIMAP_AUTH: none, basic, api_key or sigv4.
    #[arg(long)]
    auth: Option<String>,
    /// SENTIMAP_USERNAME: user for basic auth (the password comes from SENTIMAP_PASSWORD).
    #[arg(long)]
    username: Option<String>,
    /// SENTIMAP_SIGV4_SERVICE: es or aoss.
    #[arg(long)]
    sigv4_service: Option<String>,
    /// SENTIMAP_SIGV4_REGION: signing region.
    #[arg(long)]
    sigv4_region: Option<String>,
    /// SENTIMAP_DEAD_LETTER_BUCKET: bucket for dead letters.
    #[arg(long)]
    dead_letter_bucket: Option<String>,
    /// SENTIMAP_DEAD_LETTER_PREFIX: key prefix for dead letters.
    #[arg(long)]
    dead_letter_prefix: Option<String>,
    /// SENTIMAP_DEAD_LETTER_DIR: local folder for dead letters instead of S3.
    #[arg(long)]
    dead_letter_dir: Option<PathBuf>,
    /// SENTIMAP_BULK_MAX_BYTES: bulk body size.
    #[arg(long)]
    bulk_max_bytes: Option<usize>,
    /// SENTIMAP_MAX_RETRIES: retry rounds per bulk request.
    #[arg(long)]
    max_retries: Option<u32>,
    /// SENTIMAP_RETRY_MIN_DELAY_MS: first backoff delay.
    #[arg(long)]
    retry_min_delay_ms: Option<u64>,
    /// SENTIMAP_RETRY_MAX_DELAY_MS: longest backoff delay.
    #[arg(long)]
    retry_max_delay_ms: Option<u64>,
    /// SENTIMAP_REQUEST_TIMEOUT_MS: timeout of one request.
    #[arg(long)]
    request_timeout_ms: Option<u64>,
}

impl Settings {
    fn overrides(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put("index_url", self.index_url.clone());
        put("index", self.index.clone());
        put("index_pattern", self.index_pattern.clone());
        put("index_alias", self.index_alias.clone());
        put("template_name", self.template_name.clone());
        put(
            "install_template",
            self.install_template.map(|b| b.to_string()),
        );
        put("auth", self.auth.clone());
        put("username", self.username.clone());
        put("sigv4_service", self.sigv4_service.clone());
        put("sigv4_region", self.sigv4_region.clone());
        put("dead_letter_bucket", self.dead_letter_bucket.clone());
        put("dead_letter_prefix", self.dead_letter_prefix.clone());
        put(
            "dead_letter_dir",
            self.dead_letter_dir
                .as_ref()
                .map(|p| p.display().to_string()),
        );
        put("bulk_max_bytes", self.bulk_max_bytes.map(|v| v.to_string()));
        put("max_retries", self.max_retries.map(|v| v.to_string()));
        put(
            "retry_min_delay_ms",
            self.retry_min_delay_ms.map(|v| v.to_string()),
        );
        put(
            "retry_max_delay_ms",
            self.retry_max_delay_ms.map(|v| v.to_string()),
        );
        put(
            "request_timeout_ms",
            self.request_timeout_ms.map(|v| v.to_string()),
        );
        m
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let result = match cli.command {
        None => run_lambda().await,
        Some(Command::Local(local)) => run_local(local).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "sentimap-lambda: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn build_app(overrides: &BTreeMap<String, String>) -> anyhow::Result<App> {
    let config = Config::from_vars(std::env::vars(), overrides)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    tracing::info!(index_url = %config.index_url, index = %config.index, auth = ?config.auth, "Configuration loaded.");
    Ok(App::new(config, &sdk)?)
}

async fn run_lambda() -> anyhow::Result<()> {
    // Validated at cold start: a bad setting fails the init phase with a clear message.
    let app = build_app(&BTreeMap::new()).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event.payload).await
    }))
    .await
    .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"))
}

async fn run_local(local: Local) -> anyhow::Result<()> {
    let app = build_app(&local.settings.overrides()).await?;
    let answer = if let Some(path) = &local.event {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let event: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        app.handle(event).await?
    } else if let Some(url) = &local.s3 {
        let rest = url
            .strip_prefix("s3://")
            .context("--s3 takes s3://bucket/key")?;
        let (bucket, key) = rest.split_once('/').context("--s3 takes s3://bucket/key")?;
        app.ensure_template().await?;
        let obj = ObjectRef {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        };
        let c = app.process_object(&obj).await?;
        json!({ "objects": [{ "bucket": bucket, "key": key, "read": c.read, "indexed": c.indexed,
            "dead_lettered": c.dead_lettered, "retried": c.retried }] })
    } else if let Some(path) = &local.file {
        app.ensure_template().await?;
        let c = app.process_file(path).await?;
        json!({ "objects": [{ "file": path.display().to_string(), "read": c.read, "indexed": c.indexed,
            "dead_lettered": c.dead_lettered, "retried": c.retried }] })
    } else {
        anyhow::bail!("one of --event, --s3, --file is required");
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &answer)?;
    writeln!(out)?;
    Ok(())
}
