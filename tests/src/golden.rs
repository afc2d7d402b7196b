//! Golden files: compare output with a committed file, print a diff on mismatch, and rewrite the
//! file when `BLESS=1` is set.

use std::fs;
use std::path::Path;

use similar::TextDiff;

/// Whether this run rewrites golden files instead of checking them.
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v == "1")
}

/// Checks `actual` against the file at `path` (relative to the repo root).
///
/// # Panics
/// When the file differs or is missing and `BLESS=1` is not set, with a unified diff.
pub fn check(path: &str, actual: &str) {
    let full = crate::repo_root().join(path);
    if blessing() {
        if let Some(dir) = full.parent() {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        fs::write(&full, actual).unwrap_or_else(|e| panic!("writing {}: {e}", full.display()));
        return;
    }
    let expected = read(&full);
    if expected != actual {
        let diff = TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header(path, "actual")
            .to_string();
        panic!("golden file {path} differs (run with BLESS=1 to accept):\n{diff}");
    }
}

fn read(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => panic!(
            "reading golden file {}: {e} (run with BLESS=1 to create it)",
            path.display()
        ),
    }
}
