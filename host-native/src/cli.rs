//! Command-line parsing and dispatch.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::engine::{default_module_path, Engine, EngineKind};
use crate::{jsonl, score};

/// Follow what the world says about a topic, live, on a map, coloured by feeling.
#[derive(Debug, Parser)]
#[command(name = "sentimap", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Normalise raw posts (JSONL on stdin, X v1.1, X v2 or Bluesky Jetstream, mixed) into index
    /// documents (JSONL on stdout). Unusable lines go to stderr as JSON error records.
    Normalize(NormalizeArgs),
    /// Score the sentiment of texts: JSONL `{"id", "text"[, "lang"]}` on stdin (or plain text
    /// lines with --text), one JSONL line per input on stdout with the id and every sentiment
    /// field. Unusable lines go to stderr as JSON error records and are skipped.
    Score(ScoreArgs),
    /// Follow a stream (X, Bluesky Jetstream, a replay file, or synthetic posts), keep matching
    /// posts, and deliver them to Kinesis Data Firehose, a local folder, or stdout.
    Produce(Box<sentimap::produce::ProduceArgs>),
    /// Run the whole pipeline locally with no AWS account: posts -> a local Firehose-layout directory
    /// -> the indexer's code path -> an embedded store -> the map dashboard on http://127.0.0.1:8080.
    Demo(Box<crate::demo::DemoArgs>),
}

#[derive(Debug, clap::Args)]
struct ScoreArgs {
    /// Read plain text, one text per line (the id is the line number), instead of JSONL.
    #[arg(long)]
    text: bool,
    /// Language tag of the plain text lines (with --text); the lexicon applies to English only.
    #[arg(long, requires = "text")]
    lang: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, clap::Args)]
struct NormalizeArgs {
    /// Write the bare canonical post instead of the scored index document.
    #[arg(long)]
    post_only: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Which build of the core runs a command. Both give byte-identical output.
#[derive(Debug, clap::Args)]
struct EngineArgs {
    /// `native`: the core compiled into this binary; `wasm`: the plain WebAssembly core module,
    /// run by wasmtime.
    #[arg(long, value_enum, default_value_t = EngineKind::Native)]
    engine: EngineKind,
    /// The plain core module for `--engine wasm` (default: target/wasm/sentimap_core_abi.wasm,
    /// where scripts/build-wasm puts it, found from this binary's target/PROFILE/ folder).
    #[arg(long, value_name = "PATH", env = "SENTIMAP_WASM_MODULE")]
    wasm_module: Option<std::path::PathBuf>,
}

impl EngineArgs {
    fn load(&self) -> anyhow::Result<Engine> {
        let path = self.wasm_module.clone().unwrap_or_else(default_module_path);
        Engine::load(self.engine, &path)
    }
}

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Produce(args) => {
            sentimap::produce::main(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Normalize(args) => {
            let engine = args.engine.load()?;
            let stdin = io::stdin().lock();
            let stdout = BufWriter::new(io::stdout().lock());
            let stderr = io::stderr().lock();
            let report = jsonl::normalize_stream(stdin, stdout, stderr, args.post_only, &engine)?;
            Ok(exit_code(report))
        }
        Command::Score(args) => {
            let engine = args.engine.load()?;
            let stdin = io::stdin().lock();
            let stdout = BufWriter::new(io::stdout().lock());
            let stderr = io::stderr().lock();
            let mode = if args.text {
                score::Input::Text {
                    lang: args.lang.as_deref(),
                }
            } else {
                score::Input::Jsonl
            };
            let report = score::score_stream(stdin, stdout, stderr, mode, &engine)?;
            Ok(exit_code(report))
        }
        Command::Demo(args) => crate::demo::run(*args),
    }
}

/// 0 when every line was used, 1 when some were reported and skipped.
fn exit_code(report: jsonl::Report) -> ExitCode {
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
