#!/usr/bin/env bash
# cargo-fuzz for the bounded fuzz run in CI (nightly is on the machine).
set -euo pipefail
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2
