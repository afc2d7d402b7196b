#!/usr/bin/env bash
# The indexer under the Lambda runtime API emulator (`cargo lambda watch`), invoked with real-shaped
# S3, SQS and EventBridge events over objects in moto, indexing into the test bed's OpenSearch; then
# the same binary's `local` mode (--s3, --file, --event). Needs the test bed's environment
# (scripts/test exports it) and cargo-lambda (scripts/install.d/50-lambda.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

fail() {
  printf '50-lambda: FAIL: %s\n' "$*" >&2
  exit 1
}
log() { printf '50-lambda: %s\n' "$*" >&2; }

for v in OPENSEARCH_URL AWS_ENDPOINT_URL; do
  [[ -n "${!v:-}" ]] || fail "$v is not set: start the test bed with: eval \"\$(scripts/testbed start)\""
done
cargo_lambda=$root/.venv/lambda/bin/cargo-lambda
[[ -x "$cargo_lambda" ]] || fail "cargo-lambda missing: run scripts/install.d/50-lambda.sh"
py=$root/.venv/testbed/bin/python # moto's venv has boto3
[[ -x "$py" ]] || fail "the test bed's venv is missing: run scripts/install.d/20-testbed.sh"

work=$(mktemp -d)
watch_pid=""
cleanup() {
  if [[ -n "$watch_pid" ]]; then
    # The emulator and the function it spawned share the process group we created for them.
    kill -- "-$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

run_id=$(date +%s)-$$
bucket=lambda-watch-$run_id
index=lambda-watch-$run_id
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Objects and real notifications: a key with a space and a plus, S3 -> SQS notifications.
"$py" - "$bucket" "$work" <<'PY'
import json, sys, boto3
bucket, work = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3")
sqs = boto3.client("sqs")
s3.create_bucket(Bucket=bucket)
q = sqs.create_queue(QueueName=bucket)["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
    "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}}}]})
def post(i):
    return json.dumps({"created_at": "Wed Dec 25 10:00:00 +0000 2024", "id_str": str(7000 + i),
        "text": "Merry #Christmas %d" % i, "user": {"id_str": "1", "screen_name": "elf"},
        "coordinates": {"type": "Point", "coordinates": [2.35 + i / 100, 48.86]}})
# Concatenated (as Firehose writes), with one bad record in the middle.
a = "".join(post(i) for i in range(10)) + "\nnot json\n"
b = "".join(post(i) + "\n" for i in range(10, 25))
s3.put_object(Bucket=bucket, Key="raw/2024/12/25/a b+1.json", Body=a.encode())
s3.put_object(Bucket=bucket, Key="raw/2024/12/25/second.json", Body=b.encode())
msgs = []
for _ in range(20):
    msgs += sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    if sum("ObjectCreated" in m["Body"] for m in msgs) >= 2:
        break
created = [m for m in msgs if "ObjectCreated" in m["Body"]]
assert len(created) == 2, msgs
# The direct S3 event: the body of the first real notification, as S3 would invoke Lambda with it.
first = [m for m in created if "a+b" in m["Body"] or "a%20b" in m["Body"]][0]
json.dump(json.loads(first["Body"]), open(work + "/s3.json", "w"))
# The SQS event, as the SQS event source mapping would build it (the s3:TestEvent included).
def rec(m):
    return {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
            "eventSourceARN": arn, "awsRegion": "us-east-1"}
json.dump({"Records": [rec(m) for m in msgs]}, open(work + "/sqs.json", "w"))
eb = json.load(open("tests/fixtures/lambda/eventbridge-event.json"))
eb["resources"] = ["arn:aws:s3:::" + bucket]
eb["detail"]["bucket"]["name"] = bucket
eb["detail"]["object"]["key"] = "raw/2024/12/25/second.json"
json.dump(eb, open(work + "/eventbridge.json", "w"))
PY

cat >"$work/env" <<EOF
SENTIMAP_INDEX_URL=$OPENSEARCH_URL
SENTIMAP_INDEX=$index
SENTIMAP_TEMPLATE_NAME=$index
SENTIMAP_DEAD_LETTER_PREFIX=dead-letter/
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing}
AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
AWS_REGION=${AWS_REGION:-us-east-1}
RUST_LOG=info
EOF

log "starting cargo lambda watch on 127.0.0.1:$port"
setsid "$cargo_lambda" lambda watch --package sentimap-lambda --bin sentimap-lambda \
  --invoke-address 127.0.0.1 --invoke-port "$port" --env-file "$work/env" --ignore-changes \
  >"$work/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 120); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 1
done
(echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$work/watch.log" >&2; fail "cargo lambda watch did not listen"; }

invoke() {
  "$cargo_lambda" lambda invoke sentimap-lambda --invoke-address 127.0.0.1 --invoke-port "$port" \
    --data-file "$1" --output-format json
}

count() {
  curl -fsS -XPOST "$OPENSEARCH_URL/$index/_refresh" >/dev/null
  curl -fsS "$OPENSEARCH_URL/$index/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}

check() { # check NAME ACTUAL EXPECTED
  if [[ "$2" == "$3" ]]; then
    log "ok: $1 = $2"
  else
    cat "$work/watch.log" >&2
    fail "$1: got $2, expected $3"
  fi
}

field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

log "invoke: S3 event"
out=$(invoke "$work/s3.json") || { cat "$work/watch.log" >&2; fail "S3 invocation failed: $out"; }
check "S3 event: indexed" "$(field 'd["objects"][0]["indexed"]' <<<"$out")" 10
check "S3 event: dead-lettered" "$(field 'd["objects"][0]["dead_lettered"]' <<<"$out")" 1
check "S3 event: key decoded" "$(field 'd["objects"][0]["key"]' <<<"$out")" "raw/2024/12/25/a b+1.json"
check "count after S3 event" "$(count)" 10

log "invoke: SQS event (both objects, test event included)"
out=$(invoke "$work/sqs.json") || fail "SQS invocation failed: $out"
check "SQS: batchItemFailures" "$(field 'len(d["batchItemFailures"])' <<<"$out")" 0
check "count after SQS event (re-delivery of the first object adds nothing)" "$(count)" 25

log "invoke: EventBridge event (re-delivery)"
out=$(invoke "$work/eventbridge.json") || fail "EventBridge invocation failed: $out"
check "EventBridge: indexed" "$(field 'd["objects"][0]["indexed"]' <<<"$out")" 15
check "count after re-delivery" "$(count)" 25

log "invoke: an unsupported event fails with a clear error"
echo '{"hello": "world"}' >"$work/bad.json"
if out=$(invoke "$work/bad.json" 2>&1); then
  fail "an unsupported event succeeded: $out"
fi
grep -q "unsupported event" <<<"$out" || fail "unclear error for an unsupported event: $out"
log "ok: unsupported event refused: $(tr '\n' ' ' <<<"$out" | cut -c1-160)"

grep -q '"message":"Object indexed."' "$work/watch.log" || fail "no structured JSON object log in the function output"
line=$(grep -o '{[^{}]*"message":"Object indexed."[^{}]*}' "$work/watch.log" | head -n 1)
for k in read indexed dead_lettered retried ms; do
  grep -q "\"$k\":" <<<"$line" || fail "object log lacks $k: $line"
done
log "ok: JSON log per object: $line"

kill -- "-$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=""

# The same handler outside Lambda: flags mirror the environment variables.
bin=$root/target/debug/sentimap-lambda
cargo build --quiet --locked -p sentimap-lambda --bin sentimap-lambda
local_index=$index-local
log "local --s3"
out=$(env -u SENTIMAP_INDEX_URL "$bin" local --s3 "s3://$bucket/raw/2024/12/25/second.json" \
  --index-url "$OPENSEARCH_URL" --index "$local_index" --template-name "$local_index" 2>"$work/local.log") \
  || { cat "$work/local.log" >&2; fail "local --s3 failed"; }
check "local --s3: indexed" "$(field 'd["objects"][0]["indexed"]' <<<"$out")" 15
log "local --file (gzip, dead letters to a folder)"
printf '%s\n' '{"created_at":"Wed Dec 25 10:00:00 +0000 2024","id_str":"424242","text":"hi","user":{"id_str":"1"}}' '{"broken":' \
  | gzip >"$work/posts.json.gz"
out=$("$bin" local --file "$work/posts.json.gz" --index-url "$OPENSEARCH_URL" --index "$local_index" \
  --template-name "$local_index" --dead-letter-dir "$work/dead" 2>>"$work/local.log") \
  || { cat "$work/local.log" >&2; fail "local --file failed"; }
check "local --file: indexed" "$(field 'd["objects"][0]["indexed"]' <<<"$out")" 1
check "local --file: dead letters written" "$(cat "$work"/dead/dead-letter/posts.json.gz/part-*.jsonl | wc -l)" 1
log "local --event"
out=$("$bin" local --event "$work/eventbridge.json" --index-url "$OPENSEARCH_URL" --index "$local_index" \
  --template-name "$local_index" 2>>"$work/local.log") || { cat "$work/local.log" >&2; fail "local --event failed"; }
check "local --event: indexed" "$(field 'd["objects"][0]["indexed"]' <<<"$out")" 15
log "local with a bad setting fails at start with a clear message"
if "$bin" local --file "$work/posts.json.gz" --index-url "not a url" --dead-letter-dir "$work/dead" 2>"$work/err.log"; then
  fail "a bad --index-url was accepted"
fi
grep -q "SENTIMAP_INDEX_URL must be an http(s) URL" "$work/err.log" || { cat "$work/err.log" >&2; fail "unclear config error"; }
log "ok: $(tail -n 1 "$work/err.log")"
log "all cargo lambda watch and local checks passed"
