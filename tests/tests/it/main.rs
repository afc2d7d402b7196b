//! Sentimap's integration tests: one binary, one module per area.

// Test code may panic on unexpected values: that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compat;
mod dashboard;
mod e2e;
mod faults;
mod lambda;
mod normalize;
mod producer;
mod security;
mod sentiment;
mod store;
mod testbed;
mod vectors;
