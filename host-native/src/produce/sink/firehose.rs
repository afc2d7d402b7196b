//! Amazon Kinesis Data Firehose: creates the delivery stream when missing and waits for ACTIVE, then
//! sends each batch with one PutRecordBatch, resending only the entries that failed (exponential
//! backoff with jitter) until they are taken or the attempts run out and they are dead-lettered.

use std::time::Duration;

use anyhow::{bail, Context};
use aws_sdk_firehose::config::http::HttpResponse;
use aws_sdk_firehose::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamStatus, DeliveryStreamType,
    ExtendedS3DestinationConfiguration, Record,
};
use aws_sdk_firehose::Client;
use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use tracing::{info, warn};

use crate::produce::config::{Compression, FirehoseConfig, RetryConfig};
use crate::produce::dead_letter::DeadLetter;
use crate::produce::stats::Stats;

/// A connected Firehose delivery stream.
#[derive(Debug)]
pub struct FirehoseSink {
    client: Client,
    stream: String,
    retry: RetryConfig,
}

impl FirehoseSink {
    /// Makes sure the stream exists and is ACTIVE (creating it if allowed).
    pub async fn connect(
        aws: &aws_config::SdkConfig,
        cfg: &FirehoseConfig,
        retry: RetryConfig,
    ) -> anyhow::Result<Self> {
        let stream = cfg
            .delivery_stream_name
            .clone()
            .context("firehose.delivery_stream_name is not set")?;
        let control = Client::new(aws);
        ensure_active(&control, &stream, cfg).await?;
        // Retries of PutRecordBatch are ours (they resend only failed entries and are counted), so
        // the SDK's own retry layer is off for the data client.
        let data_conf = aws_sdk_firehose::config::Builder::from(aws)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Ok(FirehoseSink {
            client: Client::from_conf(data_conf),
            stream,
            retry,
        })
    }

    /// Delivers a batch; see the module doc.
    pub async fn send(
        &mut self,
        batch: Vec<Bytes>,
        stats: &Stats,
        dead: &DeadLetter,
    ) -> anyhow::Result<()> {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.retry.base_ms))
            .with_max_delay(Duration::from_millis(self.retry.max_ms))
            .with_jitter()
            .with_max_times(self.retry.max_attempts.saturating_sub(1) as usize)
            .build();
        let mut pending = batch;
        loop {
            Stats::inc(&stats.calls);
            let records = pending
                .iter()
                .map(|b| Record::builder().data(Blob::new(b.to_vec())).build())
                .collect::<Result<Vec<_>, _>>()
                .context("building Firehose records")?;
            let answer = self
                .client
                .put_record_batch()
                .delivery_stream_name(&self.stream)
                .set_records(Some(records))
                .send()
                .await;
            let (kind, reason) = match answer {
                Ok(out) => {
                    let responses = out.request_responses();
                    if out.failed_put_count() == 0 && responses.len() == pending.len() {
                        Stats::add(&stats.sent, pending.len() as u64);
                        return Ok(());
                    }
                    if responses.len() != pending.len() {
                        // An answer that does not line up with the request cannot tell which
                        // records were taken: resend them all (at-least-once).
                        (
                            "mismatched_answer".to_owned(),
                            format!("{} answers for {} records", responses.len(), pending.len()),
                        )
                    } else {
                        let mut still = Vec::with_capacity(out.failed_put_count() as usize);
                        let mut last = (String::new(), String::new());
                        for (record, resp) in pending.into_iter().zip(responses) {
                            match resp.error_code() {
                                Some(code) => {
                                    last = (
                                        code.to_owned(),
                                        resp.error_message().unwrap_or_default().to_owned(),
                                    );
                                    still.push(record);
                                }
                                None => Stats::inc(&stats.sent),
                            }
                        }
                        pending = still;
                        if pending.is_empty() {
                            return Ok(());
                        }
                        last
                    }
                }
                Err(e) => {
                    let (retryable, kind, reason) = classify(&e);
                    if !retryable {
                        warn!(
                            records = pending.len(),
                            kind = %kind,
                            reason = %reason,
                            dead_letter = %dead.path().display(),
                            "Firehose refused the batch; dead-lettering it."
                        );
                        dead_letter(&pending, &kind, &reason, stats, dead);
                        return Ok(());
                    }
                    (kind, reason)
                }
            };
            match delays.next() {
                Some(delay) => {
                    Stats::add(&stats.retried, pending.len() as u64);
                    info!(
                        records = pending.len(),
                        kind = %kind,
                        delay_ms = delay.as_millis() as u64,
                        "Resending failed records."
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    warn!(
                        records = pending.len(),
                        kind = %kind,
                        attempts = self.retry.max_attempts,
                        dead_letter = %dead.path().display(),
                        "Retries exhausted; dead-lettering."
                    );
                    let reason = format!(
                        "not taken after {} attempts; last error {kind}: {reason}",
                        self.retry.max_attempts
                    );
                    dead_letter(&pending, "retries_exhausted", &reason, stats, dead);
                    return Ok(());
                }
            }
        }
    }
}

fn dead_letter(records: &[Bytes], kind: &str, reason: &str, stats: &Stats, dead: &DeadLetter) {
    Stats::add(&stats.failed, records.len() as u64);
    for r in records {
        if let Err(e) = dead.write("undeliverable", kind, None, reason, r) {
            tracing::error!(error = %format!("{e:#}"), "Dead letter lost.");
        }
    }
}

/// Whether a failed call is worth repeating, with a stable kind and a reason.
fn classify(e: &SdkError<PutRecordBatchError, HttpResponse>) -> (bool, String, String) {
    let reason = aws_smithy_error_chain(e);
    match e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("unknown").to_owned();
            let status = se.raw().status().as_u16();
            let retryable = status >= 500
                || status == 429
                || se.err().is_service_unavailable_exception()
                || matches!(
                    code.as_str(),
                    "ThrottlingException" | "LimitExceededException" | "InternalFailure"
                );
            (retryable, code, reason)
        }
        SdkError::TimeoutError(_) => (true, "timeout".into(), reason),
        SdkError::DispatchFailure(_) => (true, "dispatch_failure".into(), reason),
        SdkError::ResponseError(_) => (true, "response_error".into(), reason),
        SdkError::ConstructionFailure(_) => (false, "construction_failure".into(), reason),
        _ => (true, "unknown".into(), reason),
    }
}

fn aws_smithy_error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

async fn ensure_active(client: &Client, stream: &str, cfg: &FirehoseConfig) -> anyhow::Result<()> {
    let status = match client
        .describe_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await
    {
        Ok(out) => out
            .delivery_stream_description()
            .map(|d| d.delivery_stream_status().clone()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            if !cfg.create {
                bail!("delivery stream {stream} does not exist and firehose.create is false");
            }
            create(client, stream, cfg).await?;
            None
        }
        Err(e) => {
            return Err(anyhow::anyhow!(aws_smithy_error_chain(&e)))
                .with_context(|| format!("describing delivery stream {stream}"))
        }
    };
    if status == Some(DeliveryStreamStatus::Active) {
        info!(stream, "Delivery stream is ACTIVE.");
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(cfg.active_timeout_s);
    loop {
        let out = client
            .describe_delivery_stream()
            .delivery_stream_name(stream)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_smithy_error_chain(&e)))
            .with_context(|| format!("describing delivery stream {stream}"))?;
        let status = out
            .delivery_stream_description()
            .map(|d| d.delivery_stream_status().clone());
        match status {
            Some(DeliveryStreamStatus::Active) => {
                info!(stream, "Delivery stream is ACTIVE.");
                return Ok(());
            }
            Some(DeliveryStreamStatus::Creating) | None => {}
            Some(other) => bail!("delivery stream {stream} is {other:?}, not ACTIVE"),
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "delivery stream {stream} is not ACTIVE after {} s",
                cfg.active_timeout_s
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn create(client: &Client, stream: &str, cfg: &FirehoseConfig) -> anyhow::Result<()> {
    let bucket = cfg.bucket_arn.as_deref().context(
        "the delivery stream is missing: firehose.bucket_arn (--bucket-arn) is needed to create it",
    )?;
    let role = cfg.role_arn.as_deref().context(
        "the delivery stream is missing: firehose.role_arn (--role-arn) is needed to create it",
    )?;
    let compression = match cfg.compression {
        Compression::Uncompressed => CompressionFormat::Uncompressed,
        Compression::Gzip => CompressionFormat::Gzip,
        Compression::Zip => CompressionFormat::Zip,
        Compression::Snappy => CompressionFormat::Snappy,
        Compression::HadoopSnappy => CompressionFormat::HadoopSnappy,
    };
    let dest = ExtendedS3DestinationConfiguration::builder()
        .bucket_arn(bucket)
        .role_arn(role)
        .prefix(&cfg.prefix)
        .error_output_prefix(&cfg.error_prefix)
        .buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(cfg.buffering_size_mb)
                .interval_in_seconds(cfg.buffering_interval_s)
                .build(),
        )
        .compression_format(compression)
        .build()
        .context("building the S3 destination")?;
    client
        .create_delivery_stream()
        .delivery_stream_name(stream)
        .delivery_stream_type(DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(dest)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_smithy_error_chain(&e)))
        .with_context(|| format!("creating delivery stream {stream}"))?;
    info!(stream, bucket, prefix = %cfg.prefix, "Delivery stream created.");
    Ok(())
}
