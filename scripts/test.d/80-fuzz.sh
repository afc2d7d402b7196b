#!/usr/bin/env bash
# A bounded fuzz run of every target (FUZZ_SECONDS each, default 30): 0 panics allowed.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/fuzz "${FUZZ_SECONDS:-30}"
