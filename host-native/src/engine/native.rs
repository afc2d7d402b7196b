//! The native engine: the core linked into the binary.

/// Answers one request with the core's own facade.
pub(super) fn process(request: &[u8]) -> Vec<u8> {
    sentimap_core::api::process(request)
}
