//! Sentimap's indexer: the function that fires when Firehose lands an object in S3. It streams the
//! object, normalises and scores each post with `sentimap-core`, and bulk-indexes the documents into
//! OpenSearch or Elasticsearch, dead-lettering every record it can not index.
//!
//! The same [`App::handle`] runs inside Lambda (`main`) and outside it (`sentimap-lambda local`).

pub mod bulk;
pub mod config;
pub mod deadletter;
pub mod event;
pub mod framing;
pub mod index;
pub mod pipeline;
pub mod reader;

mod app;

pub use app::App;
pub use config::Config;
pub use pipeline::Counts;

/// Why an invocation failed. Each failure means something would otherwise be lost, so the
/// invocation fails and is retried (indexing is idempotent: `_id` is the post id).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration can not be used.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The event is none of the shapes the indexer reads.
    #[error("{0}")]
    Event(String),
    /// The object could not be read.
    #[error("reading s3://{bucket}/{key}: {message}")]
    Read {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Cause.
        message: String,
    },
    /// The engine did not answer.
    #[error("search engine at {url} unreachable after {attempts} attempt(s): {message}")]
    IndexUnreachable {
        /// Base URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Cause.
        message: String,
    },
    /// The engine refused a request as a whole (auth, bad request).
    #[error("search engine refused the request with HTTP {status}: {message}")]
    IndexRefused {
        /// HTTP status.
        status: u16,
        /// The engine's answer.
        message: String,
    },
    /// Documents still not accepted when the retries ran out.
    #[error("{pending} document(s) still not indexed after {attempts} attempt(s); last error: {message}")]
    RetriesExhausted {
        /// Documents left.
        pending: usize,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        message: String,
    },
    /// Dead letters could not be written: failing is the only way not to lose the records.
    #[error("writing dead letters to {target}: {message}")]
    DeadLetter {
        /// Where.
        target: String,
        /// Cause.
        message: String,
    },
    /// Some objects of the event failed (the others were indexed).
    #[error("{failed} of {total} object(s) failed; first: {first}")]
    Objects {
        /// Failed objects.
        failed: usize,
        /// Objects in the event.
        total: usize,
        /// The first failure.
        first: Box<Error>,
    },
}

impl Error {
    /// Whether retrying the invocation can help.
    pub fn retryable(&self) -> bool {
        match self {
            Error::Config(_) | Error::Event(_) => false,
            Error::IndexRefused { status, .. } => bulk::retryable(*status),
            Error::Objects { first, .. } => first.retryable(),
            _ => true,
        }
    }

    /// Stable short name of the variant.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "Config",
            Error::Event(_) => "UnsupportedEvent",
            Error::Read { .. } => "ObjectRead",
            Error::IndexUnreachable { .. } => "IndexUnreachable",
            Error::IndexRefused { .. } => "IndexRefused",
            Error::RetriesExhausted { .. } => "RetriesExhausted",
            Error::DeadLetter { .. } => "DeadLetterWrite",
            Error::Objects { first, .. } => first.kind(),
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        let class = if e.retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        lambda_runtime::Diagnostic {
            error_type: format!("{class}.{}", e.kind()),
            error_message: e.to_string(),
        }
    }
}
