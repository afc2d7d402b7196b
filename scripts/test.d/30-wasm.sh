#!/usr/bin/env bash
# The cross-runtime vector runners outside cargo (cargo test runs the native and wasmtime ones):
# Node (wasm-bindgen package + plain module; under the machine's Node and the newest LTS line),
# headless Chromium, Python (wasmtime from PyPI), Go (wazero), Java (Chicory); then the demo
# page's browser test. Fails on any mismatch.
# Needs scripts/install.d/30-wasm.sh to have run (it installs the tools and builds the modules).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
fail=0
run() {
  local name=$1; shift
  printf '  -- %s\n' "$name"
  if ! "$@"; then
    printf '  !! %s FAILED\n' "$name" >&2
    fail=1
  fi
}

for f in target/wasm/sentimap_core_abi.wasm target/wasm/node/sentimap_core_js.js web-demo/pkg/sentimap_core_js.js; do
  [[ -e $f ]] || { echo "missing $f: run scripts/build-wasm" >&2; exit 1; }
done

# The demo test compares with the native CLI: make sure target/debug/sentimap is current.
cargo build --quiet --locked --workspace

run "node $(node --version)" node --test tests/runners/node/
# The newest Node LTS line as well, where install.d/30-wasm.sh could install it (x86-64 Linux).
if [[ -x target/tools/node-lts/bin/node ]]; then
  run "node $(target/tools/node-lts/bin/node --version)" target/tools/node-lts/bin/node --test tests/runners/node/
elif [[ $(uname -sm) == "Linux x86_64" ]]; then
  echo "missing target/tools/node-lts: run scripts/install.d/30-wasm.sh" >&2
  fail=1
fi
run "chromium" node tests/runners/browser/vectors.mjs
run "python" .venv/wasm/bin/python tests/runners/python/run_vectors.py
run "go" bash -c 'cd tests/runners/go && go test -count=1 ./...'
run "java" bash -c 'cd tests/runners/java && mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile="$0" && java -cp "$(cat "$0")" VectorsRunner.java' "$root/target/wasm/java-classpath.txt"
run "demo (chromium)" node --test web-demo/demo/test/

if [[ $fail != 0 ]]; then
  echo "30-wasm: some runners failed" >&2
  exit 1
fi
