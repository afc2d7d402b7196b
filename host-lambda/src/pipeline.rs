//! One object, start to end: read records, normalise and score each, fill bulk bodies, send them,
//! read every item of the answers, retry what the engine could not take yet, dead-letter the rest.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use sentimap_core::{normalize, Error as CoreError, IndexDoc, MAX_RAW_POST_BYTES};
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tracing::warn;

use crate::bulk::{classify, retryable, BulkBuffer, Origin, Outcome};
use crate::config::{Config, IndexTarget};
use crate::deadletter::{DeadLetter, DeadLetterStore, DeadLetterWriter, SourceRef};
use crate::framing::{Frame, Framer};
use crate::index::{snippet, BulkSender};
use crate::Error;

/// Counters of one object, logged once when it is done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records read.
    pub read: u64,
    /// Documents the engine accepted.
    pub indexed: u64,
    /// Records and documents sent to the dead letters.
    pub dead_lettered: u64,
    /// Item sends repeated after a 429/5xx or a failed request.
    pub retried: u64,
    /// Bulk requests that got an answer.
    pub bulk_requests: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
}

/// Retry policy for bulk requests.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retry rounds after the first send.
    pub max_retries: u32,
    /// First delay.
    pub min_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// From the configuration.
    pub fn from_config(c: &Config) -> Self {
        RetryPolicy {
            max_retries: c.max_retries,
            min_delay: Duration::from_millis(c.retry_min_delay_ms),
            max_delay: Duration::from_millis(c.retry_max_delay_ms),
        }
    }

    /// The delays between attempts: exponential, with jitter, at most `max_retries` of them.
    pub fn backoff(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries as usize)
            .with_jitter()
            .build()
    }
}

/// What the pipeline needs besides the input.
#[derive(Debug)]
pub struct Job<'a, B, S> {
    /// Where bulk bodies go.
    pub sender: &'a B,
    /// Where dead letters go.
    pub store: &'a S,
    /// Dead-letter key prefix.
    pub dead_letter_prefix: &'a str,
    /// Index naming.
    pub target: &'a IndexTarget,
    /// Bulk body size to send at.
    pub bulk_max_bytes: usize,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Source bucket (empty for a local file).
    pub bucket: &'a str,
    /// Source key or path.
    pub key: &'a str,
}

/// Reads every record of `input` and indexes it. Returns the counts; fails only when something
/// would otherwise be lost (the engine unreachable or refusing requests after retries, dead letters
/// not writable, the object unreadable), so the invocation is retried.
pub async fn index_stream<R, B, S>(input: R, job: &Job<'_, B, S>) -> Result<Counts, Error>
where
    R: AsyncBufRead + Unpin,
    B: BulkSender,
    S: DeadLetterStore,
{
    let mut input = input;
    let mut counts = Counts::default();
    let mut framer = Framer::default();
    let mut bulk = BulkBuffer::with_capacity(job.bulk_max_bytes + 64 * 1024);
    let mut dead = DeadLetterWriter::new(job.store, job.dead_letter_prefix, job.bucket, job.key);
    let mut index_name = String::new();
    loop {
        let buf = match input.fill_buf().await {
            Ok(b) => b,
            Err(e) => {
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
                ) {
                    // The object itself is corrupt (e.g. a broken gzip stream): what was read is
                    // indexed, the rest is one dead letter, and retrying would not help.
                    let letter = DeadLetter {
                        source: SourceRef {
                            bucket: job.bucket,
                            key: job.key,
                            line: framer.line(),
                            offset: counts.bytes,
                            record_index: counts.read,
                        },
                        stage: "read",
                        kind: "corrupt_object",
                        field: None,
                        reason: format!("the object can not be read past this point: {e}"),
                        status: None,
                        record_bytes: 0,
                        record_truncated: false,
                        record: None,
                        record_base64: None,
                    };
                    dead.push(&letter).await?;
                    counts.dead_lettered += 1;
                    break;
                }
                return Err(Error::Read {
                    bucket: job.bucket.to_owned(),
                    key: job.key.to_owned(),
                    message: e.to_string(),
                });
            }
        };
        if buf.is_empty() {
            if framer.finish() {
                let frame = framer.frame();
                handle_frame(
                    frame,
                    job,
                    &mut bulk,
                    &mut dead,
                    &mut counts,
                    &mut index_name,
                )
                .await?;
            }
            break;
        }
        let (n, ready) = framer.feed(buf);
        input.consume(n);
        counts.bytes += n as u64;
        if ready {
            let frame = framer.frame();
            handle_frame(
                frame,
                job,
                &mut bulk,
                &mut dead,
                &mut counts,
                &mut index_name,
            )
            .await?;
            if bulk.len_bytes() >= job.bulk_max_bytes {
                flush(job, &mut bulk, &mut dead, &mut counts).await?;
            }
        }
    }
    flush(job, &mut bulk, &mut dead, &mut counts).await?;
    dead.flush().await?;
    Ok(counts)
}

async fn handle_frame<B, S: DeadLetterStore>(
    frame: Frame<'_>,
    job: &Job<'_, B, S>,
    bulk: &mut BulkBuffer,
    dead: &mut DeadLetterWriter<'_, S>,
    counts: &mut Counts,
    index_name: &mut String,
) -> Result<(), Error> {
    counts.read += 1;
    let result = if frame.oversize() {
        Err(CoreError::TooLarge {
            len: frame.len,
            limit: MAX_RAW_POST_BYTES,
        })
    } else {
        normalize(frame.bytes)
    };
    match result {
        Ok(post) => {
            let doc = IndexDoc::score(post);
            job.target.resolve(&doc.created_at, index_name);
            bulk.push(
                index_name,
                &doc,
                Origin {
                    line: frame.line,
                    offset: frame.offset,
                    index: frame.index,
                },
            );
        }
        Err(e) => {
            let letter = DeadLetter {
                source: SourceRef {
                    bucket: job.bucket,
                    key: job.key,
                    line: frame.line,
                    offset: frame.offset,
                    record_index: frame.index,
                },
                stage: "parse",
                kind: e.kind(),
                field: e.field(),
                reason: e.to_string(),
                status: None,
                record_bytes: 0,
                record_truncated: false,
                record: None,
                record_base64: None,
            }
            .with_record(frame.bytes, frame.len);
            dead.push(&letter).await?;
            counts.dead_lettered += 1;
        }
    }
    Ok(())
}

/// Sends the buffer until every item is indexed or dead-lettered, retrying 429/5xx items and
/// failed requests with exponential backoff and jitter.
async fn flush<B: BulkSender, S: DeadLetterStore>(
    job: &Job<'_, B, S>,
    bulk: &mut BulkBuffer,
    dead: &mut DeadLetterWriter<'_, S>,
    counts: &mut Counts,
) -> Result<(), Error> {
    if bulk.is_empty() {
        return Ok(());
    }
    let mut backoff = job.retry.backoff();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let mut retry: Vec<usize> = Vec::new();
        let last_error: String;
        match job.sender.send_bulk(bulk.body()).await {
            Err(e) => {
                retry.extend(0..bulk.len());
                last_error = e.0;
            }
            Ok(answer) if retryable(answer.status) => {
                retry.extend(0..bulk.len());
                last_error = format!("HTTP {}: {}", answer.status, snippet(&answer.body));
            }
            Ok(answer) if !(200..300).contains(&answer.status) => {
                return Err(Error::IndexRefused {
                    status: answer.status,
                    message: format!("POST _bulk: {}", snippet(&answer.body)),
                });
            }
            Ok(answer) => {
                counts.bulk_requests += 1;
                match classify(&answer.body, bulk.len()) {
                    // An answer we can not read (a proxy's error page): nothing is known, send again.
                    Err(msg) => {
                        retry.extend(0..bulk.len());
                        last_error = msg;
                    }
                    Ok(outcomes) => {
                        let mut last = String::new();
                        for (i, o) in outcomes.into_iter().enumerate() {
                            match o {
                                Outcome::Indexed => counts.indexed += 1,
                                Outcome::Retry(status) => {
                                    retry.push(i);
                                    last = format!("item status {status}");
                                }
                                Outcome::Rejected { status, reason } => {
                                    let origin = bulk.origin(i);
                                    let doc = bulk.doc(i);
                                    let letter = DeadLetter {
                                        source: SourceRef {
                                            bucket: job.bucket,
                                            key: job.key,
                                            line: origin.line,
                                            offset: origin.offset,
                                            record_index: origin.index,
                                        },
                                        stage: "index",
                                        kind: "rejected",
                                        field: None,
                                        reason,
                                        status: Some(status),
                                        record_bytes: 0,
                                        record_truncated: false,
                                        record: None,
                                        record_base64: None,
                                    }
                                    .with_record(doc, doc.len());
                                    dead.push(&letter).await?;
                                    counts.dead_lettered += 1;
                                }
                            }
                        }
                        last_error = last;
                    }
                }
            }
        }
        if retry.is_empty() {
            bulk.clear();
            return Ok(());
        }
        let Some(delay) = backoff.next() else {
            return Err(Error::RetriesExhausted {
                pending: retry.len(),
                attempts,
                message: last_error,
            });
        };
        warn!(
            bucket = job.bucket,
            key = job.key,
            items = retry.len(),
            attempt = attempts,
            delay_ms = delay.as_millis() as u64,
            error = %last_error,
            "Bulk items not accepted yet; retrying."
        );
        counts.retried += retry.len() as u64;
        if retry.len() != bulk.len() {
            bulk.retain(&retry);
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::index::{Answer, TransportError};

    /// A scripted engine: answers come from a queue; every body sent is recorded.
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<VecDeque<Result<Answer, TransportError>>>,
        sent: Mutex<Vec<Vec<u8>>>,
    }

    impl BulkSender for Scripted {
        async fn send_bulk(&self, body: &[u8]) -> Result<Answer, TransportError> {
            self.sent.lock().unwrap().push(body.to_vec());
            let n = body.iter().filter(|&&b| b == b'\n').count() / 2;
            self.answers.lock().unwrap().pop_front().unwrap_or_else(|| {
                let items: Vec<String> = (0..n)
                    .map(|_| r#"{"index":{"status":201}}"#.to_string())
                    .collect();
                Ok(Answer {
                    status: 200,
                    body: format!(r#"{{"errors":false,"items":[{}]}}"#, items.join(","))
                        .into_bytes(),
                })
            })
        }
    }

    #[derive(Default)]
    struct MemStore {
        parts: Mutex<Vec<(String, Vec<u8>)>>,
        fail: bool,
    }

    impl DeadLetterStore for MemStore {
        async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
            if self.fail {
                return Err("access denied".into());
            }
            self.parts.lock().unwrap().push((key.to_owned(), body));
            Ok(())
        }
        fn describe(&self, key: &str) -> String {
            format!("mem://{key}")
        }
    }

    fn post(id: u32) -> String {
        format!(
            r#"{{"id_str":"{id}","text":"Merry Christmas","created_at":"Wed Dec 25 10:00:00 +0000 2024","user":{{"id_str":"7","screen_name":"elf"}},"coordinates":{{"type":"Point","coordinates":[-0.12,51.5]}}}}"#
        )
    }

    fn job<'a>(
        sender: &'a Scripted,
        store: &'a MemStore,
        target: &'a IndexTarget,
    ) -> Job<'a, Scripted, MemStore> {
        Job {
            sender,
            store,
            dead_letter_prefix: "dl/",
            target,
            bulk_max_bytes: 2048,
            retry: RetryPolicy {
                max_retries: 3,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
            },
            bucket: "b",
            key: "k.json",
        }
    }

    fn letters(store: &MemStore) -> Vec<serde_json::Value> {
        store
            .parts
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, b)| {
                String::from_utf8(b.clone())
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn good_and_bad_records() {
        let input = format!(
            "{}\nnot json\n{},\n{{\"delete\":{{}}}}{}",
            post(1),
            post(2),
            post(3)
        );
        let (s, m, t) = (
            Scripted::default(),
            MemStore::default(),
            IndexTarget::fixed("p"),
        );
        let c = index_stream(input.as_bytes(), &job(&s, &m, &t))
            .await
            .unwrap();
        assert_eq!(
            (c.read, c.indexed, c.dead_lettered, c.retried),
            (5, 3, 2, 0)
        );
        let l = letters(&m);
        assert_eq!(l[0]["source"]["line"], 2);
        assert_eq!(l[0]["kind"], "json");
        assert_eq!(l[0]["record"], "not json");
        assert_eq!(l[1]["kind"], "unsupported_shape");
        assert_eq!(l[1]["source"]["line"], 4);
        assert_eq!(m.parts.lock().unwrap()[0].0, "dl/b/k.json/part-00000.jsonl");
    }

    #[tokio::test]
    async fn retries_429_and_5xx_items_and_dead_letters_4xx() {
        let input: String = (1..=3).map(|i| post(i) + "\n").collect();
        let (s, m, t) = (
            Scripted::default(),
            MemStore::default(),
            IndexTarget::fixed("p"),
        );
        s.answers.lock().unwrap().extend([
            Err(TransportError("connection refused".into())),
            Ok(Answer { status: 503, body: b"busy".to_vec() }),
            Ok(Answer {
                status: 200,
                body: br#"{"errors":true,"items":[{"index":{"status":429}},{"index":{"status":201}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]}"#.to_vec(),
            }),
        ]);
        let c = index_stream(input.as_bytes(), &job(&s, &m, &t))
            .await
            .unwrap();
        assert_eq!((c.read, c.indexed, c.dead_lettered), (3, 2, 1));
        assert_eq!(c.retried, 3 + 3 + 1);
        let sent = s.sent.lock().unwrap();
        assert_eq!(sent.len(), 4);
        // The last round carries only the 429 item.
        assert!(String::from_utf8_lossy(&sent[3]).contains("\"_id\":\"x:1\""));
        assert_eq!(sent[3].iter().filter(|&&b| b == b'\n').count(), 2);
        let l = letters(&m);
        assert_eq!(l[0]["stage"], "index");
        assert_eq!(l[0]["status"], 400);
        assert_eq!(l[0]["reason"], "mapper_parsing_exception: bad");
        assert_eq!(l[0]["source"]["line"], 3);
    }

    #[tokio::test]
    async fn gives_up_with_a_clear_error() {
        let (s, m, t) = (
            Scripted::default(),
            MemStore::default(),
            IndexTarget::fixed("p"),
        );
        for _ in 0..4 {
            s.answers
                .lock()
                .unwrap()
                .push_back(Err(TransportError("connection refused".into())));
        }
        let e = index_stream(post(1).as_bytes(), &job(&s, &m, &t))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::RetriesExhausted {
                    pending: 1,
                    attempts: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("connection refused"), "{e}");
    }

    #[tokio::test]
    async fn dead_letter_failure_fails_the_object() {
        let (s, t) = (Scripted::default(), IndexTarget::fixed("p"));
        let m = MemStore {
            fail: true,
            ..MemStore::default()
        };
        let e = index_stream(&b"garbage\n"[..], &job(&s, &m, &t))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::DeadLetter { .. }), "{e}");
        assert!(e.to_string().contains("access denied"));
    }

    #[tokio::test]
    async fn bodies_are_cut_near_the_size_limit() {
        let input: String = (1..=40).map(|i| post(i) + "\n").collect();
        let (s, m, t) = (
            Scripted::default(),
            MemStore::default(),
            IndexTarget::fixed("p"),
        );
        let c = index_stream(input.as_bytes(), &job(&s, &m, &t))
            .await
            .unwrap();
        assert_eq!(c.indexed, 40);
        let sent = s.sent.lock().unwrap();
        assert!(sent.len() > 5);
        let one_item = sent[0].len() / (sent[0].iter().filter(|&&b| b == b'\n').count() / 2);
        assert!(
            sent.iter().all(|b| b.len() < 2048 + one_item),
            "bodies stay near the limit"
        );
    }
}
