//! The pure core of Sentimap: post normalisation, filters, the index document and sentiment.
//!
//! Nothing here does I/O, reads a clock or the environment, or panics on input: hosts (the producer,
//! the Lambda indexer, the WebAssembly shells) feed it bytes and get values or typed errors back.
//!
//! ```
//! use sentimap_core::{normalize, Filter, FilterConfig};
//!
//! let raw = br#"{"data":{"id":"1","text":"Merry #Christmas!","created_at":"2024-12-25T08:00:00.000Z",
//!   "geo":{"coordinates":{"type":"Point","coordinates":[2.35,48.86]}}}}"#;
//! let post = normalize(raw)?;
//! let filter = Filter::new(&FilterConfig { keywords: vec!["christmas".into()], ..FilterConfig::default() })?;
//! assert!(filter.check(&post).is_ok());
//! # Ok::<(), sentimap_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
mod bytes;
mod doc;
mod error;
mod filter;
mod normalize;
mod post;
mod room;
pub mod sentiment;
mod text;

pub use doc::{index_template, IndexDoc, DOC_SCHEMA_VERSION};
pub use error::Error;
pub use filter::{BBox, Filter, FilterConfig, Reject};
pub use normalize::{normalize, normalize_value, parse, MAX_RAW_POST_BYTES};
pub use post::{Author, Location, Post, Precision, Source};
pub use sentiment::{score, Sentiment};
