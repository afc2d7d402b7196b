//! Writes the cross-runtime test vectors, `tests/vectors/vectors.json`, with the expected results
//! computed by the native core. Run it after any change to the core's output:
//!
//! ```text
//! cargo run -p sentimap-tests --bin gen-vectors
//! ```

use std::io::Write;

fn main() -> std::process::ExitCode {
    let vectors = sentimap_tests::vectors::generate();
    let path = sentimap_tests::repo_root().join(sentimap_tests::vectors::PATH);
    let result = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, vectors.to_text()));
    match result {
        Ok(()) => {
            let _ = writeln!(
                std::io::stdout().lock(),
                "wrote {} cases to {}",
                vectors.count,
                path.display()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-vectors: writing {}: {e}", path.display());
            std::process::ExitCode::FAILURE
        }
    }
}
