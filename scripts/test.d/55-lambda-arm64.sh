#!/usr/bin/env bash
# The Lambda artifact for Graviton (infra/template.yaml deploys arm64): `cargo lambda build --arm64
# --output-format zip` cross-compiles with cargo-lambda's zig, then the zipped `bootstrap` runs under
# qemu-user against the test bed's OpenSearch, so the package that would be uploaded is proven to
# start, read its config and index. CI builds the dev profile (3-4 min on 2 cores); the release zip
# is the same command with --release (host-lambda/README.md). Needs scripts/install.d/50-lambda.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

fail() {
  printf '55-lambda-arm64: FAIL: %s\n' "$*" >&2
  exit 1
}
log() { printf '55-lambda-arm64: %s\n' "$*" >&2; }

[[ -n "${OPENSEARCH_URL:-}" ]] || fail "OPENSEARCH_URL is not set: start the test bed with: eval \"\$(scripts/testbed start)\""
[[ -x "$root/.venv/lambda/bin/cargo-lambda" ]] || fail "cargo-lambda missing: run scripts/install.d/50-lambda.sh"
command -v qemu-aarch64 >/dev/null || fail "qemu-aarch64 missing: run scripts/install.d/50-lambda.sh (apt qemu-user)"
sysroot=/usr/aarch64-linux-gnu
[[ -e $sysroot/lib/ld-linux-aarch64.so.1 ]] || fail "$sysroot missing: run scripts/install.d/50-lambda.sh (apt libc6-arm64-cross)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# cargo-lambda finds zig through the venv's python (pip ziglang).
log "cargo lambda build --arm64 --output-format zip"
PATH=$root/.venv/lambda/bin:$PATH cargo lambda build --locked --arm64 --output-format zip \
  -p sentimap-lambda --bin sentimap-lambda >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build failed"; }
zip=$root/target/lambda/sentimap-lambda/bootstrap.zip
python3 - "$zip" "$work" <<'PY' || fail "bad zip: $zip"
import struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
assert names == ["bootstrap"], names
info = z.getinfo("bootstrap")
assert (info.external_attr >> 16) & 0o111, "bootstrap is not executable in the zip"
z.extract("bootstrap", sys.argv[2])
head = open(sys.argv[2] + "/bootstrap", "rb").read(20)
assert head[:4] == b"\x7fELF", "not an ELF file"
machine = struct.unpack("<H", head[18:20])[0]
assert machine == 183, "ELF machine %d, want 183 (aarch64)" % machine
print("55-lambda-arm64: ok: %s holds an aarch64 ELF bootstrap (%d bytes zipped)" % (sys.argv[1], info.compress_size), file=sys.stderr)
PY
chmod +x "$work/bootstrap"

index=lambda-arm64-$(date +%s)-$$
{
  for i in $(seq 1 20); do
    printf '{"created_at":"Wed Dec 25 10:00:00 +0000 2024","id_str":"%d","text":"Merry Christmas, love it :) %d","user":{"id_str":"1","screen_name":"elf"},"coordinates":{"type":"Point","coordinates":[2.35,48.86]}}\n' "$((880000 + i))" "$i"
  done
  echo '{"broken":'
} | gzip >"$work/posts.json.gz"

log "the arm64 bootstrap under qemu-aarch64: local --file into $OPENSEARCH_URL"
out=$(qemu-aarch64 -L "$sysroot" "$work/bootstrap" local --file "$work/posts.json.gz" \
  --index-url "$OPENSEARCH_URL" --index "$index" --template-name "$index" --dead-letter-dir "$work/dead" \
  2>"$work/run.log") || { cat "$work/run.log" >&2; fail "the arm64 bootstrap failed"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
indexed=$(field 'd["objects"][0]["indexed"]' <<<"$out")
dead=$(field 'd["objects"][0]["dead_lettered"]' <<<"$out")
[[ $indexed == 20 && $dead == 1 ]] || fail "indexed $indexed (want 20), dead-lettered $dead (want 1): $out"
curl -fsS -XPOST "$OPENSEARCH_URL/$index/_refresh" >/dev/null
count=$(curl -fsS "$OPENSEARCH_URL/$index/_count" | field 'd["count"]')
[[ $count == 20 ]] || fail "OpenSearch holds $count documents, want 20"
label=$(curl -fsS "$OPENSEARCH_URL/$index/_doc/x:880001" | field 'd["_source"]["sentiment"]["label"]')
[[ $label == positive ]] || fail "document x:880001 has label $label, want positive"
curl -fsS -XDELETE "$OPENSEARCH_URL/$index" >/dev/null
log "ok: the arm64 zip indexes 20 posts (label positive), dead-letters the broken one"
