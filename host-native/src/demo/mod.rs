//! `sentimap demo`: the whole pipeline on one machine with nothing to install. Posts land in a local
//! directory in Firehose's S3 layout, the indexer's code path runs on each delivered object, an
//! embedded SQLite store (or OpenSearch with `--opensearch`) keeps them, and the dashboard shows them.

mod ingest;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sentimap::produce::config::{SinkKind, SourceKind, StatusMode};
use sentimap::produce::Config as ProducerConfig;
use sentimap_store::{sigv4, Auth, OpenSearchConfig, OpenSearchStore, SqliteStore, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::dashboard;

/// Shortest polling interval of the delivery directory.
const MIN_POLL_MS: u64 = 50;

/// Flags of `sentimap demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Where the demo keeps delivered objects (`firehose/`), the SQLite store, the ledger of indexed
    /// objects and dead letters. A rerun with the same directory continues from what is stored.
    #[arg(long, default_value = "sentimap-data", env = "SENTIMAP_DATA_DIR")]
    data_dir: PathBuf,
    /// Dashboard port (0 picks a free one; the URL is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind. The dashboard is read-only, but keep it on loopback unless you mean it.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Open the dashboard in a browser.
    #[arg(long)]
    open: bool,
    /// Index into this OpenSearch/Elasticsearch URL instead of the embedded SQLite store.
    #[arg(long, value_name = "URL")]
    opensearch: Option<String>,
    /// Index (or alias / pattern) used with `--opensearch`.
    #[arg(long, default_value = "sentimap-posts", requires = "opensearch")]
    index: String,
    /// How to authenticate to `--opensearch`: `none`; `basic` (`--opensearch-user`, the password
    /// from SENTIMAP_PASSWORD); `api-key` (SENTIMAP_API_KEY: `id:key` or base64); or `sigv4`, AWS
    /// Signature V4 with credentials from the AWS SDK's default chain (environment, profile, SSO,
    /// container or instance role), for an IAM-only Amazon OpenSearch Service domain or an
    /// OpenSearch Serverless collection. Secrets are read from the environment, never from flags.
    #[arg(long, value_enum, default_value = "none", requires = "opensearch")]
    opensearch_auth: OpenSearchAuth,
    /// User for `--opensearch-auth basic`.
    #[arg(long, value_name = "USER", requires = "opensearch")]
    opensearch_user: Option<String>,
    /// SigV4 service: `es` (managed domains) or `aoss` (Serverless collections).
    #[arg(long, default_value = "es", value_parser = parse_service, requires = "opensearch")]
    sigv4_service: sigv4::Service,
    /// SigV4 signing region (default: the SDK's, from AWS_REGION or the profile).
    #[arg(long, requires = "opensearch")]
    region: Option<String>,
    /// Only serve the dashboard over what is stored: ingest nothing.
    #[arg(long)]
    serve_only: bool,
    /// How often the delivery directory is checked for new objects, in milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    /// Where posts come from: synthetic posts (default), a replay file, Bluesky Jetstream, X (its
    /// credentials and rules from `--config`), or none: only index objects that other programs
    /// (e.g. `sentimap produce --sink local`) write into `<data-dir>/firehose/`.
    #[arg(long, value_enum, default_value = "generate")]
    source: DemoSource,
    /// Generator seed. Default: a new one each run, so a rerun adds new posts to the stored ones.
    #[arg(long)]
    seed: Option<u64>,
    /// Stop the source after this many posts (default: endless).
    #[arg(long)]
    count: Option<u64>,
    /// Posts per second from the generator or a replay (default: 20 for the generator, full speed
    /// for a replay).
    #[arg(long)]
    rate: Option<f64>,
    /// First post time of the generator, Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    start: Option<i64>,
    /// Raw posts to replay (JSONL, any format the core reads), with `--source replay`.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Keep only posts with one of these words (comma-separated; default: every located post).
    #[arg(long, value_delimiter = ',')]
    keywords: Vec<String>,
    /// A producer config file (TOML, as for `sentimap produce --config`) for the X and Jetstream
    /// settings; its sink settings are replaced by the demo's local folder.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// `--opensearch-auth` values (the indexer's `SENTIMAP_AUTH` ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OpenSearchAuth {
    /// No authentication.
    None,
    /// HTTP basic auth.
    Basic,
    /// An API key.
    ApiKey,
    /// AWS Signature V4.
    Sigv4,
}

fn parse_service(s: &str) -> Result<sigv4::Service, String> {
    s.parse()
}

/// The password or API key named by `var`, from the environment only.
fn secret_env(var: &str, what: &str) -> anyhow::Result<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => anyhow::bail!("--opensearch-auth {what} needs {var} in the environment"),
    }
}

impl DemoArgs {
    /// The store's authentication from the flags (credentials and region from the AWS SDK's
    /// default chain for SigV4).
    async fn opensearch_auth(&self) -> anyhow::Result<Auth> {
        Ok(match self.opensearch_auth {
            OpenSearchAuth::None => Auth::None,
            OpenSearchAuth::Basic => Auth::Basic {
                username: self
                    .opensearch_user
                    .clone()
                    .context("--opensearch-auth basic needs --opensearch-user")?,
                password: secret_env("SENTIMAP_PASSWORD", "basic")?,
            },
            OpenSearchAuth::ApiKey => Auth::ApiKey(secret_env("SENTIMAP_API_KEY", "api-key")?),
            OpenSearchAuth::Sigv4 => {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let credentials = sdk.credentials_provider().context(
                    "--opensearch-auth sigv4: the AWS SDK found no credentials provider",
                )?;
                let region = self
                    .region
                    .clone()
                    .or_else(|| sdk.region().map(|r| r.to_string()))
                    .context("--opensearch-auth sigv4 needs --region (or AWS_REGION)")?;
                Auth::SigV4(sigv4::Signer::new(credentials, region, self.sigv4_service))
            }
        })
    }
}

/// The demo's sources: the producer's, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DemoSource {
    /// Synthetic posts (seeded).
    Generate,
    /// A file of raw posts (`--input`).
    Replay,
    /// Bluesky Jetstream (no account needed).
    Jetstream,
    /// The X API v2 filtered stream.
    X,
    /// No source: index what lands in the folder.
    None,
}

/// Generator rate when none is given: lively, and easy on a laptop.
const DEFAULT_GENERATE_RATE: f64 = 20.0;

impl DemoArgs {
    /// The producer's config: the chosen source, the filter, the local Firehose-layout sink.
    fn producer_config(
        &self,
        firehose: &std::path::Path,
    ) -> anyhow::Result<Option<ProducerConfig>> {
        let source = match self.source {
            DemoSource::Generate => SourceKind::Generate,
            DemoSource::Replay => SourceKind::Replay,
            DemoSource::Jetstream => SourceKind::Jetstream,
            DemoSource::X => SourceKind::X,
            DemoSource::None => return Ok(None),
        };
        let mut c = match &self.config {
            Some(path) => ProducerConfig::from_file(path)?,
            None => ProducerConfig::default(),
        };
        c.source = source;
        c.sink = SinkKind::Local;
        c.local.dir = firehose.to_path_buf();
        c.firehose.prefix = String::new();
        c.firehose.delivery_stream_name = Some("sentimap-demo".into());
        c.dead_letter = self.data_dir.join("producer-dead-letters.jsonl");
        c.status = StatusMode::Never;
        c.generate.seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(1)
        });
        c.generate.count = self.count.or(c.generate.count);
        c.generate.start_unix = self.start.or(c.generate.start_unix);
        c.generate.rate = self
            .rate
            .or(c.generate.rate)
            .or(Some(DEFAULT_GENERATE_RATE));
        if self.input.is_some() {
            c.replay.input = self.input.clone();
        }
        if self.rate.is_some() {
            c.replay.rate = self.rate;
        }
        if !self.keywords.is_empty() {
            c.filter.keywords = self.keywords.clone();
        }
        c.validate()?;
        Ok(Some(c))
    }
}

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        match args.opensearch.clone() {
            Some(url) => {
                let mut cfg = OpenSearchConfig::new(url);
                cfg.auth = args.opensearch_auth().await?;
                cfg.index = args.index.clone();
                cfg.template = args
                    .index
                    .trim_end_matches('*')
                    .trim_end_matches('-')
                    .to_string();
                let store = OpenSearchStore::new(cfg).context("building the OpenSearch client")?;
                run_with(Arc::new(store), args).await
            }
            None => {
                let path = args.data_dir.join("store.sqlite");
                let store = SqliteStore::open(&path)
                    .with_context(|| format!("opening {}", path.display()))?;
                run_with(Arc::new(store), args).await
            }
        }
    })
}

async fn run_with<S: Store>(store: Arc<S>, args: DemoArgs) -> anyhow::Result<ExitCode> {
    if args.poll_ms < MIN_POLL_MS {
        anyhow::bail!("--poll-ms must be at least {MIN_POLL_MS}");
    }
    let firehose = args.data_dir.join("firehose");
    let dead_dir = args.data_dir.join("dead-letters");
    std::fs::create_dir_all(&firehose)
        .with_context(|| format!("creating {}", firehose.display()))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let listener = dashboard::bind(SocketAddr::new(args.bind, args.port)).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let url = format!("http://{addr}/");
    if !args.bind.is_loopback() {
        tracing::warn!(%addr, "Dashboard bound to a non-loopback address.");
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Sentimap dashboard: {url}")?;
        writeln!(
            out,
            "Data: {}  (Ctrl-C stops; a rerun continues from it)",
            args.data_dir.display()
        )?;
        out.flush()?;
    }
    if args.open {
        open_browser(&url);
    }

    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(dashboard::serve(listener, store.clone(), async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));

    let producer_stop = CancellationToken::new();
    let producer_config = if args.serve_only {
        None
    } else {
        args.producer_config(&firehose)?
    };
    let producer = if let Some(config) = producer_config {
        let stop = producer_stop.clone();
        Some(tokio::spawn(async move {
            let summary = sentimap::produce::run(config, stop).await.inspect_err(|e| {
                tracing::error!(error = %format!("{e:#}"), "Source failed; the dashboard keeps serving what is stored.");
            })?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "Source finished: {} posts received, {} delivered, {} dead-lettered.",
                summary.received,
                summary.sent,
                summary.failed + summary.invalid
            )?;
            out.flush()?;
            anyhow::Ok(summary)
        }))
    } else {
        None
    };

    let ingest = if args.serve_only {
        None
    } else {
        let store = store.clone();
        let mut stop = stop_rx.clone();
        let poll = Duration::from_millis(args.poll_ms);
        let ledger_path = args.data_dir.join("ingested.log");
        Some(tokio::spawn(async move {
            let mut ledger = ingest::Ledger::open(ledger_path)?;
            tracing::info!(done = ledger.len(), "Ledger loaded.");
            let mut stats = ingest::IngestStats::default();
            loop {
                let n = ingest::ingest_new(
                    store.as_ref(),
                    &firehose,
                    &dead_dir,
                    &mut ledger,
                    &mut stats,
                )
                .await?;
                if n > 0 {
                    tracing::info!(
                        objects = stats.objects,
                        indexed = stats.indexed,
                        dead_lettered = stats.dead_lettered,
                        "Objects indexed."
                    );
                }
                if *stop.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
            anyhow::Ok(stats)
        }))
    };

    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("Stopping.");
    let mut code = ExitCode::SUCCESS;
    // The source stops first and flushes what it accepted to the folder; the ingest loop then makes
    // one last pass, so nothing accepted is left unindexed.
    producer_stop.cancel();
    if let Some(task) = producer {
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => code = ExitCode::from(1),
            Err(e) => return Err(e).context("source task"),
        }
    }
    let _ = stop_tx.send(true);
    if let Some(task) = ingest {
        match task.await {
            Ok(Ok(stats)) => {
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "Stopped: {} objects, {} posts indexed, {} dead-lettered this run.",
                    stats.objects, stats.indexed, stats.dead_lettered
                )?;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "Ingest failed.");
                code = ExitCode::from(1);
            }
            Err(e) => return Err(e).context("ingest task"),
        }
    }
    server.await.context("server task")??;
    Ok(code)
}

fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(cmd).arg(url).spawn() {
        tracing::warn!(error = %e, "Could not open a browser; open the URL yourself.");
    }
}
