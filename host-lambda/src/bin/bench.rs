//! Benchmark harness; filled in by scripts/bench-lambda work (see README).
fn main() {}
