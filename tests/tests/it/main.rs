//! Sentimap's integration tests: one binary, one module per area.

mod dashboard;
mod lambda;
mod normalize;
mod store;
