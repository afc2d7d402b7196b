#!/usr/bin/env bash
# Lints every CloudFormation template in the repository with cfn-lint (installed by
# scripts/install.d/70-deploy.sh). A template is a YAML/JSON file with a top-level "Resources" key
# whose resources have an AWS:: type, outside build output and vendored data.
set -euo pipefail
cd "$(dirname "$0")/../.."
cfn_lint=.venv/deploy/bin/cfn-lint
if [[ ! -x $cfn_lint ]]; then
  echo "cfn-lint is missing: run scripts/install.d/70-deploy.sh" >&2
  exit 1
fi
mapfile -t templates < <(
  git ls-files --cached --others --exclude-standard -- '*.yaml' '*.yml' '*.json' '*.template' |
    grep -vE '(^|/)(target|node_modules|\.venv|\.testbed|data|golden|corpus|vendor)/' |
    while read -r f; do
      [[ -f $f ]] && grep -qE '^\s*"?Resources"?\s*:' "$f" && grep -qE 'AWS::[A-Za-z0-9]+::' "$f" && echo "$f"
    done
)
if [[ ${#templates[@]} -eq 0 ]]; then
  echo "no CloudFormation template found (infra/template.yaml is expected)" >&2
  exit 1
fi
printf 'cfn-lint %s\n' "${templates[@]}"
"$cfn_lint" --format parseable -- "${templates[@]}"
echo "cfn-lint: ${#templates[@]} template(s) clean"
