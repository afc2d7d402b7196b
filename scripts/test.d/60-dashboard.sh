#!/usr/bin/env bash
# The dashboard in a real browser against a real `sentimap demo` (headless chromium via
# playwright-core). Screenshots go to target/artifacts/dashboard/ (CI keeps them as artifacts).
# Then validates the structure of the OpenSearch Dashboards / Kibana saved objects.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -p sentimap --locked --quiet
(cd tests/browser/dashboard && node dashboard.test.mjs)
node web-demo/kibana/validate.mjs web-demo/kibana/sentimap.ndjson
