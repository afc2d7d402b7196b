//! Command-line parsing and dispatch.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::jsonl;

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
    /// Follow a stream (X, Bluesky Jetstream, a replay file, or synthetic posts), keep matching
    /// posts, and deliver them to Kinesis Data Firehose, a local folder, or stdout.
    Produce(Box<sentimap::produce::ProduceArgs>),
    /// Run the whole pipeline locally with no AWS account: posts -> a local Firehose-layout directory
    /// -> the indexer's code path -> an embedded store -> the map dashboard on http://127.0.0.1:8080.
    Demo(Box<crate::demo::DemoArgs>),
}

#[derive(Debug, clap::Args)]
struct NormalizeArgs {
    /// Write the bare canonical post instead of the scored index document.
    #[arg(long)]
    post_only: bool,
}

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Produce(args) => {
            sentimap::produce::main(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Normalize(args) => {
            let stdin = io::stdin().lock();
            let stdout = BufWriter::new(io::stdout().lock());
            let stderr = io::stderr().lock();
            let report = jsonl::normalize_stream(stdin, stdout, stderr, args.post_only)?;
            Ok(if report.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Demo(args) => crate::demo::run(*args),
    }
}
