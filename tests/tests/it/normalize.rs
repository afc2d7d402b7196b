//! Golden tests for normalisation (filled in with the fixtures).
