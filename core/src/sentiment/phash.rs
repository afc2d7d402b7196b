//! The hash behind the compile-time perfect hash tables. `build.rs` includes this file too, so the
//! generator and the lookups can never disagree.
//!
//! One multiply per eight bytes of key: the high bits of a product depend on every bit of the
//! multiplicand, and only high bits are used (filter bit, bucket, and the slot's own product).
//! Keys hold no zero byte, so a key zero-padded to whole words hashes without its length.

/// Multiplier of the key rounds (the 64-bit golden ratio).
const K: u64 = 0x9E37_79B9_7F4A_7C15;
/// Multiplier of the slot (another odd constant with well-spread bits).
const K2: u64 = 0xD6E8_FEB8_6659_FD93;

/// Bits of the word filter (`2^FILTER_BITS` bits, taken from the top of the hash).
pub(crate) const FILTER_BITS: u32 = 17;

/// One round: eight more bytes of key (little-endian, zero-padded) into the state.
#[inline(always)]
fn round(h: u64, w: u64) -> u64 {
    (h.rotate_left(29) ^ w).wrapping_mul(K)
}

/// Hashes a key (eight bytes at a time, little-endian) with a table seed.
#[inline]
pub(crate) fn hash(key: &[u8], seed: u64) -> u64 {
    let mut h = seed;
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        h = round(
            h,
            u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        );
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = round(h, u64::from_le_bytes(b));
    }
    h
}

/// [`hash`] of a key of 1 to 8 bytes held in a `u64`, little-endian, zero-padded.
#[inline(always)]
pub(crate) fn hash_short(key: u64, seed: u64) -> u64 {
    round(seed, key)
}

/// [`hash`] of a key of 9 to 16 bytes held in two `u64`s, little-endian, zero-padded.
#[inline(always)]
pub(crate) fn hash_two(lo: u64, hi: u64, seed: u64) -> u64 {
    round(round(seed, lo), hi)
}

/// [`hash`] of the first `len` bytes of a zero-padded buffer: the same value, read eight bytes
/// at a time with no tail handling (the padding is the tail's zeros).
#[inline]
pub(crate) fn hash_padded(buf: &[u8; 32], len: usize, seed: u64) -> u64 {
    let (chunks, _) = buf.as_chunks::<8>();
    let mut h = seed;
    for c in chunks.iter().take(len.div_ceil(8)) {
        h = round(h, u64::from_le_bytes(*c));
    }
    h
}

/// The filter bit of a hash.
#[inline(always)]
pub(crate) fn filter_bit(h: u64) -> usize {
    (h >> (64 - FILTER_BITS)) as usize
}

/// The bucket of a hash among `buckets` (multiply-shift: no division).
#[inline(always)]
pub(crate) fn bucket(h: u64, buckets: usize) -> usize {
    (((h >> 32) * buckets as u64) >> 32) as usize
}

/// The slot of a hash among `slots`, given its bucket's displacement.
#[inline(always)]
pub(crate) fn slot(h: u64, displacement: u32, slots: usize) -> usize {
    let x = (h ^ u64::from(displacement)).wrapping_mul(K2);
    (((x >> 32) * slots as u64) >> 32) as usize
}
