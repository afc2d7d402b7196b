//! The hash behind the compile-time perfect hash tables. `build.rs` includes this file too, so the
//! generator and the lookups can never disagree.

/// Multiplier of the word mixer (the 64-bit golden ratio).
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Murmur3's 64-bit finaliser: every input bit reaches every output bit.
#[inline]
pub(crate) fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hashes a key (eight bytes at a time, little-endian) with a table seed.
#[inline]
pub(crate) fn hash(key: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ (key.len() as u64).wrapping_mul(K);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K).rotate_left(29);
    }
    fmix(h)
}

/// The bucket of a hash among `buckets` (multiply-shift: no division).
#[inline]
pub(crate) fn bucket(h: u64, buckets: usize) -> usize {
    (((h >> 32) * buckets as u64) >> 32) as usize
}

/// The slot of a hash among `slots`, given its bucket's displacement.
#[inline]
pub(crate) fn slot(h: u64, displacement: u32, slots: usize) -> usize {
    let x = fmix(h ^ u64::from(displacement).wrapping_add(1).wrapping_mul(K));
    (((x & 0xFFFF_FFFF) * slots as u64) >> 32) as usize
}

/// [`hash`] of a key of 1 to 8 bytes held in a `u64`, little-endian, zero-padded.
#[inline]
pub(crate) fn hash_short(key: u64, len: usize, seed: u64) -> u64 {
    let h = seed ^ (len as u64).wrapping_mul(K);
    fmix((h ^ key).wrapping_mul(K).rotate_left(29))
}

/// [`hash`] of the first `len` bytes of a zero-padded buffer: the same value, read eight bytes
/// at a time with no tail handling (the padding is the tail's zeros).
#[inline]
pub(crate) fn hash_padded(buf: &[u8; 32], len: usize, seed: u64) -> u64 {
    let mut h = seed ^ (len as u64).wrapping_mul(K);
    let (chunks, _) = buf.as_chunks::<8>();
    if (1..=8).contains(&len) {
        // Most words: one round, no loop.
        let w = u64::from_le_bytes(*chunks.first().unwrap_or(&[0; 8]));
        return fmix((h ^ w).wrapping_mul(K).rotate_left(29));
    }
    let words = len.div_ceil(8).min(4);
    for c in chunks.iter().take(words) {
        h = (h ^ u64::from_le_bytes(*c)).wrapping_mul(K).rotate_left(29);
    }
    fmix(h)
}
