//! A small wasmtime runner for the plain core module (`core/abi`): the Rust reference for the
//! other runtimes' runners, and the wasm half of `scripts/bench-wasm`. It drives both ways of
//! calling the module: the module's own buffers (ABI version 2, one crossing per request; and
//! version 3's 32-bit form, two crossings) and `alloc`/`process`/`dealloc` (version 1, four
//! crossings).

use std::path::PathBuf;

use anyhow::{bail, Context};
use wasmtime::{Config, Engine, Inlining, Instance, Memory, Module, OptLevel, Store, TypedFunc};

/// The built plain module: `$SENTIMAP_WASM_MODULE`, else `target/wasm/sentimap_core_abi.wasm`.
pub fn module_path() -> PathBuf {
    std::env::var_os("SENTIMAP_WASM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target/wasm/sentimap_core_abi.wasm"))
}

/// Fuel per call (when metering): generous, as in the CLI's engine.
const FUEL: u64 = 1 << 40;

/// The ABI version of the module this runner drives.
pub const ABI_VERSION: u32 = 3;

/// The smallest request buffer asked of the module (a tweet's request fits). A longer request
/// asks for the next power of two, so the buffer is replaced a handful of times at most. (The
/// module zero-fills a new buffer: a large first size would cost every new batch.)
const REQUEST_BUFFER_BYTES: u32 = 4 * 1024;

/// One instance of the module.
pub struct Runner {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    process: TypedFunc<(u32, u32), u64>,
    request_buffer: TypedFunc<u32, u32>,
    process_buffer: TypedFunc<u32, u64>,
    process_buffer_len: TypedFunc<u32, u32>,
    result_buffer: TypedFunc<(), u32>,
    /// The module's request buffer and its size (0 until the first request).
    buffer: (u32, u32),
    fuel: bool,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("fuel", &self.fuel).finish()
    }
}

fn wt<T>(r: wasmtime::Result<T>) -> anyhow::Result<T> {
    r.map_err(anyhow::Error::from)
}

impl Runner {
    /// Compiles and instantiates the module at [`module_path()`]; `fuel` turns on metering as the
    /// CLI's engine does.
    pub fn load(fuel: bool) -> anyhow::Result<Self> {
        Self::load_from(&module_path(), fuel)
    }

    /// [`Runner::load`] for the module at `path`.
    pub fn load_from(path: &std::path::Path, fuel: bool) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| {
            format!(
                "reading the plain core module {} (build it first: scripts/build-wasm)",
                path.display()
            )
        })?;
        let mut config = Config::new();
        config
            .consume_fuel(fuel)
            .cranelift_opt_level(OptLevel::Speed)
            .compiler_inlining(Inlining::Yes);
        if std::env::var_os("SENTIMAP_WASM_PERFMAP").is_some() {
            // For profilers: names the compiled functions in /tmp/perf-PID.map (with the names
            // section kept, `wasm-opt -g`, they are the Rust symbols).
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = wt(Engine::new(&config))?;
        let module = wt(Module::new(&engine, bytes))?;
        if let Some(path) = std::env::var_os("SENTIMAP_WASM_SERIALIZE") {
            // For profilers: the compiled code as an ELF file (`objdump -d`); its functions lie at
            // the same distances from each other as in the perf map's run.
            std::fs::write(&path, wt(module.serialize())?)
                .with_context(|| format!("writing {}", PathBuf::from(&path).display()))?;
        }
        let mut store = Store::new(&engine, ());
        if fuel {
            wt(store.set_fuel(FUEL))?;
        }
        let instance = wt(Instance::new(&mut store, &module, &[]))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .context("no memory export")?;
        let version: TypedFunc<(), u32> = wt(instance.get_typed_func(&mut store, "abi_version"))?;
        let v = wt(version.call(&mut store, ()))?;
        if v != ABI_VERSION {
            bail!("module ABI version {v}, expected {ABI_VERSION}");
        }
        Ok(Runner {
            alloc: wt(instance.get_typed_func(&mut store, "alloc"))?,
            dealloc: wt(instance.get_typed_func(&mut store, "dealloc"))?,
            process: wt(instance.get_typed_func(&mut store, "process"))?,
            request_buffer: wt(instance.get_typed_func(&mut store, "request_buffer"))?,
            process_buffer: wt(instance.get_typed_func(&mut store, "process_buffer"))?,
            process_buffer_len: wt(instance.get_typed_func(&mut store, "process_buffer_len"))?,
            result_buffer: wt(instance.get_typed_func(&mut store, "result_buffer"))?,
            buffer: (0, 0),
            store,
            memory,
            fuel,
        })
    }

    /// One request through the module's buffers (ABI version 2): one call into the module.
    pub fn call(&mut self, request: &[u8]) -> anyhow::Result<Vec<u8>> {
        let len = self.write_request(request)?;
        let packed = wt(self.process_buffer.call(&mut self.store, len))?;
        let (out_ptr, out_len) = ((packed >> 32) as u32, packed as u32);
        self.result(out_ptr, out_len)
    }

    /// One request through the module's buffers with 32-bit results only (ABI version 3):
    /// `process_buffer_len`, then `result_buffer` for the result's address.
    pub fn call_v3(&mut self, request: &[u8]) -> anyhow::Result<Vec<u8>> {
        let len = self.write_request(request)?;
        let out_len = wt(self.process_buffer_len.call(&mut self.store, len))?;
        let out_ptr = wt(self.result_buffer.call(&mut self.store, ()))?;
        self.result(out_ptr, out_len)
    }

    /// Writes `request` into the module's request buffer (asked for first when it is too
    /// small), with fresh fuel when metering; returns its length.
    fn write_request(&mut self, request: &[u8]) -> anyhow::Result<u32> {
        if self.fuel {
            wt(self.store.set_fuel(FUEL))?;
        }
        let len = u32::try_from(request.len())?;
        if len > self.buffer.1 || self.buffer.0 == 0 {
            let cap = len
                .checked_next_power_of_two()
                .unwrap_or(len)
                .max(REQUEST_BUFFER_BYTES);
            let ptr = wt(self.request_buffer.call(&mut self.store, cap))?;
            if ptr == 0 {
                self.buffer = (0, 0);
                bail!("request_buffer({cap}) failed");
            }
            self.buffer = (ptr, cap);
        }
        self.memory
            .write(&mut self.store, self.buffer.0 as usize, request)?;
        Ok(len)
    }

    /// A copy of the result the module returned at `ptr` (`len` bytes), read from its memory
    /// (not zero-filled first).
    fn result(&self, ptr: u32, len: u32) -> anyhow::Result<Vec<u8>> {
        let (start, len) = (ptr as usize, len as usize);
        self.memory
            .data(&self.store)
            .get(start..start.saturating_add(len))
            .map(<[u8]>::to_vec)
            .with_context(|| format!("result {start}+{len} outside the module's memory"))
    }

    /// One request through `alloc`, `process` and `dealloc` (ABI version 1).
    pub fn call_v1(&mut self, request: &[u8]) -> anyhow::Result<Vec<u8>> {
        if self.fuel {
            wt(self.store.set_fuel(FUEL))?;
        }
        let len = u32::try_from(request.len())?;
        let ptr = wt(self.alloc.call(&mut self.store, len))?;
        if ptr == 0 {
            bail!("alloc({len}) failed");
        }
        self.memory.write(&mut self.store, ptr as usize, request)?;
        let packed = wt(self.process.call(&mut self.store, (ptr, len)))?;
        wt(self.dealloc.call(&mut self.store, (ptr, len)))?;
        let (out_ptr, out_len) = ((packed >> 32) as u32, packed as u32);
        let out = self.result(out_ptr, out_len)?;
        wt(self.dealloc.call(&mut self.store, (out_ptr, out_len)))?;
        Ok(out)
    }
}
