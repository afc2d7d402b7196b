// The Node half of scripts/bench-wasm (a benchmark, not a test): the same requests as the Rust
// half, through the plain module (Node's WebAssembly; through its own buffers, one call per
// request, the result as a string or copied out as bytes, and through alloc/process/dealloc, four
// calls) and the wasm-bindgen package (nodejs target; `processText` gives a string, `process`
// bytes), with the speed ratio against the native figure the Rust half measured. The native side
// returns bytes it already holds; in JavaScript a string is the cheap result (bytes mean a copy into
// a new ArrayBuffer, about 1 us per call), so the string rows are the ones to read. Each figure
// follows a one-second warm-up, so V8 has moved the module from its baseline compiler (Liftoff)
// to its optimising one (TurboFan).
// Run: node tests/runners/node/bench.mjs target/wasm/bench-requests.json
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bufferCaller, bufferTextCaller, plainCaller } from '../common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const enc = new TextEncoder();

function runFor(ns, requests, call) {
  let sink = 0;
  let rounds = 0;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < ns) {
    for (const r of requests) sink += call(r).length;
    rounds++;
  }
  if (sink < 0) console.log(sink);
  return [Number(process.hrtime.bigint() - start), rounds];
}

function nsPerRequest(requests, call) {
  runFor(1_000_000_000n, requests, call); // warm-up
  const [ns, rounds] = runFor(2_000_000_000n, requests, call);
  return ns / (rounds * requests.length);
}

const { instance } = await WebAssembly.instantiate(readFileSync(path.join(root, 'target/wasm/sentimap_core_abi.wasm')), {});
const bufferCall = bufferCaller(instance);
const bufferTextCall = bufferTextCaller(instance);
const plainCall = plainCaller(instance);
const core = createRequire(import.meta.url)(path.join(root, 'target/wasm/node/sentimap_core_js.js'));
console.log(`node ${process.version}`);
for (const [name, group] of Object.entries(input)) {
  const requests = group.requests.map((r) => enc.encode(r));
  const native = group.native_ns_per_request;
  const texts = group.texts_per_request ?? 1;
  const unit = texts > 1 ? 'text' : 'request';
  const line = (what, ns) => `  ${what.padEnd(30)}${(ns / texts).toFixed(0).padStart(9)} ns/${unit}   speed ratio ${(native / ns).toFixed(2)}x native (target >= 0.50)`;
  console.log(`${name}:`);
  console.log(line('node, plain module, text', nsPerRequest(requests, bufferTextCall)));
  console.log(line('node, plain module, bytes', nsPerRequest(requests, bufferCall)));
  console.log(line('node, plain, v1 calls, bytes', nsPerRequest(requests, plainCall)));
  console.log(line('node, bindgen processText', nsPerRequest(requests, (r) => core.processText(r))));
  console.log(line('node, bindgen process', nsPerRequest(requests, (r) => core.process(r))));
}
