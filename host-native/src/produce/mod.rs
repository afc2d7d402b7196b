//! `sentimap produce`: source → core filter → bounded queue → batches → sink.
//!
//! Every record received is counted once as skipped, invalid (dead-lettered), rejected or accepted;
//! every accepted record ends as sent or failed (dead-lettered). On SIGINT/SIGTERM the source stops,
//! the queue drains, the last batch is sent, and the process exits 0.

pub mod args;
pub mod batch;
pub mod config;
pub mod dead_letter;
pub mod filter;
pub mod secret;
pub mod sink;
pub mod source;
pub mod stats;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sentimap_core::Filter;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use args::ProduceArgs;
pub use config::Config;
pub use source::generate::Generator;
pub use stats::Summary;

use config::{SinkKind, SourceKind, StatusMode};
use dead_letter::DeadLetter;
use secret::SecretRef;
use sink::Sink;
use stats::Stats;

/// Loads the AWS SDK's standard configuration (credentials chain, region, `AWS_ENDPOINT_URL`),
/// with the config's region when set.
pub async fn aws_config(region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_owned()));
    }
    loader.load().await
}

fn needs_aws(r: &Option<SecretRef>) -> bool {
    matches!(
        r,
        Some(SecretRef::Ssm(_) | SecretRef::SecretsManager { .. })
    )
}

async fn resolve(
    r: &Option<SecretRef>,
    aws: &mut Option<aws_config::SdkConfig>,
    region: Option<&str>,
    name: &str,
) -> anyhow::Result<Option<secret::Secret>> {
    let Some(r) = r else { return Ok(None) };
    if aws.is_none() {
        *aws = Some(aws_config(region).await);
    }
    let Some(conf) = aws.as_ref() else {
        return Ok(None);
    };
    r.resolve(conf)
        .await
        .with_context(|| format!("resolving {name}"))
        .map(Some)
}

/// Runs the producer until the source ends or `stop` is cancelled; returns the final counts.
pub async fn run(config: Config, stop: CancellationToken) -> anyhow::Result<Summary> {
    // Two TLS back ends are linked (the AWS SDK's and reqwest's); pick one for the rest.
    let _ = rustls::crypto::ring::default_provider().install_default();
    config.validate()?;
    let stats = Arc::new(Stats::default());
    let dead = Arc::new(DeadLetter::new(&config.dead_letter));
    let filter = Filter::new(&config.filter).map_err(|e| anyhow::anyhow!("filter: {e}"))?;
    let region = config.region.as_deref();

    let mut aws: Option<aws_config::SdkConfig> = None;
    let x_creds = if config.source == SourceKind::X {
        let x = &config.x;
        if [&x.bearer_token, &x.consumer_key, &x.consumer_secret]
            .into_iter()
            .any(needs_aws)
        {
            aws = Some(aws_config(region).await);
        }
        let bearer = resolve(&x.bearer_token, &mut aws, region, "x.bearer_token").await?;
        Some(match bearer {
            Some(t) => source::x::Credentials::Bearer(t),
            None => source::x::Credentials::Consumer {
                key: resolve(&x.consumer_key, &mut aws, region, "x.consumer_key")
                    .await?
                    .context("x.consumer_key is not set")?,
                secret: resolve(&x.consumer_secret, &mut aws, region, "x.consumer_secret")
                    .await?
                    .context("x.consumer_secret is not set")?,
            },
        })
    } else {
        None
    };

    let sink = match config.sink {
        SinkKind::Firehose => {
            if aws.is_none() {
                aws = Some(aws_config(region).await);
            }
            let conf = aws.as_ref().context("AWS configuration")?;
            Sink::Firehose(
                sink::firehose::FirehoseSink::connect(conf, &config.firehose, config.retry.clone())
                    .await?,
            )
        }
        SinkKind::Local => Sink::Local(sink::local::LocalSink::new(
            config.local.dir.clone(),
            config.firehose.prefix.clone(),
            config
                .firehose
                .delivery_stream_name
                .clone()
                .unwrap_or_else(|| "sentimap".into()),
        )),
        SinkKind::Stdout => Sink::Stdout,
    };

    let (tx, rx) = mpsc::channel(config.batch.queue_capacity);
    let sink_task = tokio::spawn(batch::run(
        rx,
        sink,
        batch::Batcher::new(config.batch.max_records, config.batch.max_bytes),
        Duration::from_millis(config.batch.linger_ms),
        stats.clone(),
        dead.clone(),
    ));
    let status_stop = CancellationToken::new();
    let status_task = match config.status {
        StatusMode::Never => None,
        mode => Some(tokio::spawn(stats::status_line(
            stats.clone(),
            mode == StatusMode::Always,
            status_stop.clone(),
        ))),
    };

    let ingest = filter::Ingest::new(tx, filter, stats.clone(), dead.clone());
    info!(source = ?config.source, sink = ?config.sink, "Producer started.");
    let scale = config.backoff_scale;
    let source_result = match (config.source, x_creds) {
        (SourceKind::Generate, _) => source::generate::run(&config.generate, &ingest, &stop).await,
        (SourceKind::Replay, _) => source::replay::run(&config.replay, &ingest, &stop).await,
        (SourceKind::Jetstream, _) => {
            source::jetstream::run(&config.jetstream, scale, &ingest, &stop).await
        }
        (SourceKind::X, Some(creds)) => {
            source::x::run(&config.x, &config.filter, creds, scale, &ingest, &stop).await
        }
        (SourceKind::X, None) => Err(anyhow::anyhow!("x credentials missing")),
    };
    // Dropping the last sender closes the queue: the sink drains it and sends the last batch.
    drop(ingest);
    info!(
        queued = stats.queued.load(std::sync::atomic::Ordering::Relaxed),
        "Source stopped; flushing."
    );
    let sink_result = sink_task.await.context("sink task panicked")?;
    status_stop.cancel();
    if let Some(t) = status_task {
        let _ = t.await;
    }
    let summary = stats.summary();
    info!(
        received = summary.received,
        matched = summary.matched,
        accepted = summary.accepted,
        sent = summary.sent,
        failed = summary.failed,
        retried = summary.retried,
        invalid = summary.invalid,
        skipped = summary.skipped,
        rejected = summary.rejected,
        calls = summary.calls,
        "Summary."
    );
    if summary.failed > 0 || summary.invalid > 0 {
        warn!(
            failed = summary.failed,
            invalid = summary.invalid,
            dead_letter = %config.dead_letter.display(),
            "Some records were dead-lettered."
        );
    }
    source_result?;
    sink_result?;
    Ok(summary)
}

/// Cancels `stop` on the first SIGINT or SIGTERM; a second one exits at once (code 130).
pub fn stop_on_signals(stop: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        info!("Signal received: stopping the source and flushing the queue.");
        stop.cancel();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        warn!("Second signal: exiting without flushing.");
        std::process::exit(130);
    });
    Ok(())
}

/// Sets up logging (`SENTIMAP_LOG`, default `info`, on stderr); harmless when already set up.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENTIMAP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The whole command: config from flags and file, signals, runtime, summary file.
pub fn main(args: &ProduceArgs) -> anyhow::Result<Summary> {
    init_logging();
    let config = args.to_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        let stop = CancellationToken::new();
        stop_on_signals(stop.clone())?;
        run(config, stop).await
    })?;
    if let Some(path) = &args.summary {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(summary)
}
