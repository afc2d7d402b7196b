#!/usr/bin/env bash
# Deployment lint tools: cfn-lint (PyPI, pinned) in a git-ignored venv, .venv/deploy, and
# systemd-analyze. Idempotent: does nothing when both are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
CFN_LINT_VERSION="${CFN_LINT_VERSION:-1.58.0}"
venv=.venv/deploy
# systemd-analyze verifies the EC2 units (present on these machines; Debian package systemd).
command -v systemd-analyze >/dev/null || apt-get install -y --no-install-recommends systemd
if [[ -x "$venv/bin/cfn-lint" ]] && [[ "$("$venv/bin/cfn-lint" --version 2>/dev/null)" == *"$CFN_LINT_VERSION"* ]]; then
  exit 0
fi
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
"$venv/bin/cfn-lint" --version
