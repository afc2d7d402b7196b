//! The plain WebAssembly module of the Sentimap core: no wasm-bindgen, a five-symbol ABI that any
//! runtime (wasmtime, Node, browsers, Python, Go's wazero, Java's Chicory) can drive.
//!
//! | export                 | signature             | what it does                                   |
//! |------------------------|-----------------------|------------------------------------------------|
//! | `memory`               | memory                | the module's linear memory                     |
//! | `abi_version`          | `() -> i32`           | [`ABI_VERSION`]; refuse the module if it differs |
//! | `alloc`                | `(len: i32) -> i32`   | a buffer of `len` bytes (0 if memory ran out)  |
//! | `dealloc`              | `(ptr: i32, len: i32)`| frees a buffer from `alloc` or from `process`  |
//! | `process`              | `(ptr: i32, len: i32) -> i64` | answers one request, see below         |
//!
//! A call: `alloc(n)`, write the request bytes there, `process(ptr, n)`, `dealloc(ptr, n)`. The
//! result `r` packs the output buffer as `ptr = r >> 32`, `len = r & 0xffff_ffff`: read `len`
//! bytes at `ptr`, then `dealloc(ptr, len)`. The request and result formats are the core's
//! [`sentimap_core::api`] (a JSON header line, then a body; the result is JSON). Every input, over
//! the size limit, invalid UTF-8 or malformed, gives an error result: `process` does not trap on
//! input. It can only trap when memory runs out or when given a pointer that `alloc` did not return.
//!
//! This is the only crate of the workspace with `unsafe`: each block says why it is sound.

use std::alloc::Layout;

/// The ABI version: the request format version of [`sentimap_core::api`].
pub const ABI_VERSION: u32 = sentimap_core::api::API_VERSION;

/// Returns [`ABI_VERSION`].
#[allow(unsafe_code)] // `no_mangle` exports the symbol; nothing else is unsafe here.
#[no_mangle]
pub extern "C" fn abi_version() -> u32 {
    ABI_VERSION
}

/// Allocates `len` bytes for the host to write a request into. Returns 0 when memory ran out, and
/// a non-zero dangling pointer for `len == 0` (nothing to write, nothing to free).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let Ok(layout) = Layout::array::<u8>(len) else {
        return std::ptr::null_mut();
    };
    if len == 0 {
        return std::ptr::NonNull::<u8>::dangling().as_ptr();
    }
    // SAFETY: `layout` has a non-zero size (checked above), as `alloc` requires.
    unsafe { std::alloc::alloc(layout) }
}

/// Frees a buffer returned by [`alloc`] or by [`process`].
///
/// # Safety
/// `ptr` and `len` must be exactly a pointer and length [`alloc`] or [`process`] returned, not
/// yet freed.
#[allow(unsafe_code)]
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len == 0 {
        return;
    }
    let Ok(layout) = Layout::array::<u8>(len) else {
        return;
    };
    // SAFETY: by the contract above, `ptr` was allocated with this very layout (`alloc` uses
    // `Layout::array::<u8>(len)`, and a `Box<[u8]>` of `len` bytes has the same layout).
    unsafe { std::alloc::dealloc(ptr, layout) }
}

/// Packs a pointer and a length into the `i64` that [`process`] returns.
pub fn pack(ptr: u32, len: u32) -> u64 {
    (u64::from(ptr) << 32) | u64::from(len)
}

/// Answers one request of `len` bytes at `ptr` (see [`sentimap_core::api::process`]) and returns
/// the result buffer packed by [`pack`]. The request buffer stays the caller's to free.
///
/// # Safety
/// `ptr` must point to `len` initialised bytes (a buffer from [`alloc`] the host wrote into).
#[allow(unsafe_code)]
#[no_mangle]
pub unsafe extern "C" fn process(ptr: *const u8, len: usize) -> u64 {
    let request: &[u8] = if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: by the contract above, `ptr..ptr+len` is one initialised allocation that nothing
        // mutates during this call (the module is single-threaded).
        unsafe { std::slice::from_raw_parts(ptr, len) }
    };
    let out = sentimap_core::api::process(request).into_boxed_slice();
    let out_len = out.len();
    let out_ptr = Box::into_raw(out).cast::<u8>();
    // Pointers and lengths are 32-bit on wasm32; natively (unit tests) they are only compared.
    pack(out_ptr as usize as u32, out_len as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the ABI exactly as a host does, natively (pointers are real here, so only the
    /// length half of the packed result is used, with the pointer kept from a second call).
    #[test]
    #[allow(unsafe_code)]
    fn request_round_trip_frees_cleanly() {
        let request = b"{\"v\":1,\"op\":\"score\"}\nhello :)";
        let ptr = alloc(request.len());
        assert!(!ptr.is_null());
        // SAFETY: `ptr` has room for `request.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(request.as_ptr(), ptr, request.len()) };
        // SAFETY: `ptr` holds `request.len()` initialised bytes.
        let packed = unsafe { process(ptr, request.len()) };
        let len = (packed & 0xffff_ffff) as usize;
        assert_eq!(len, sentimap_core::api::process(request).len());
        // SAFETY: `ptr`/`len` came from `alloc`.
        unsafe { dealloc(ptr, request.len()) };
        assert_eq!(abi_version(), sentimap_core::api::API_VERSION);
        assert_eq!(pack(3, 4), (3 << 32) | 4);
        assert!(!alloc(0).is_null());
        // SAFETY: a zero-length buffer is never freed, whatever the pointer.
        unsafe { dealloc(alloc(0), 0) };
    }
}
