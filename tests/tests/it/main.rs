//! Sentimap's integration tests: one binary, one module per area.

mod normalize;
mod sentiment;
mod vectors;
