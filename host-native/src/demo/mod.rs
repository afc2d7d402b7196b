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
use sentimap_store::{OpenSearchConfig, OpenSearchStore, SqliteStore, Store};
use tokio::sync::watch;

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
    /// Only serve the dashboard over what is stored: ingest nothing.
    #[arg(long)]
    serve_only: bool,
    /// How often the delivery directory is checked for new objects, in milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
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
    let _ = stop_tx.send(true);
    let mut code = ExitCode::SUCCESS;
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
