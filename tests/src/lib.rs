//! Helpers shared by Sentimap's integration tests: golden files and paths, the real-service test
//! bed's clients, and a fault-injecting HTTP proxy.

pub mod golden;
pub mod proxy;
pub mod testbed;
pub mod vectors;
pub mod wasm;

use std::path::PathBuf;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}
