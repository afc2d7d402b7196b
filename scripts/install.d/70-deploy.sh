#!/usr/bin/env bash
# Deployment lint tools: cfn-lint (PyPI) in a git-ignored venv, .venv/deploy. Idempotent: does nothing
# when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
CFN_LINT_VERSION="${CFN_LINT_VERSION:-1.58.0}"
venv=.venv/deploy
if [[ -x "$venv/bin/cfn-lint" ]] && [[ "$("$venv/bin/cfn-lint" --version 2>/dev/null)" == *"$CFN_LINT_VERSION"* ]]; then
  exit 0
fi
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
"$venv/bin/cfn-lint" --version
