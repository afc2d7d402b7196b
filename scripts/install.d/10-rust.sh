#!/usr/bin/env bash
# The Rust targets the core is built for.
set -euo pipefail
installed=$(rustup target list --installed)
for t in wasm32-unknown-unknown wasm32-wasip1; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
