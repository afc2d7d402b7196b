#!/usr/bin/env bash
# The Lambda indexer's tools: cargo-lambda (from PyPI, with its zig) in the git-ignored venv
# .venv/lambda. `cargo lambda watch` runs the handler under the Lambda runtime API emulator
# (scripts/test.d/50-lambda.sh) and `cargo lambda build` packages it. Skipped when already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$root/.venv/lambda
version=1.9.2

log() { printf '50-lambda: %s\n' "$*"; }

if [[ -x "$venv/bin/cargo-lambda" ]] && "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "$version"; then
  log "cargo-lambda $version already installed in .venv/lambda"
  exit 0
fi
log "installing cargo-lambda $version into .venv/lambda"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$version"
"$venv/bin/cargo-lambda" lambda --version
