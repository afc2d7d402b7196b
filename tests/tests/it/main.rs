//! Sentimap's integration tests: one binary, one module per area.

mod dashboard;
mod normalize;
mod store;
