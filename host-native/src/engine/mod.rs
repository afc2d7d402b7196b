//! The two ways the CLI runs the core: natively, or as the plain WebAssembly module under
//! wasmtime. Both answer the same [`sentimap_core::api`] requests, so the commands produce the same
//! bytes whichever engine runs them.

mod native;
mod wasm;

use std::path::{Path, PathBuf};

use sentimap_core::api::{self, ApiError, Header, Op};

pub(crate) use wasm::WasmEngine;

/// Which engine a command uses (`--engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum EngineKind {
    /// The core compiled into this binary.
    #[default]
    Native,
    /// The plain core module (`core/abi`) under wasmtime.
    Wasm,
}

/// A loaded engine: built once per process.
#[derive(Debug)]
pub(crate) enum Engine {
    /// The core linked into the binary.
    Native,
    /// The WebAssembly module, compiled once.
    Wasm(WasmEngine),
}

impl Engine {
    /// Loads the engine `kind`; `module` is the plain core module for [`EngineKind::Wasm`].
    pub fn load(kind: EngineKind, module: &Path) -> anyhow::Result<Self> {
        Ok(match kind {
            EngineKind::Native => Engine::Native,
            EngineKind::Wasm => Engine::Wasm(WasmEngine::load(module)?),
        })
    }

    /// Starts a batch: for wasm, a fresh store and instance with their own limits.
    pub fn batch(&self) -> anyhow::Result<Batch<'_>> {
        Ok(match self {
            Engine::Native => Batch::Native,
            Engine::Wasm(w) => Batch::Wasm(Box::new(w.batch()?)),
        })
    }
}

/// One batch of calls.
#[derive(Debug)]
pub(crate) enum Batch<'e> {
    /// Native calls need no state.
    Native,
    /// A wasmtime store and instance.
    Wasm(Box<wasm::WasmBatch<'e>>),
}

/// A call's outcome: the result JSON, or the core's error for this input.
pub(crate) type CallResult = Result<Vec<u8>, ApiError>;

impl Batch<'_> {
    /// Answers one raw request. `Err` means the engine itself failed (a trap: fuel or memory
    /// exhausted); the batch is then unusable and the caller starts a new one.
    pub fn process(&mut self, request: &[u8]) -> anyhow::Result<Vec<u8>> {
        match self {
            Batch::Native => Ok(native::process(request)),
            Batch::Wasm(w) => w.process(request),
        }
    }

    fn call(&mut self, request: &[u8]) -> anyhow::Result<CallResult> {
        let out = self.process(request)?;
        Ok(match api::parse_error(&out) {
            Some(e) => Err(e),
            None => Ok(out),
        })
    }

    /// Normalises (and, unless `post_only`, scores) one raw post.
    pub fn normalize(&mut self, raw: &[u8], post_only: bool) -> anyhow::Result<CallResult> {
        let mut header = Header::new(Op::Normalize);
        header.post_only = post_only;
        self.call(&header.request(raw))
    }

    /// Scores one text.
    #[allow(dead_code)] // used by `sentimap score` once it lands
    pub fn score(&mut self, text: &[u8], lang: Option<&str>) -> anyhow::Result<CallResult> {
        let mut header = Header::new(Op::Score);
        header.lang = lang.map(str::to_owned);
        self.call(&header.request(text))
    }
}

/// Where the CLI looks for the plain module by default: `target/wasm/sentimap_core_abi.wasm`,
/// next to the `target/<profile>/sentimap` binary (where `scripts/build-wasm` puts it).
pub(crate) fn default_module_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    target.join("wasm").join("sentimap_core_abi.wasm")
}
