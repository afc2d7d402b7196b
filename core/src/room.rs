//! Appending to a vector that has room reserved before: an assertion, then the append, so the
//! append's own growth path is dropped (the assertion's panic does not return).
//!
//! Calls that grow a vector are calls that return, and a loop or writer holding them, even cold
//! ones (one per append inlined), is one whose values Cranelift keeps in stack slots. The scanner
//! (`sentiment::scan`) and the score writer (`api`) reserve first and append with these instead:
//! 2.7% of the instructions of a tweet in WebAssembly.

/// Pushes `x` onto `v`, which has room for it.
#[inline(always)]
pub(crate) fn push<T>(v: &mut Vec<T>, x: T) {
    assert!(v.len() < v.capacity(), "no room reserved");
    v.push(x);
}

/// Appends `b` to `out`, which has room for it.
#[inline(always)]
pub(crate) fn extend(out: &mut Vec<u8>, b: &[u8]) {
    assert!(out.capacity() - out.len() >= b.len(), "no room reserved");
    out.extend_from_slice(b);
}
