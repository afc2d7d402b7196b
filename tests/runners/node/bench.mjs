// The Node half of scripts/bench-wasm (a benchmark, not a test): the same requests as the Rust
// half, through the plain module (Node's WebAssembly; through its own buffers, one call per
// request, the result as a string, read in place or copied out as bytes, and through
// alloc/process/dealloc, four calls) and the wasm-bindgen package (nodejs target; `processText`
// gives a string, `process` bytes), with the speed ratio against the native core, timed by the
// Rust half's binary (`bench-wasm native-round`, a child process) in rounds that take turns with
// Node's. The native side ends with the result's bytes in hand. The in-place way is its like for
// like: the bytes read where the module left them (a view of its memory, valid until the next
// call), neither copied nor decoded. A JavaScript caller that keeps the result pays more: the
// text way's string (what `JSON.parse` wants) is the cheap form, bytes copied out mean a new
// ArrayBuffer (about 1 us per call). Each way is warmed up for a second first, so V8 has moved the
// module from its baseline compiler (Liftoff) to its optimising one (TurboFan); then the ways and a
// native round take turns in 9 rounds of 0.25 s of CPU time each (the order rotating), as the Rust
// half times its engines, and each way prints its median time and the median and range of its
// per-round ratios to native's time in the same round. (Against the Rust half's native figure,
// taken minutes before, a host whose speed drifted in between skewed every Node ratio: 0.21x for
// vector texts in one such run, 0.37x in a steady one.)
// The string ways and the bytes ways run in two child processes: the process's CPU time counts
// V8's garbage-collector threads, and the garbage the bytes ways make (an ArrayBuffer per call)
// was collected during the string ways' rounds too, charged to them (tweets as text: 1,679-1,772
// ns among the bytes ways, 1,516-1,580 without them).
// Run: node tests/runners/node/bench.mjs target/wasm/bench-requests.json
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bufferCaller, bufferTextCaller, bufferViewCaller, plainCaller } from '../common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const requestsFile = process.argv[2];
const input = JSON.parse(readFileSync(requestsFile, 'utf8'));
const nativeBin = path.join(root, 'target/release/bench-wasm');
const enc = new TextEncoder();

const ROUNDS = 9;
const SLICE_US = 250_000;

/** The process's CPU time (user and system) in microseconds. */
function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Runs `call` over all requests until `us` of CPU time is spent; returns CPU ns per request. */
function nsPerRequest(requests, call, us) {
  let sink = 0;
  let passes = 0;
  const start = cpuMicros();
  do {
    for (const r of requests) sink += call(r).length;
    passes++;
  } while (cpuMicros() - start < us);
  if (sink < 0) console.log(sink);
  return ((cpuMicros() - start) * 1000) / (passes * requests.length);
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One round of the native core on `group`, in the Rust half's binary: CPU ns per request. */
function nativeRound(group) {
  const r = spawnSync(nativeBin, ['native-round', requestsFile, group], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`native round of ${group} failed (exit ${r.status}): ${r.stderr}`);
  return Number(r.stdout.trim());
}

/**
 * Times the ways and native in interleaved rounds; returns each way's per-round times, and
 * native's as the last entry.
 */
function interleaved(group, requests, ways) {
  for (const [, call] of ways) nsPerRequest(requests, call, 1_000_000); // warm-up
  const times = [...ways, 'native'].map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k <= ways.length; k++) {
      const w = (round + k) % (ways.length + 1);
      times[w].push(w === ways.length ? nativeRound(group) : nsPerRequest(requests, ways[w][1], SLICE_US));
    }
  }
  return times;
}

/** The ways, in the order they are printed; `set` names the child process that times them. */
const WAYS = [
  ['node, plain module, text', 'strings'],
  ['node, plain module, in place', 'strings'],
  ['node, plain module, bytes', 'bytes'],
  ['node, plain, v1 calls, bytes', 'bytes'],
  ['node, bindgen processText', 'strings'],
  ['node, bindgen process', 'bytes'],
];

/** A child: times the ways of `set` on every group; returns `{group: {way: [ns per round]}}`. */
async function timeSet(set) {
  const module = await WebAssembly.compile(readFileSync(path.join(root, 'target/wasm/sentimap_core_abi.wasm')));
  // An instance per way: a way keeps the module's request buffer, which another way's
  // `request_buffer` call would end.
  const instance = () => new WebAssembly.Instance(module, {});
  const core = createRequire(import.meta.url)(path.join(root, 'target/wasm/node/sentimap_core_js.js'));
  // Made for the ways of `set` only: the other child times the rest.
  const callers = {
    'node, plain module, text': () => bufferTextCaller(instance()),
    'node, plain module, in place': () => bufferViewCaller(instance()),
    'node, plain module, bytes': () => bufferCaller(instance()),
    'node, plain, v1 calls, bytes': () => plainCaller(instance()),
    'node, bindgen processText': () => (r) => core.processText(r),
    'node, bindgen process': () => (r) => core.process(r),
  };
  const ways = WAYS.filter(([, s]) => s === set).map(([name]) => [name, callers[name]()]);
  const out = {};
  for (const [name, group] of Object.entries(input)) {
    const times = interleaved(name, group.requests.map((r) => enc.encode(r)), ways);
    out[name] = Object.fromEntries([...ways.map(([way], w) => [way, times[w]]), ['native', times[ways.length]]]);
  }
  return out;
}

const setArg = process.argv.indexOf('--set');
if (setArg > 0) {
  console.log(JSON.stringify(await timeSet(process.argv[setArg + 1])));
} else {
  const script = fileURLToPath(import.meta.url);
  const bySet = {};
  for (const set of new Set(WAYS.map(([, s]) => s))) {
    const child = spawnSync(process.execPath, [script, process.argv[2], '--set', set], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) throw new Error(`the ${set} ways failed (exit ${child.status})`);
    bySet[set] = JSON.parse(child.stdout);
  }
  console.log(`node ${process.version} (string and bytes ways timed in separate processes)`);
  for (const [name, group] of Object.entries(input)) {
    const texts = group.texts_per_request ?? 1;
    const unit = texts > 1 ? 'text' : 'request';
    console.log(`${name}:`);
    const natives = Object.values(bySet).map((s) => s[name].native).flat();
    console.log(`  ${'native core (beside Node)'.padEnd(30)}${(median(natives) / texts).toFixed(0).padStart(9)} ns/${unit}`);
    for (const [what, set] of WAYS) {
      const times = bySet[set][name][what];
      const native = bySet[set][name].native;
      const ns = median(times);
      const ratios = times.map((t, r) => native[r] / t);
      const range = `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`;
      console.log(`  ${what.padEnd(30)}${(ns / texts).toFixed(0).padStart(9)} ns/${unit}   speed ratio ${median(ratios).toFixed(2)}x native (rounds ${range}; target >= 0.50)`);
    }
  }
}
