//! `sentimap`: the producer and the command-line tools around the core.

mod cli;
mod dashboard;
mod demo;
mod engine;
mod jsonl;
mod score;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sentimap: {err:#}");
            ExitCode::from(2)
        }
    }
}
