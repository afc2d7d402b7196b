//! Bytes a word at a time: short copies without a copy of varying length, and the byte tests the
//! scanner and the JSON writer share ([`below`]).
//!
//! In WebAssembly a copy whose length is not known at compile time is a `memory.copy`, which
//! wasmtime runs as a call out of the module into the host: 50 to 80 instructions, against 10 to 20
//! for a word's loads and stores. The scorer's copies are mostly a few bytes long (a key, a token,
//! an emoji), so these do them with loads and stores of fixed sizes at varying offsets: the first
//! and the last bytes of the slice, overlapping in the middle. Natively they cost about what a short
//! `memcpy` does.

/// `0x01` in every byte of a word.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte of a word.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of the bytes of `w` below `k` (at most 0x80), eight at a time: exact for the
/// lowest such byte; above it a borrow may mark bytes that are not below `k` (a borrow only
/// passes a byte that is itself below `k`, so the result is 0 exactly when no byte is). Bytes
/// equal to `c` are those of `w ^ (ONES * c)` below 1.
#[inline(always)]
pub(crate) fn below(w: u64, k: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(k)) & !w & HIGH
}

/// The bytes of `b` (at most 8) as a little-endian `u64`, zero-padded; `None` if `b` is longer.
#[inline(always)]
pub(crate) fn le_u64(b: &[u8]) -> Option<u64> {
    let n = b.len();
    match n {
        0 => Some(0),
        // One to three bytes: the first, the middle and the last cover them all.
        1..=3 => Some(
            u64::from(b[0])
                | u64::from(b[n / 2]) << (8 * (n / 2))
                | u64::from(b[n - 1]) << (8 * (n - 1)),
        ),
        // Four to seven: the first four and the last four, overlapping.
        4..=7 => {
            let lo = u32::from_le_bytes(*b.first_chunk::<4>()?);
            let hi = u32::from_le_bytes(*b.last_chunk::<4>()?);
            Some(u64::from(lo) | u64::from(hi) << (8 * (n - 4)))
        }
        8 => Some(u64::from_le_bytes(*b.first_chunk::<8>()?)),
        _ => None,
    }
}

/// The most bytes [`append`] writes past `out`'s length for a slice of 16 bytes or less.
pub(crate) const APPEND_ROOM: usize = 16;

/// Appends `b` to `out`: up to 16 bytes as one or two 8-byte words (for 9 to 16 bytes, the first
/// and the last eight, overlapping), a longer slice with `extend_from_slice`. A short slice writes
/// up to [`APPEND_ROOM`] bytes before `out` is cut back to its end: room a caller may reserve.
#[inline(always)]
pub(crate) fn append(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    let end = out.len() + n;
    if let Some(w) = le_u64(b) {
        out.extend_from_slice(&w.to_le_bytes());
    } else if let (true, Some(first), Some(last)) =
        (n <= APPEND_ROOM, b.first_chunk::<8>(), b.last_chunk::<8>())
    {
        let mut buf = [0u8; APPEND_ROOM];
        if let Some(lo) = buf.get_mut(..8) {
            lo.copy_from_slice(first);
        }
        if let Some(hi) = buf.get_mut(n - 8..n) {
            hi.copy_from_slice(last);
        }
        out.extend_from_slice(&buf);
    } else {
        out.extend_from_slice(b);
    }
    out.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_u64_reads_every_length() {
        let src: Vec<u8> = (1..=9).collect();
        for n in 0..=9 {
            let b = &src[..n];
            let want = (n <= 8).then(|| {
                let mut w = [0u8; 8];
                w[..n].copy_from_slice(b);
                u64::from_le_bytes(w)
            });
            assert_eq!(le_u64(b), want, "{n} bytes");
        }
    }

    #[test]
    fn append_copies_every_length() {
        let src: Vec<u8> = (1..=40).collect();
        for prefix in [0usize, 3] {
            for n in 0..=40 {
                let mut out = vec![0xAA; prefix];
                append(&mut out, &src[..n]);
                let mut want = vec![0xAA; prefix];
                want.extend_from_slice(&src[..n]);
                assert_eq!(out, want, "{n} bytes after {prefix}");
            }
        }
    }
}
