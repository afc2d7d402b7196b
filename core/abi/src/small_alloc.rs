//! The module's allocator: small blocks from per-size free lists, the rest from the default one.
//!
//! A request allocates a handful of small blocks and frees them before it returns (a score's
//! evidence tokens and emoji, the vectors holding them), the same sizes request after request. The
//! default allocator of `wasm32-unknown-unknown` (dlmalloc) spent about 2,600 instructions per tweet
//! on them under wasmtime, a tenth of the call. Here a block of up to [`MAX_SMALL`] bytes comes from
//! the free list of its size class (a multiple of [`CLASS_BYTES`]), or is cut from a
//! [`CHUNK_BYTES`] chunk, and goes back to that list when freed: a few instructions each way. Larger
//! blocks (request and result buffers, batches) go to dlmalloc as before. A freed small block is
//! kept for its class, never returned: the memory held is the peak of small blocks in use at once.
//!
//! Single-threaded only (no locking): installed only in the wasm32 module, which has one thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::null_mut;

/// Size classes are multiples of this (also the blocks' alignment).
pub const CLASS_BYTES: usize = 8;
/// Number of size classes: blocks of up to `CLASS_BYTES * CLASSES` bytes are small.
const CLASSES: usize = 32;
/// The largest small block.
pub const MAX_SMALL: usize = CLASS_BYTES * CLASSES;
/// Small blocks are cut from chunks of this size, taken from the default allocator.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The allocator's state. Not `Sync` by itself: see [`SmallAlloc`]'s `Sync` impl.
#[derive(Debug)]
pub struct SmallAlloc {
    /// Per class, the first free block; each free block holds the address of the next.
    free: [Cell<*mut u8>; CLASSES],
    /// The unused part of the current chunk.
    next: Cell<*mut u8>,
    end: Cell<*mut u8>,
}

// SAFETY: the module is single-threaded (wasm32 without the `atomics` feature has no threads), so
// the cells are never touched from two threads; the impl exists only in that build.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[allow(unsafe_code)]
unsafe impl Sync for SmallAlloc {}

/// The size class of a block, when it is small.
fn class(layout: Layout) -> Option<usize> {
    if layout.size() <= MAX_SMALL && layout.align() <= CLASS_BYTES {
        Some(layout.size().saturating_sub(1) / CLASS_BYTES)
    } else {
        None
    }
}

impl SmallAlloc {
    /// An allocator with no chunk yet.
    pub const fn new() -> Self {
        SmallAlloc {
            free: [const { Cell::new(null_mut()) }; CLASSES],
            next: Cell::new(null_mut()),
            end: Cell::new(null_mut()),
        }
    }

    /// A block of class `c`: from its free list, else cut from the chunk (a new one when the
    /// current one is used up: its rest, under `MAX_SMALL` bytes, is left unused).
    #[allow(unsafe_code)]
    fn small(&self, c: usize) -> *mut u8 {
        let head = self.free[c].get();
        if !head.is_null() {
            // SAFETY: a block on a free list is at least `CLASS_BYTES` long, 8-aligned, and holds
            // the address of the next one (written by `dealloc`).
            self.free[c].set(unsafe { head.cast::<*mut u8>().read() });
            return head;
        }
        let size = (c + 1) * CLASS_BYTES;
        let next = self.next.get();
        if (self.end.get() as usize).wrapping_sub(next as usize) >= size && !next.is_null() {
            self.next.set(next.wrapping_add(size));
            return next;
        }
        let Ok(chunk_layout) = Layout::from_size_align(CHUNK_BYTES, CLASS_BYTES) else {
            return null_mut();
        };
        // SAFETY: the layout has a non-zero size.
        let chunk = unsafe { System.alloc(chunk_layout) };
        if chunk.is_null() {
            return null_mut();
        }
        self.next.set(chunk.wrapping_add(size));
        self.end.set(chunk.wrapping_add(CHUNK_BYTES));
        chunk
    }
}

impl Default for SmallAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every block handed out is either a dlmalloc block with the caller's layout, or a small
// block of at least `layout.size()` bytes aligned to `CLASS_BYTES >= layout.align()`, owned by no
// one else until it is freed (a free list holds only freed blocks; chunks are cut without overlap).
// `dealloc` and `realloc` tell the two apart by the layout, exactly as `alloc` chose.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for SmallAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            Some(c) => self.small(c),
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class(layout) {
            Some(c) => {
                // SAFETY: `ptr` is a small block of class `c` (same layout as allocated), now
                // unused: it has room for the next free block's address, and is 8-aligned.
                unsafe { ptr.cast::<*mut u8>().write(self.free[c].get()) };
                self.free[c].set(ptr);
            }
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return null_mut();
        };
        match (class(layout), class(new_layout)) {
            // SAFETY: forwarded with the caller's guarantees (both blocks are dlmalloc's).
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            (Some(a), Some(b)) if a == b => ptr,
            _ => {
                // SAFETY: `new_layout` is valid and non-zero (the caller's `new_size` is).
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least this long.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every class and some large ones, written, grown, shrunk and freed in a mixed
    /// order: each keeps its bytes, none overlaps another, freed blocks are reused.
    #[test]
    #[allow(unsafe_code)]
    fn blocks_keep_their_bytes_and_are_reused() {
        let a = SmallAlloc::new();
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for round in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let op = x % 4;
            if op < 2 || live.is_empty() {
                let size = 1 + (x >> 8) as usize % if x & 16 == 0 { MAX_SMALL } else { 3000 };
                let align = [1, 2, 4, 8, 16][(x >> 20) as usize % 5];
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size.
                let p = unsafe { a.alloc(layout) };
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                let fill = round as u8;
                // SAFETY: `p` has `size` bytes.
                unsafe { p.write_bytes(fill, size) };
                live.push((p, layout, fill));
            } else {
                let i = (x >> 8) as usize % live.len();
                let (p, layout, fill) = live.swap_remove(i);
                // SAFETY: `p` is live with `layout`; its bytes were all set to `fill`.
                let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
                assert!(bytes.iter().all(|&b| b == fill), "round {round}");
                if op == 2 {
                    // SAFETY: allocated by `a` with this layout.
                    unsafe { a.dealloc(p, layout) };
                } else {
                    let new_size = 1 + (x >> 24) as usize % 600;
                    // SAFETY: allocated by `a` with this layout; a non-zero new size.
                    let q = unsafe { a.realloc(p, layout, new_size) };
                    assert!(!q.is_null());
                    let kept = layout.size().min(new_size);
                    // SAFETY: `q` has `new_size >= kept` bytes.
                    let bytes = unsafe { std::slice::from_raw_parts(q, kept) };
                    assert!(bytes.iter().all(|&b| b == fill), "round {round}");
                    // SAFETY: `q` has `new_size` bytes.
                    unsafe { q.write_bytes(fill, new_size) };
                    let layout = Layout::from_size_align(new_size, layout.align()).unwrap();
                    live.push((q, layout, fill));
                }
            }
        }
        // No two live blocks overlap.
        let mut spans: Vec<(usize, usize)> = live
            .iter()
            .map(|(p, l, _)| (*p as usize, *p as usize + l.size()))
            .collect();
        spans.sort_unstable();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0));
        // A freed small block is the next one of its class.
        let layout = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: a non-zero size; freed with the same layout.
        unsafe {
            let p = a.alloc(layout);
            a.dealloc(p, layout);
            assert_eq!(a.alloc(Layout::from_size_align(17, 1).unwrap()), p);
        }
    }
}
