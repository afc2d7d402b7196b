#!/usr/bin/env bash
# Sentiment accuracy on the labelled development data (issue 3): prints the figures and fails when
# a target is missed. The data lives beside the repository in ../shared/data/sentiment (override
# with SENTIMAP_SENTIMENT_DATA).
set -euo pipefail
cd "$(dirname "$0")/../.."
data="${SENTIMAP_SENTIMENT_DATA:-../shared/data/sentiment}"
if [[ ! -d "$data" ]]; then
  echo "20-sentiment: data folder $data not found (set SENTIMAP_SENTIMENT_DATA)" >&2
  exit 1
fi
cargo run --quiet --locked -p sentimap-tests --release --bin sentiment-eval -- --check "$data"
