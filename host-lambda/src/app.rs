//! The handler: clients built once per cold start, borrowed by every invocation.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::OnceCell;
use tracing::{error, info, warn};

use crate::config::{Config, IndexTarget};
use crate::deadletter::{AnyStore, DirStore, S3Store};
use crate::event::{parse_invocation, Invocation, ObjectRef};
use crate::index::{IndexClient, SigV4};
use crate::pipeline::{index_stream, Counts, Job, RetryPolicy};
use crate::reader::{open_file, open_s3, OpenError};
use crate::Error;

/// Everything an invocation needs, built once.
#[derive(Debug)]
pub struct App {
    config: Config,
    s3: aws_sdk_s3::Client,
    index: IndexClient,
    target: IndexTarget,
    retry: RetryPolicy,
    template: OnceCell<()>,
}

impl App {
    /// Builds the clients from the configuration and the AWS SDK configuration.
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Result<Self, Error> {
        // Emulators (moto) need path-style addressing; real S3 takes virtual-hosted style.
        let s3_conf = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        let sigv4 = match (
            sdk.credentials_provider(),
            config
                .sigv4_region
                .clone()
                .or_else(|| sdk.region().map(|r| r.to_string())),
        ) {
            (Some(credentials), Some(region)) => Some(SigV4 {
                credentials,
                region,
                service: config.sigv4_service,
            }),
            _ => None,
        };
        let index = IndexClient::new(&config, sigv4)?;
        Ok(App {
            target: config.index_target(),
            retry: RetryPolicy::from_config(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            index,
            config,
            template: OnceCell::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Installs the index template once per cold start (again after a failed attempt).
    pub async fn ensure_template(&self) -> Result<(), Error> {
        if !self.config.install_template {
            return Ok(());
        }
        self.template
            .get_or_try_init(|| async {
                let pattern = self.config.template_pattern();
                let mut template = sentimap_core::index_template(&pattern);
                if let Some(alias) = &self.config.index_alias {
                    template["template"]["aliases"] = json!({ alias: {} });
                }
                // A busy or restarting node at cold start is retried like a bulk request.
                let mut backoff = self.retry.backoff();
                let mut tries = 0u32;
                let installed = loop {
                    tries += 1;
                    match self
                        .index
                        .ensure_template(&self.config.template_name, &template)
                        .await
                    {
                        Ok(installed) => break installed,
                        Err(mut e) if e.retryable() => match backoff.next() {
                            Some(delay) => {
                                warn!(error = %e, delay_ms = delay.as_millis() as u64, "Index template not checked yet; retrying.");
                                tokio::time::sleep(delay).await;
                            }
                            None => {
                                if let Error::IndexUnreachable { attempts, .. } = &mut e {
                                    *attempts = tries;
                                }
                                return Err(e);
                            }
                        },
                        Err(e) => return Err(e),
                    }
                };
                info!(
                    template = %self.config.template_name,
                    pattern = %pattern,
                    installed,
                    "Index template checked."
                );
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Handles one invocation payload. For SQS batches the answer lists the failed messages
    /// (`batchItemFailures`); otherwise any failed object fails the invocation.
    pub async fn handle(&self, event: Value) -> Result<Value, Error> {
        let invocation = parse_invocation(&event).map_err(Error::Event)?;
        self.ensure_template().await?;
        match invocation {
            Invocation::Objects(objects) => {
                let mut results = Vec::with_capacity(objects.len());
                let mut failures = Vec::new();
                for obj in &objects {
                    match self.process_object(obj).await {
                        Ok(c) => results.push(summary(obj, c)),
                        Err(e) => failures.push(e),
                    }
                }
                if failures.is_empty() {
                    return Ok(json!({ "objects": results }));
                }
                let failed = failures.len();
                let first = failures.swap_remove(0);
                Err(Error::Objects {
                    failed,
                    total: objects.len(),
                    first: Box::new(first),
                })
            }
            Invocation::Sqs(messages) => {
                let mut failed = Vec::new();
                let mut results = Vec::new();
                for m in &messages {
                    let objects = match &m.objects {
                        Ok(o) => o,
                        Err(reason) => {
                            // A poison message: the queue's redrive policy moves it aside.
                            error!(message_id = %m.message_id, %reason, "SQS message unreadable.");
                            failed.push(json!({ "itemIdentifier": m.message_id }));
                            continue;
                        }
                    };
                    let mut ok = true;
                    for obj in objects {
                        match self.process_object(obj).await {
                            Ok(c) => results.push(summary(obj, c)),
                            Err(_) => ok = false,
                        }
                    }
                    if !ok {
                        failed.push(json!({ "itemIdentifier": m.message_id }));
                    }
                }
                Ok(json!({ "batchItemFailures": failed, "objects": results }))
            }
        }
    }

    /// Indexes one S3 object.
    pub async fn process_object(&self, obj: &ObjectRef) -> Result<Counts, Error> {
        let start = Instant::now();
        let dl_bucket = self
            .config
            .dead_letter_bucket
            .clone()
            .unwrap_or_else(|| obj.bucket.clone());
        if dl_bucket == obj.bucket && obj.key.starts_with(&self.config.dead_letter_prefix) {
            // Our own dead letters: reading them would loop.
            warn!(bucket = %obj.bucket, key = %obj.key, "Object is under the dead-letter prefix; skipped.");
            return Ok(Counts::default());
        }
        let input = match open_s3(&self.s3, &obj.bucket, &obj.key).await {
            Ok(i) => i,
            Err(OpenError::Missing) => {
                warn!(bucket = %obj.bucket, key = %obj.key, "Object no longer exists; nothing to index.");
                return Ok(Counts::default());
            }
            Err(OpenError::Other(message)) => {
                let e = Error::Read {
                    bucket: obj.bucket.clone(),
                    key: obj.key.clone(),
                    message,
                };
                error!(bucket = %obj.bucket, key = %obj.key, error = %e, "Object failed.");
                return Err(e);
            }
        };
        let store = match &self.config.dead_letter_dir {
            Some(dir) => AnyStore::Dir(DirStore { dir: dir.clone() }),
            None => AnyStore::S3(S3Store {
                client: self.s3.clone(),
                bucket: dl_bucket,
            }),
        };
        self.run(input, &store, &obj.bucket, &obj.key, start).await
    }

    /// Indexes a local file (local mode).
    pub async fn process_file(&self, path: &Path) -> Result<Counts, Error> {
        let start = Instant::now();
        let key = path.display().to_string();
        let input = open_file(path).await.map_err(|e| Error::Read {
            bucket: String::new(),
            key: key.clone(),
            message: e.to_string(),
        })?;
        let store = match (
            &self.config.dead_letter_dir,
            &self.config.dead_letter_bucket,
        ) {
            (Some(dir), _) => AnyStore::Dir(DirStore { dir: dir.clone() }),
            (None, Some(bucket)) => AnyStore::S3(S3Store {
                client: self.s3.clone(),
                bucket: bucket.clone(),
            }),
            (None, None) => {
                return Err(Error::Config(
                    "--file needs --dead-letter-dir or --dead-letter-bucket".into(),
                ))
            }
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(key);
        self.run(input, &store, "", &name, start).await
    }

    async fn run(
        &self,
        input: crate::reader::Input,
        store: &AnyStore,
        bucket: &str,
        key: &str,
        start: Instant,
    ) -> Result<Counts, Error> {
        let job = Job {
            sender: &self.index,
            store,
            dead_letter_prefix: &self.config.dead_letter_prefix,
            target: &self.target,
            bulk_max_bytes: self.config.bulk_max_bytes,
            retry: self.retry,
            bucket,
            key,
        };
        let result = index_stream(input, &job).await;
        let ms = start.elapsed().as_millis() as u64;
        match &result {
            Ok(c) => info!(
                bucket,
                key,
                read = c.read,
                indexed = c.indexed,
                dead_lettered = c.dead_lettered,
                retried = c.retried,
                bulk_requests = c.bulk_requests,
                bytes = c.bytes,
                ms,
                "Object indexed."
            ),
            Err(e) => error!(bucket, key, ms, error = %e, "Object failed."),
        }
        result
    }
}

fn summary(obj: &ObjectRef, c: Counts) -> Value {
    json!({
        "bucket": obj.bucket,
        "key": obj.key,
        "read": c.read,
        "indexed": c.indexed,
        "dead_lettered": c.dead_lettered,
        "retried": c.retried,
    })
}
