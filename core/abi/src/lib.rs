//! The plain WebAssembly module of the Sentimap core: no wasm-bindgen, a small ABI that any
//! runtime (wasmtime, Node, browsers, Python, Go's wazero, Java's Chicory) can drive.
//!
//! | export                 | signature             | what it does                                   |
//! |------------------------|-----------------------|------------------------------------------------|
//! | `memory`               | memory                | the module's linear memory                     |
//! | `abi_version`          | `() -> i32`           | [`ABI_VERSION`]: 2 (version 1 plus the last two) |
//! | `alloc`                | `(len: i32) -> i32`   | a buffer of `len` bytes (0 if memory ran out)  |
//! | `dealloc`              | `(ptr: i32, len: i32)`| frees a buffer from `alloc` or from `process`  |
//! | `process`              | `(ptr: i32, len: i32) -> i64` | answers one request, see below         |
//! | `request_buffer`       | `(len: i32) -> i32`   | the module's own request buffer, `len` bytes or more (0 if memory ran out) |
//! | `process_buffer`       | `(len: i32) -> i64`   | answers the request in that buffer; the result stays the module's |
//! | `process_buffer_len`   | `(len: i32) -> i32`   | the same, returning only the result's length (version 3) |
//! | `result_buffer`        | `() -> i32`           | where the last result of those two lies (version 3) |
//!
//! A call (version 1): `alloc(n)`, write the request bytes there, `process(ptr, n)`,
//! `dealloc(ptr, n)`. The result `r` packs the output buffer as `ptr = r >> 32`,
//! `len = r & 0xffff_ffff`: read `len` bytes at `ptr`, then `dealloc(ptr, len)`.
//!
//! A call with the module's buffers (version 2), one crossing per request: once, and again only
//! for a longer request, `p = request_buffer(cap)`; then per request write its `n <= cap` bytes at
//! `p` and call `process_buffer(n)`, which returns the result packed as above. The result buffer
//! belongs to the module and stays valid until the next `process_buffer` call: copy it out, never
//! free it. A crossing from the host into the module costs a few hundred instructions, as much as
//! scoring a short text, so the four crossings of version 1 weigh on short requests.
//!
//! Version 3 adds the same call with 32-bit results only, for hosts where an `i64` is dear:
//! `process_buffer_len(n)` returns the result's length and `result_buffer()` its address. In
//! JavaScript an `i64` result arrives as a BigInt, and unpacking it (two shifts, two conversions)
//! cost about 45 ns per call in Node 20, against about 7 ns for the second call.
//!
//! The request and result formats are the core's
//! [`sentimap_core::api`] (a JSON header line, then a body; the result is JSON). Every input, over
//! the size limit, invalid UTF-8 or malformed, gives an error result: `process` does not trap on
//! input. It can only trap when memory runs out or when given a pointer that `alloc` did not return.
//!
//! This is the only crate of the workspace with `unsafe`: each block says why it is sound.

use std::alloc::Layout;
use std::cell::RefCell;

// The module allocates through talc: a score's few small blocks per request (evidence tokens,
// emoji, their vectors) cost dlmalloc, the default of wasm32-unknown-unknown, about 2,600
// instructions per tweet under wasmtime. Natively (unit tests, fuzzing) the default stays.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The ABI version. 1: `alloc`, `dealloc`, `process`; 2: also `request_buffer` and
/// `process_buffer`; 3: also `process_buffer_len` and `result_buffer`. Each version keeps every
/// export of the ones before unchanged (a host written for 1 or 2 can accept 3). The request
/// format is [`sentimap_core::api::API_VERSION`], a separate number.
pub const ABI_VERSION: u32 = 3;

/// A result buffer that grew past this is freed before the next request rather than kept.
const KEEP_RESULT_BYTES: usize = 1024 * 1024;

/// The module's own buffers (version 2): the request the host writes and the result it reads.
struct Buffers {
    /// Zero-filled at its length, so every byte the host may write is initialised memory.
    request: Vec<u8>,
    result: Vec<u8>,
}

thread_local! {
    // The module is single-threaded: this is one static, borrowed for the length of one export.
    static BUFFERS: RefCell<Buffers> = const {
        RefCell::new(Buffers {
            request: Vec::new(),
            result: Vec::new(),
        })
    };
}

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

/// The module's request buffer, with room for at least `len` bytes: the host writes a request at
/// the returned address and calls [`process_buffer`]. The address stays valid, for requests of up
/// to `len` bytes, until the next `request_buffer` call. Returns 0 when memory ran out (the old
/// buffer is then gone too). The buffer only grows: ask once for a typical size, and again only
/// for a longer request.
#[allow(unsafe_code)] // `no_mangle` exports the symbol; nothing else is unsafe here.
#[no_mangle]
pub extern "C" fn request_buffer(len: usize) -> *mut u8 {
    BUFFERS.with(|b| {
        let Ok(mut b) = b.try_borrow_mut() else {
            return std::ptr::null_mut();
        };
        if b.request.len() < len.max(1) {
            // Replaced, not grown: the old bytes need not be copied.
            b.request = Vec::new();
            if b.request.try_reserve_exact(len.max(1)).is_err() {
                return std::ptr::null_mut();
            }
            b.request.resize(len.max(1), 0);
        }
        b.request.as_mut_ptr()
    })
}

/// Answers the request in the first `len` bytes of the request buffer (see [`request_buffer`])
/// and returns the result packed by [`pack`]. The result buffer is the module's: it stays valid
/// until the next `process_buffer` call, and the host must not free it. A `len` beyond the
/// buffer gives an error result, like any bad input.
#[allow(unsafe_code)] // `no_mangle` exports the symbol; nothing else is unsafe here.
#[no_mangle]
pub extern "C" fn process_buffer(len: usize) -> u64 {
    BUFFERS.with(|b| {
        let Ok(mut b) = b.try_borrow_mut() else {
            return 0;
        };
        let Buffers { request, result } = &mut *b;
        if result.capacity() > KEEP_RESULT_BYTES {
            *result = Vec::new();
        }
        match request.get(..len) {
            Some(request) => sentimap_core::api::process_into(request, result),
            None => {
                result.clear();
                let error = sentimap_core::api::ApiError {
                    kind: "request".into(),
                    field: None,
                    reason: format!(
                        "the request length {len} exceeds the request buffer ({} bytes): call request_buffer first",
                        request.len()
                    ),
                };
                result.extend_from_slice(error.to_json().as_bytes());
            }
        }
        // Pointers and lengths are 32-bit on wasm32; natively (unit tests) they are only compared.
        pack(result.as_ptr() as usize as u32, result.len() as u32)
    })
}

/// [`process_buffer`] with only the result's length returned (version 3): the result lies at
/// [`result_buffer`], the module's, valid until the next call that answers a request.
#[allow(unsafe_code)] // `no_mangle` exports the symbol; nothing else is unsafe here.
#[no_mangle]
pub extern "C" fn process_buffer_len(len: usize) -> u32 {
    process_buffer(len) as u32
}

/// The address of the last result [`process_buffer`] or [`process_buffer_len`] answered
/// (version 3); 0 while the buffers are in use (never, in a single-threaded module).
#[allow(unsafe_code)] // `no_mangle` exports the symbol; nothing else is unsafe here.
#[no_mangle]
pub extern "C" fn result_buffer() -> *const u8 {
    BUFFERS.with(|b| {
        b.try_borrow()
            .map_or(std::ptr::null(), |b| b.result.as_ptr())
    })
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
        assert_eq!(abi_version(), ABI_VERSION);
        assert_eq!(pack(3, 4), (3 << 32) | 4);
        assert!(!alloc(0).is_null());
        // SAFETY: a zero-length buffer is never freed, whatever the pointer.
        unsafe { dealloc(alloc(0), 0) };
    }

    /// Drives the version 2 and 3 exports as a host does: the request written at the buffer's
    /// address, the result read from the module's result buffer (natively, through `BUFFERS`,
    /// and for version 3 at the address `result_buffer` gives).
    #[test]
    #[allow(unsafe_code)]
    fn module_buffers_answer_as_process_does() {
        let result = || BUFFERS.with(|b| b.borrow().result.clone());
        let requests: [&[u8]; 4] = [
            b"{\"v\":1,\"op\":\"score\"}\nhello :)",
            b"{\"v\":1,\"op\":\"score\",\"lang\":\"en\"}\nnot bad, not bad at all",
            b"{\"v\":1,\"op\":\"score\"}\n\xff",
            b"",
        ];
        let mut ptr = request_buffer(8);
        let mut cap = 8;
        for request in requests {
            if request.len() > cap {
                cap = request.len();
                ptr = request_buffer(cap);
            }
            assert!(!ptr.is_null());
            // SAFETY: `request_buffer(cap)` returned room for `cap >= request.len()` bytes.
            unsafe { std::ptr::copy_nonoverlapping(request.as_ptr(), ptr, request.len()) };
            let packed = process_buffer(request.len());
            let want = sentimap_core::api::process(request);
            assert_eq!((packed & 0xffff_ffff) as usize, want.len());
            assert_eq!(result(), want);
            // Version 3: the same answer, its length returned and its address asked for.
            let len = process_buffer_len(request.len()) as usize;
            assert_eq!(len, want.len());
            // SAFETY: `result_buffer` points at the result buffer, which holds `len` bytes
            // until the next call that answers a request.
            let got = unsafe { std::slice::from_raw_parts(result_buffer(), len) };
            assert_eq!(got, want);
        }
        // A length beyond the buffer is an error result, not a trap.
        process_buffer(cap + 1);
        let out = result();
        assert!(sentimap_core::api::is_error(&out));
        assert!(String::from_utf8_lossy(&out).contains("request_buffer"));
        assert!(!request_buffer(0).is_null());
    }
}
