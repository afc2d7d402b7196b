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

# The EC2 systemd units: `systemd-analyze verify` rejects unknown keys and bad values. ExecStart
# binaries are swapped for a stub, since the units name paths on the instance.
if command -v systemd-analyze >/dev/null; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  printf '#!/bin/sh\n' > "$tmp/stub"
  chmod +x "$tmp/stub"
  for unit in infra/ec2/*.service; do
    sed -e "s|/usr/local/bin/sentimap|$tmp/stub|" "$unit" > "$tmp/$(basename "$unit")"
  done
  out=$(cd "$tmp" && systemd-analyze verify --man=no ./*.service 2>&1 || true)
  if [[ -n $out ]]; then
    printf 'systemd-analyze verify:\n%s\n' "$out" >&2
    exit 1
  fi
  echo "systemd-analyze verify: $(ls infra/ec2/*.service | wc -l) unit(s) clean"
else
  echo "systemd-analyze is missing: apt-get install -y systemd" >&2
  exit 1
fi
bash -n infra/ec2/install.sh
