//! Sentimap's index store: the dashboard's four queries over two backends that answer identically.
//!
//! - [`SqliteStore`]: embedded, one file, a posting list per word (and FTS5 for searches of several
//!   words), for the local mode (`sentimap demo`).
//! - [`OpenSearchStore`]: an OpenSearch or Elasticsearch index using the core's index template
//!   ([`sentimap_core::index_template`]), with `geotile_grid`, `date_histogram` and `terms`
//!   aggregations, for a deployed domain.
//!
//! Requests are validated once ([`query`]) and answers are built by shared code from each backend's
//! raw aggregates, so the JSON is the same whichever backend answers.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod geo;
mod keyword;
mod opensearch;
pub mod query;
pub mod rollup;
mod sqlite;

use std::future::Future;

use sentimap_core::IndexDoc;

pub use keyword::{text_words, WORD_GEO_LEVEL, WORD_GEO_MIN_POSTS};
pub use opensearch::{Auth, OpenSearchConfig, OpenSearchStore};
pub use query::{
    Geo, GeoQuery, Posts, PostsQuery, RawParams, Summary, SummaryQuery, Timeline, TimelineQuery,
};
/// SigV4 signing ([`Auth::SigV4`]), shared with the indexer.
pub use sentimap_sigv4 as sigv4;
pub use sqlite::{SqliteOptions, SqliteStore};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request parameter is invalid (HTTP 400).
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The parameter.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The search engine could not be reached.
    #[error("search engine request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The search engine answered with an error.
    #[error("search engine answered {status}: {body}")]
    Engine {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// The search engine's answer did not have the expected shape.
    #[error("unexpected search engine answer: {0}")]
    Shape(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A blocking task failed.
    #[error("store task failed: {0}")]
    Task(String),
    /// A request could not be authenticated (credentials could not be loaded, or signing failed).
    #[error("authenticating to the search engine: {0}")]
    Auth(String),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// Whether the caller's request is at fault (HTTP 400) rather than the store (HTTP 5xx).
    pub fn is_client_error(&self) -> bool {
        matches!(self, Error::Invalid { .. })
    }

    /// A stable name for counters and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::Sqlite(_) => "sqlite",
            Error::Http(_) => "http",
            Error::Engine { .. } => "engine",
            Error::Shape(_) => "shape",
            Error::Io(_) => "io",
            Error::Task(_) => "task",
            Error::Auth(_) => "auth",
        }
    }
}

/// A document the store refused, with the reason (the caller dead-letters it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The document id.
    pub id: String,
    /// Why.
    pub reason: String,
}

/// The outcome of one [`Store::index`] call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexReport {
    /// Documents written (new or replaced).
    pub indexed: u64,
    /// Documents refused; every other document was written.
    pub rejected: Vec<Rejected>,
}

/// An index the dashboard reads and the pipeline writes. Writes are idempotent upserts by
/// [`IndexDoc::id`]; a re-delivered document replaces itself.
pub trait Store: Send + Sync + 'static {
    /// Writes (or replaces) documents. A bad document is reported in [`IndexReport::rejected`],
    /// never failing the others; an `Err` means nothing can be said about the batch (retry it).
    fn index(&self, docs: &[IndexDoc]) -> impl Future<Output = Result<IndexReport, Error>> + Send;

    /// Makes every write so far visible to queries.
    fn refresh(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Counts per label, total, mean score, time extent and top hashtags.
    fn summary(&self, q: SummaryQuery) -> impl Future<Output = Result<Summary, Error>> + Send;

    /// Points in a box, or cells when there are more than `max_points`.
    fn geo(&self, q: GeoQuery) -> impl Future<Output = Result<Geo, Error>> + Send;

    /// Posts per label per time bucket.
    fn timeline(&self, q: TimelineQuery) -> impl Future<Output = Result<Timeline, Error>> + Send;

    /// The newest matching posts.
    fn posts(&self, q: PostsQuery) -> impl Future<Output = Result<Posts, Error>> + Send;
}
