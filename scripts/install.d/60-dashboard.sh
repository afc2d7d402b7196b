#!/usr/bin/env bash
# The dashboard's browser test: Debian's chromium and npm playwright-core (pinned in
# tests/browser/dashboard/package-lock.json). Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! [[ -x /usr/bin/chromium ]]; then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi

dir=tests/browser/dashboard
if ! [[ -d $dir/node_modules/playwright-core ]]; then
  (cd "$dir" && npm ci --no-audit --no-fund)
fi
