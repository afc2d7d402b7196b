//! The plain WebAssembly module's ABI (core/abi), under wasmtime, differentially against the
//! native core: any request bytes give the same answer from the module as from
//! `sentimap_core::api::process`, and no call traps. Each request goes through both ways of
//! calling: version 1's four calls (alloc, process, two deallocs) and version 2's module-owned
//! buffers (request_buffer, process_buffer, and version 3's process_buffer_len and
//! result_buffer on the same request), which must give the same bytes. The first input byte picks a request header
//! (so the fuzzer reaches every op, not only header errors) and the ABI edge being exercised;
//! the rest is the body.
//!
//! The module is `$SENTIMAP_WASM_MODULE`, else `target/wasm/sentimap_core_abi.wasm` (built by
//! scripts/build-wasm); it is compiled once, and one instance serves every input, as a host would
//! use it, so leaks and heap corruption across calls surface too.
#![no_main]

use std::path::PathBuf;
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use wasmtime::{Config, Engine, Instance, Memory, Module, Store, TypedFunc};

/// Headers the first byte chooses from; the last entry means "no header: the bytes are the whole
/// request".
const HEADERS: &[&str] = &[
    r#"{"v":1,"op":"score"}"#,
    r#"{"v":1,"op":"score","lang":"en"}"#,
    r#"{"v":1,"op":"score","lang":"ja"}"#,
    r#"{"v":1,"op":"score_batch"}"#,
    r#"{"v":1,"op":"normalize"}"#,
    r#"{"v":1,"op":"normalize","post_only":true}"#,
    r#"{"v":1,"op":"index_template","pattern":"posts-*"}"#,
    r#"{"v":1,"op":"info"}"#,
];

/// The ABI version this target speaks: core/abi's `ABI_VERSION` (the fuzz crate builds outside the
/// workspace and does not link core/abi; the check at load catches a mismatch).
const ABI_VERSION: u32 = 3;

/// Fuel per call: far more than any 64 KiB request needs, so running out means a hang.
const FUEL: u64 = 1 << 36;

struct Module_ {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    process: TypedFunc<(u32, u32), u64>,
    request_buffer: TypedFunc<u32, u32>,
    process_buffer: TypedFunc<u32, u64>,
    process_buffer_len: TypedFunc<u32, u32>,
    result_buffer: TypedFunc<(), u32>,
}

fn module_path() -> PathBuf {
    std::env::var_os("SENTIMAP_WASM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm/sentimap_core_abi.wasm")
        })
}

fn load() -> Module_ {
    let path = module_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "reading {} ({e}): build it first with scripts/build-wasm",
            path.display()
        )
    });
    let mut config = Config::new();
    // No signal handlers: the sanitizer owns SIGSEGV; bounds are checked explicitly instead.
    config
        .consume_fuel(true)
        .signals_based_traps(false)
        .memory_reservation(0);
    let engine = Engine::new(&config).expect("wasmtime engine");
    let module = Module::new(&engine, bytes).expect("compiling the core module");
    let mut store = Store::new(&engine, ());
    store.set_fuel(FUEL).expect("fuel");
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiating the core module");
    let version: TypedFunc<(), u32> = instance
        .get_typed_func(&mut store, "abi_version")
        .expect("abi_version");
    assert_eq!(
        version.call(&mut store, ()).expect("abi_version call"),
        ABI_VERSION
    );
    Module_ {
        memory: instance
            .get_memory(&mut store, "memory")
            .expect("memory export"),
        alloc: instance.get_typed_func(&mut store, "alloc").expect("alloc"),
        dealloc: instance
            .get_typed_func(&mut store, "dealloc")
            .expect("dealloc"),
        process: instance
            .get_typed_func(&mut store, "process")
            .expect("process"),
        request_buffer: instance
            .get_typed_func(&mut store, "request_buffer")
            .expect("request_buffer"),
        process_buffer: instance
            .get_typed_func(&mut store, "process_buffer")
            .expect("process_buffer"),
        process_buffer_len: instance
            .get_typed_func(&mut store, "process_buffer_len")
            .expect("process_buffer_len"),
        result_buffer: instance
            .get_typed_func(&mut store, "result_buffer")
            .expect("result_buffer"),
        store,
    }
}

static MODULE: Mutex<Option<Module_>> = Mutex::new(None);

impl Module_ {
    /// One request through the ABI; any trap is a failure.
    fn call(&mut self, request: &[u8]) -> Vec<u8> {
        self.store.set_fuel(FUEL).expect("fuel");
        let len = u32::try_from(request.len()).expect("fuzz inputs are small");
        let ptr = self
            .alloc
            .call(&mut self.store, len)
            .expect("alloc trapped");
        assert_ne!(ptr, 0, "alloc({len}) returned 0 with memory to spare");
        self.memory
            .write(&mut self.store, ptr as usize, request)
            .expect("alloc returned a bad pointer");
        let packed = self
            .process
            .call(&mut self.store, (ptr, len))
            .expect("process trapped");
        self.dealloc
            .call(&mut self.store, (ptr, len))
            .expect("dealloc of the request trapped");
        let (out_ptr, out_len) = ((packed >> 32) as u32, packed as u32);
        let out = self.result(out_ptr, out_len, "process");
        self.dealloc
            .call(&mut self.store, (out_ptr, out_len))
            .expect("dealloc of the result trapped");
        out
    }

    /// One request through the module's own buffers (version 2); any trap is a failure.
    fn call_buffered(&mut self, request: &[u8]) -> Vec<u8> {
        self.store.set_fuel(FUEL).expect("fuel");
        let len = u32::try_from(request.len()).expect("fuzz inputs are small");
        let ptr = self
            .request_buffer
            .call(&mut self.store, len)
            .expect("request_buffer trapped");
        assert_ne!(
            ptr, 0,
            "request_buffer({len}) returned 0 with memory to spare"
        );
        self.memory
            .write(&mut self.store, ptr as usize, request)
            .expect("request_buffer returned a bad pointer");
        let packed = self
            .process_buffer
            .call(&mut self.store, len)
            .expect("process_buffer trapped");
        let out = self.result((packed >> 32) as u32, packed as u32, "process_buffer");
        // Version 3, on the request still in the buffer: the same bytes.
        let out_len = self
            .process_buffer_len
            .call(&mut self.store, len)
            .expect("process_buffer_len trapped");
        let out_ptr = self
            .result_buffer
            .call(&mut self.store, ())
            .expect("result_buffer trapped");
        assert_eq!(
            self.result(out_ptr, out_len, "process_buffer_len"),
            out,
            "process_buffer_len/result_buffer answered otherwise than process_buffer"
        );
        out
    }

    /// The `out_len` bytes at `out_ptr` of the result `call` returned.
    fn result(&self, out_ptr: u32, out_len: u32, call: &str) -> Vec<u8> {
        let mut out = vec![0; out_len as usize];
        self.memory
            .read(&self.store, out_ptr as usize, &mut out)
            .unwrap_or_else(|e| panic!("{call} returned a bad buffer: {e}"));
        out
    }

    /// The allocator's edges: an empty buffer, and a request the module cannot hold must give 0
    /// (the ABI's "out of memory"), never a trap.
    fn edges(&mut self) {
        let empty = self
            .alloc
            .call(&mut self.store, 0)
            .expect("alloc(0) trapped");
        assert_ne!(empty, 0, "alloc(0) must return a dangling non-null pointer");
        self.dealloc
            .call(&mut self.store, (empty, 0))
            .expect("dealloc(_, 0) trapped");
        let huge = self
            .alloc
            .call(&mut self.store, u32::MAX - 7)
            .expect("alloc(4 GiB) trapped");
        assert_eq!(huge, 0, "alloc(4 GiB) must report out of memory");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut guard = MODULE.lock().unwrap_or_else(|p| p.into_inner());
    let module = guard.get_or_insert_with(load);
    let Some((&pick, body)) = data.split_first() else {
        module.edges();
        return;
    };
    let request = match HEADERS.get(usize::from(pick) % (HEADERS.len() + 1)) {
        Some(header) => [header.as_bytes(), b"\n", body].concat(),
        None => body.to_vec(),
    };
    let got = module.call(&request);
    let want = sentimap_core::api::process(&request);
    let buffered = module.call_buffered(&request);
    assert!(
        buffered == want,
        "the module's buffers and the native core differ on {:?}:\n  wasm   {}\n  native {}",
        String::from_utf8_lossy(&request),
        String::from_utf8_lossy(&buffered),
        String::from_utf8_lossy(&want)
    );
    assert!(
        got == want,
        "the module and the native core differ on {:?}:\n  wasm   {}\n  native {}",
        String::from_utf8_lossy(&request),
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
});
