#!/usr/bin/env bash
# Installs what the real-service test bed (scripts/testbed) runs on; each step is skipped when done:
#   - Java 17+ and Maven (apt, only when missing and we may install packages);
#   - moto in server mode, pinned in testbed/moto/requirements.txt, in the git-ignored venv .venv/testbed;
#   - the search node launcher (testbed/opensearch), built by Maven from Maven Central artifacts into
#     testbed/opensearch/target/ENGINE (classes plus the runtime class path in lib/), per engine.
# A stamp holding the hash of the inputs marks each finished step, so an edit to the pin, the pom or the
# launcher source rebuilds it and nothing else does.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
os_dir=$root/testbed/opensearch
venv=$root/.venv/testbed
requirements=$root/testbed/moto/requirements.txt

log() { printf '20-testbed: [%3ss] %s\n' "$SECONDS" "$*"; }
die() {
  printf '20-testbed: error: %s\n' "$*" >&2
  exit 1
}

java_major() {
  # `java -version` prints e.g.: openjdk version "17.0.15" 2025-04-15 (on stderr).
  "$1" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1
}

apt_install() {
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    die "missing $*: install it (Java 17 and Maven are needed by the OpenSearch test bed)"
  fi
}

# Java 17 or newer: OpenSearch 2.19 runs on it, and the launcher is compiled for release 17.
java=${TESTBED_JAVA:-java}
[[ -z "${TESTBED_JAVA:-}" && -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java=$JAVA_HOME/bin/java
if ! command -v "$java" >/dev/null || [[ -z "$(java_major "$java")" ]]; then
  apt_install openjdk-17-jdk-headless
fi
major=$(java_major "$java")
((major >= 17)) || die "$java is Java $major; the test bed needs Java 17 or newer (set TESTBED_JAVA or JAVA_HOME)"
command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
command -v mvn >/dev/null || apt_install maven
log "java $major: $(command -v "$java")"

# moto in its own venv: it pins a boto3 that other Python tools here must not share.
moto_hash=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x "$venv/bin/moto_server" && "$(cat "$venv/.sentimap-stamp" 2>/dev/null)" == "$moto_hash" ]]; then
  log "moto: up to date ($("$venv/bin/python" -c 'import moto; print(moto.__version__)'))"
else
  log "moto: installing into .venv/testbed"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  # --no-compile: byte-compiling every module of moto's dependencies (botocore, cfn-lint, sympy) took
  # longer than the downloads here; Python compiles the few that moto_server imports on first use.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile -r "$requirements"
  echo "$moto_hash" >"$venv/.sentimap-stamp"
  log "moto: $("$venv/bin/python" -c 'import moto; print(moto.__version__)') installed"
fi

# The search node launcher, one build per engine (TESTBED_ENGINES, default all four: OpenSearch 2.19
# for the test bed, OpenSearch 1.3, Elasticsearch 7.17 and 8.19 for the compatibility tests). The inputs are
# the pom and the source; config/ is read at run time.
os_hash=$(cd "$os_dir" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
for engine in ${TESTBED_ENGINES:-opensearch2 opensearch1 elasticsearch7 elasticsearch8}; do
  build=$os_dir/target/$engine
  if [[ -d "$build/lib" && "$(cat "$build/.sentimap-stamp" 2>/dev/null)" == "$os_hash" ]]; then
    log "$engine launcher: up to date ($(find "$build/lib" -name '*.jar' | wc -l) jars)"
    continue
  fi
  log "$engine launcher: building with Maven (the first build downloads 40-85 MB into ~/.m2)"
  rm -rf "$build/lib"
  # Debian's Maven prints colour resets even in batch mode: strip them, keep any error text.
  mvn -B -q -P "$engine" -f "$os_dir/pom.xml" package 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
  echo "$os_hash" >"$build/.sentimap-stamp"
  log "$engine launcher: built ($(find "$build/lib" -name '*.jar' | wc -l) jars)"
done
