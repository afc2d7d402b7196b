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
else
  log "installing cargo-lambda $version into .venv/lambda"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$version"
  "$venv/bin/cargo-lambda" lambda --version
fi

# The arm64 (Graviton) package: the Rust target, and qemu-user with the aarch64 C library so
# scripts/test.d/55-lambda-arm64.sh can run the zipped bootstrap on this x86_64 machine.
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  log "rustup target add aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
fi
if ! command -v qemu-aarch64 >/dev/null || [[ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing qemu-user and libc6-arm64-cross with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null
  else
    log "qemu-user and libc6-arm64-cross are missing and apt-get is not usable: install them (Debian packages)"
    exit 1
  fi
fi
log "arm64: rust target, qemu-aarch64 and the aarch64 C library present"
