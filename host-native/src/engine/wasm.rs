//! The wasmtime engine: the plain core module (`core/abi`, see its README for the ABI).
//!
//! One [`wasmtime::Engine`] and one compiled [`Module`] per process. Compilation happens once per
//! module version: wasmtime's compilation cache keeps the precompiled machine code (the `.cwasm`
//! artefact) in `cwasm-cache/` next to the module, keyed by the module's bytes and the engine's
//! settings, and loads it safely on later runs. Each batch gets its own [`Store`] with a memory
//! cap, and every call gets a fuel budget proportional to its input, so neither a bad module nor a
//! bad input can hang or exhaust the host: both end in a trap, reported as an error.
//!
//! Requests go through the module's own buffers (ABI version 2): the request is written into the
//! module's request buffer and the result read from its result buffer, one call into the module
//! per request instead of the four of `alloc`/`process`/`dealloc` (a call costs about as much as
//! scoring a short text).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use wasmtime::{
    Cache, CacheConfig, Config, Inlining, Instance, Memory, Module, OptLevel, Store, StoreLimits,
    StoreLimitsBuilder, TypedFunc,
};

/// The ABI versions this host accepts: it calls version 2's exports, which version 3 keeps (3 adds
/// a 32-bit form of `process_buffer` for hosts where an `i64` result is dear, like JavaScript).
const ABI_VERSIONS: std::ops::RangeInclusive<u32> = 2..=3;

/// The smallest request buffer asked of the module (a tweet's request fits). A longer request
/// asks for the next power of two, so the buffer is replaced a handful of times at most. (The
/// module zero-fills a new buffer: a large first size would cost every new batch.)
const REQUEST_BUFFER_BYTES: u32 = 4 * 1024;

/// The most linear memory one instance may grow to: the core needs a few times its largest
/// input ([`sentimap_core::api::MAX_REQUEST_BYTES`], 4 MiB), so 256 MiB is ample.
pub(crate) const MAX_MEMORY_BYTES: usize = 256 * 1024 * 1024;

/// Fuel (about one unit per WebAssembly instruction) every call may burn, whatever its size.
pub(crate) const FUEL_PER_CALL: u64 = 50_000_000;

/// Extra fuel per input byte: a wide margin (the 1 MiB texts of the tests pass well within it)
/// that still stops a runaway loop after a bounded amount of work, proportional to the input.
pub(crate) const FUEL_PER_BYTE: u64 = 20_000;

/// The resource caps of every store and call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Linear memory cap per instance, in bytes.
    pub memory_bytes: usize,
    /// Fuel every call gets.
    pub fuel_per_call: u64,
    /// Extra fuel per request byte.
    pub fuel_per_byte: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: MAX_MEMORY_BYTES,
            fuel_per_call: FUEL_PER_CALL,
            fuel_per_byte: FUEL_PER_BYTE,
        }
    }
}

/// The compiled module, shared by every batch of the process.
#[derive(Debug)]
pub(crate) struct WasmEngine {
    engine: wasmtime::Engine,
    module: Module,
    limits: Limits,
}

impl WasmEngine {
    /// Compiles (or loads from the cache) the module at `path`, with the default [`Limits`].
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Self::load_with(path, Limits::default())
    }

    /// Compiles (or loads from the cache) the module at `path`.
    pub fn load_with(path: &Path, limits: Limits) -> anyhow::Result<Self> {
        let path = path.canonicalize().with_context(|| {
            format!(
                "opening the core module {} (build it with scripts/build-wasm, or pass --wasm-module)",
                path.display()
            )
        })?;
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .cranelift_opt_level(OptLevel::Speed)
            // Cranelift inlines small functions into their callers (LLVM's inlining stopped at
            // its own heuristics): about 6% fewer instructions per tweet scored.
            .compiler_inlining(Inlining::Yes);
        if let Some(cache) = cache_for(&path) {
            config.cache(Some(cache));
        }
        let engine = wasmtime::Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("configuring wasmtime")?;
        let module = Module::from_file(&engine, &path)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("compiling the core module {}", path.display()))?;
        Ok(WasmEngine {
            engine,
            module,
            limits,
        })
    }

    /// A new batch: a store with its own limits and a fresh instance of the module.
    pub fn batch(&self) -> anyhow::Result<WasmBatch<'_>> {
        WasmBatch::new(self)
    }
}

/// A compilation cache in `cwasm-cache/` beside the module; `None` (compile every run) when the
/// folder cannot be used, e.g. on a read-only install.
fn cache_for(module: &Path) -> Option<Cache> {
    let dir: PathBuf = module.parent()?.join("cwasm-cache");
    std::fs::create_dir_all(&dir).ok()?;
    let mut cache_config = CacheConfig::new();
    cache_config.with_directory(dir);
    Cache::new(cache_config).ok()
}

/// One store and instance: the state of one batch.
pub(crate) struct WasmBatch<'e> {
    store: Store<StoreLimits>,
    memory: Memory,
    request_buffer: TypedFunc<u32, u32>,
    process_buffer: TypedFunc<u32, u64>,
    /// The module's request buffer: its address and size (`(0, 0)` until the first request).
    buffer: (u32, u32),
    limits: Limits,
    _engine: &'e WasmEngine,
}

impl std::fmt::Debug for WasmBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmBatch").finish_non_exhaustive()
    }
}

/// wasmtime has its own error type; the CLI speaks anyhow.
fn wt<T>(r: wasmtime::Result<T>) -> anyhow::Result<T> {
    r.map_err(anyhow::Error::from)
}

impl<'e> WasmBatch<'e> {
    fn new(engine: &'e WasmEngine) -> anyhow::Result<Self> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(engine.limits.memory_bytes)
            .instances(1)
            .memories(1)
            .tables(4)
            .build();
        let mut store = Store::new(&engine.engine, limits);
        store.limiter(|l| l);
        wt(store.set_fuel(engine.limits.fuel_per_call))?;
        let instance = wt(Instance::new(&mut store, &engine.module, &[]))
            .context("instantiating the core module")?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .context("the core module exports no `memory`")?;
        let version: TypedFunc<(), u32> = wt(instance.get_typed_func(&mut store, "abi_version"))
            .context("the core module's `abi_version`")?;
        let got = wt(version.call(&mut store, ()))?;
        if !ABI_VERSIONS.contains(&got) {
            bail!(
                "the core module speaks ABI version {got}, this sentimap speaks {} to {}: rebuild it with scripts/build-wasm",
                ABI_VERSIONS.start(),
                ABI_VERSIONS.end()
            );
        }
        Ok(WasmBatch {
            request_buffer: wt(instance.get_typed_func(&mut store, "request_buffer"))
                .context("the core module's `request_buffer`")?,
            process_buffer: wt(instance.get_typed_func(&mut store, "process_buffer"))
                .context("the core module's `process_buffer`")?,
            buffer: (0, 0),
            store,
            memory,
            limits: engine.limits,
            _engine: engine,
        })
    }

    /// Answers one request. An error here is the engine's (a trap, or a module breaking the ABI),
    /// never the input's: input errors come back as error objects in `Ok`.
    pub fn process(&mut self, request: &[u8]) -> anyhow::Result<Vec<u8>> {
        let len = u32::try_from(request.len()).context("request over 4 GiB")?;
        let fuel = self
            .limits
            .fuel_per_call
            .saturating_add(self.limits.fuel_per_byte.saturating_mul(u64::from(len)));
        wt(self.store.set_fuel(fuel))?;
        let (mut ptr, cap) = self.buffer;
        if ptr == 0 || len > cap {
            let cap = len
                .checked_next_power_of_two()
                .unwrap_or(len)
                .max(REQUEST_BUFFER_BYTES);
            ptr = wt(self.request_buffer.call(&mut self.store, cap))
                .context("core module: request_buffer")?;
            if ptr == 0 {
                self.buffer = (0, 0);
                bail!("the core module is out of memory ({len} bytes requested)");
            }
            self.buffer = (ptr, cap);
        }
        self.memory
            .write(&mut self.store, ptr as usize, request)
            .context("writing the request into the core module")?;
        let packed = wt(self.process_buffer.call(&mut self.store, len))
            .context("core module: process_buffer")?;
        let (out_ptr, out_len) = ((packed >> 32) as u32, (packed & 0xffff_ffff) as u32);
        // The result buffer is the module's (valid until the next request): copied, not freed
        // (and not zero-filled first).
        let (start, out_len) = (out_ptr as usize, out_len as usize);
        self.memory
            .data(&self.store)
            .get(start..start.saturating_add(out_len))
            .map(<[u8]>::to_vec)
            .with_context(|| {
                format!("the core module's result ({start}+{out_len}) is outside its memory")
            })
    }
}

#[cfg(test)]
mod tests {
    //! These load the built module (scripts/build-wasm); they fail, never skip, without it.

    use super::*;

    fn module() -> PathBuf {
        let p = std::env::var_os("SENTIMAP_WASM_MODULE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm/sentimap_core_abi.wasm")
            });
        assert!(
            p.exists(),
            "{} is missing: run scripts/build-wasm first",
            p.display()
        );
        p
    }

    fn vectors() -> Vec<(String, Vec<u8>, Vec<u8>)> {
        // A spread of requests: texts, invalid UTF-8, a raw post, a batch, a 1 MiB text.
        let mut reqs: Vec<Vec<u8>> = vec![
            b"{\"v\":1,\"op\":\"score\",\"lang\":\"en\"}\nI love this :) \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd".to_vec(),
            b"{\"v\":1,\"op\":\"score\"}\nnot good \xff".to_vec(),
            b"{\"v\":1,\"op\":\"normalize\"}\n{\"id_str\":\"1\",\"text\":\"so sad :(\",\"created_at\":\"Wed Dec 25 10:00:00 +0000 2024\"}".to_vec(),
            b"{\"v\":1,\"op\":\"score_batch\"}\n[\"good\",\"bad\",3]".to_vec(),
            b"garbage".to_vec(),
        ];
        let mut big = b"{\"v\":1,\"op\":\"score\"}\n".to_vec();
        while big.len() < sentimap_core::api::MAX_TEXT_BYTES {
            big.extend_from_slice("GREAT day!!! 😀 but not bad ".as_bytes());
        }
        big.truncate(sentimap_core::api::MAX_TEXT_BYTES);
        reqs.push(big);
        reqs.into_iter()
            .enumerate()
            .map(|(i, r)| (format!("req{i}"), sentimap_core::api::process(&r), r))
            .collect()
    }

    #[test]
    fn wasm_engine_matches_native_under_default_limits() {
        let engine = WasmEngine::load(&module()).unwrap();
        let mut batch = engine.batch().unwrap();
        for (name, want, req) in vectors() {
            let got = batch
                .process(&req)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(got == want, "{name}: {}", String::from_utf8_lossy(&got));
        }
    }

    #[test]
    fn fuel_exhaustion_is_an_error_and_a_new_batch_recovers() {
        let limits = Limits {
            fuel_per_call: 20_000,
            fuel_per_byte: 0,
            ..Limits::default()
        };
        let engine = WasmEngine::load_with(&module(), limits).unwrap();
        let mut batch = engine.batch().unwrap();
        let (_, _, big) = vectors().pop().unwrap();
        let err = batch.process(&big).unwrap_err();
        assert!(format!("{err:#}").contains("fuel"), "{err:#}");
        let mut fresh = engine.batch().unwrap();
        assert!(!fresh
            .process(b"{\"v\":1,\"op\":\"info\"}")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn memory_cap_stops_a_large_request() {
        let limits = Limits {
            memory_bytes: 2 * 1024 * 1024,
            ..Limits::default()
        };
        let engine = WasmEngine::load_with(&module(), limits).unwrap();
        let mut batch = engine.batch().unwrap();
        let huge = vec![b'a'; 3 * 1024 * 1024];
        assert!(batch.process(&huge).is_err());
    }
}
