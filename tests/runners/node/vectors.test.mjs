// Node runner: the vectors through the wasm-bindgen package (--target nodejs) and through the
// plain module (core/abi) with Node's own WebAssembly. Run: node --test tests/runners/node/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runAll, checkTyped } from '../common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const vectors = JSON.parse(readFileSync(path.join(root, 'tests/vectors/vectors.json'), 'utf8'));
const wasmDir = process.env.SENTIMAP_WASM_DIR ?? path.join(root, 'target/wasm');
const hint = ' (build it first: scripts/build-wasm)';

function load(file) {
  try {
    return readFileSync(path.join(wasmDir, file));
  } catch (e) {
    throw new Error(`${e.message}${hint}`);
  }
}

test('vector file is complete', () => {
  assert.equal(vectors.format, 'sentimap-vectors');
  assert.equal(vectors.cases.length, vectors.count);
  assert.ok(vectors.count >= 500);
});

test('plain module (WebAssembly API) gives the expected bytes', async () => {
  const { instance } = await WebAssembly.instantiate(load('sentimap_core_abi.wasm'), {});
  const { plainCaller } = await import('../common.mjs');
  const failures = await runAll(vectors, plainCaller(instance));
  assert.deepEqual(failures, []);
});

test('plain module through its own buffers (ABI version 3, 32-bit calls) gives the expected bytes', async () => {
  const { instance } = await WebAssembly.instantiate(load('sentimap_core_abi.wasm'), {});
  const { bufferCaller } = await import('../common.mjs');
  const failures = await runAll(vectors, bufferCaller(instance));
  assert.deepEqual(failures, []);
});

test('plain module through its own buffers, the result as text, gives the expected bytes', async () => {
  const { instance } = await WebAssembly.instantiate(load('sentimap_core_abi.wasm'), {});
  const { bufferTextCaller } = await import('../common.mjs');
  const failures = await runAll(vectors, bufferTextCaller(instance));
  assert.deepEqual(failures, []);
});

test('wasm-bindgen package (nodejs target) gives the expected bytes', async () => {
  load('node/sentimap_core_js_bg.wasm');
  const core = createRequire(import.meta.url)(path.join(wasmDir, 'node/sentimap_core_js.js'));
  assert.equal(core.apiVersion(), vectors.api_version);
  const failures = await runAll(vectors, (req) => core.process(req));
  assert.deepEqual(failures, []);
  const textFailures = await runAll(vectors, (req) => core.processText(req));
  assert.deepEqual(textFailures.map((f) => `(processText) ${f}`), []);
});

test('wasm-bindgen typed functions return the expected values and errors', () => {
  const core = createRequire(import.meta.url)(path.join(wasmDir, 'node/sentimap_core_js.js'));
  const [failures, checked] = checkTyped(vectors, core);
  assert.deepEqual(failures, []);
  assert.ok(checked >= 400, `only ${checked} cases checked through the typed functions`);
  // A wrong argument type is an error object too, never a crash.
  assert.throws(() => core.normalize(42), (e) => e.name === 'SentimapError' && e.kind === 'request' && e.field === 'raw');
});
