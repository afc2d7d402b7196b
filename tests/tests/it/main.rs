//! Sentimap's integration tests: one binary, one module per area.

mod lambda;
mod normalize;
mod security;
mod testbed;
