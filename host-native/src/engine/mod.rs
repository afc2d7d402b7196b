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

#[cfg(test)]
mod tests {
    //! `--engine wasm` against `--engine native`, through the real command code, on inputs drawn
    //! from the cross-runtime vectors. Needs the built module (scripts/build-wasm).

    use super::*;
    use crate::{jsonl, score};

    fn repo_file(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
    }

    fn wasm_engine() -> Engine {
        let module = std::env::var_os("SENTIMAP_WASM_MODULE")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_file("target/wasm/sentimap_core_abi.wasm"));
        assert!(
            module.exists(),
            "{} is missing: run scripts/build-wasm first",
            module.display()
        );
        Engine::load(EngineKind::Wasm, &module).unwrap()
    }

    /// The bodies of the vectors' requests for `op` (single-line ones), as input lines.
    fn bodies(prefix: &str) -> Vec<Vec<u8>> {
        let text = std::fs::read_to_string(repo_file("tests/vectors/vectors.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with(prefix))
            .filter_map(|c| c["req"].as_str())
            .filter_map(|r| r.split_once('\n').map(|(_, body)| body.as_bytes().to_vec()))
            .filter(|b| !b.contains(&b'\n'))
            .collect()
    }

    fn both<F>(input: &[u8], run: F) -> [(Vec<u8>, Vec<u8>); 2]
    where
        F: Fn(&[u8], &mut Vec<u8>, &mut Vec<u8>, &Engine) -> anyhow::Result<jsonl::Report>,
    {
        let wasm = wasm_engine();
        [&Engine::Native, &wasm].map(|engine| {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            run(input, &mut out, &mut err, engine).unwrap();
            (out, err)
        })
    }

    #[test]
    fn normalize_output_is_byte_identical() {
        let input = bodies("normalize/").join(&b'\n');
        for post_only in [false, true] {
            let [native, wasm] = both(&input, |i, o, e, engine| {
                jsonl::normalize_stream(i, o, e, post_only, engine)
            });
            assert!(native.0.len() > 10_000 && !native.1.is_empty());
            assert!(native == wasm, "normalize (post_only={post_only}) differs");
        }
    }

    #[test]
    fn score_output_is_byte_identical() {
        let texts = bodies("score/");
        let jsonl: Vec<u8> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let text = String::from_utf8_lossy(t);
                serde_json::to_vec(&serde_json::json!({"id": i, "text": text, "lang": "en"}))
                    .unwrap()
            })
            .collect::<Vec<_>>()
            .join(&b'\n');
        let [native, wasm] = both(&jsonl, |i, o, e, engine| {
            score::score_stream(i, o, e, score::Input::Jsonl, engine)
        });
        assert!(native.0.len() > 10_000);
        assert!(native == wasm, "score (JSONL) differs");
        let plain = texts.join(&b'\n');
        let [native, wasm] = both(&plain, |i, o, e, engine| {
            score::score_stream(i, o, e, score::Input::Text { lang: None }, engine)
        });
        assert!(native.0.len() > 10_000);
        assert!(native == wasm, "score --text differs");
    }
}
