// Shared by the Node and browser runners: reading a vector case's request and checking a result,
// exactly as tests/src/vectors.rs describes the file. Works in Node 20 and in browsers.

const enc = new TextEncoder();

/** The request bytes of a case: `req`, `req_b64` or `req_recipe`. */
export function requestBytes(c) {
  if (c.req !== undefined) return enc.encode(c.req);
  if (c.req_b64 !== undefined) {
    const bin = atob(c.req_b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  const r = c.req_recipe;
  const prefix = enc.encode(r.prefix), unit = enc.encode(r.repeat), suffix = enc.encode(r.suffix);
  const out = new Uint8Array(prefix.length + unit.length * r.times + suffix.length);
  out.set(prefix, 0);
  let at = prefix.length;
  for (let i = 0; i < r.times; i++, at += unit.length) out.set(unit, at);
  out.set(suffix, at);
  return out;
}

async function sha256Hex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** null when `got` (bytes) is the case's expected result, else a description of the mismatch. */
export async function check(c, got) {
  const dec = new TextDecoder('utf-8', { fatal: false });
  if (c.want !== undefined) {
    if (sameBytes(got, enc.encode(c.want))) return null;
    return `case ${c.name}:\n  want ${c.want}\n  got  ${dec.decode(got)}`;
  }
  const digest = await sha256Hex(got);
  if (digest === c.want_sha256 && got.length === c.want_len) return null;
  return `case ${c.name}: want ${c.want_len} bytes sha256 ${c.want_sha256}, got ${got.length} bytes sha256 ${digest}`;
}

/**
 * Drives the plain module (see core/abi/README.md) from a WebAssembly instance through its own
 * buffers, with ABI version 3's 32-bit results: `process_buffer_len` answers the request and
 * gives the result's length, `result_buffer` its address. (Version 2's `process_buffer` returns
 * both packed in an i64, which JavaScript receives as a BigInt: unpacking it cost about 45 ns a
 * call in Node 20, the second call about 7.) The returned function gives the result as a view
 * into the module's memory, valid only until the next call (copy it or decode it first):
 * `bufferCaller` and `bufferTextCaller` do.
 */
export function bufferViewCaller(instance) {
  const { memory, process_buffer_len, result_buffer } = instance.exports;
  const requestAt = requestBuffer(instance);
  return (request) => {
    const ptr = requestAt(request.length);
    // memory.buffer is replaced when memory grows: take a fresh view every call.
    new Uint8Array(memory.buffer, ptr, request.length).set(request);
    const outLen = process_buffer_len(request.length) >>> 0;
    const outPtr = result_buffer() >>> 0;
    return new Uint8Array(memory.buffer, outPtr, outLen); // the module's until the next call
  };
}

/**
 * The module's request buffer (ABI version 3 checked): a function of a request's length giving
 * the address to write it at, asking the module for a larger buffer when it does not fit.
 */
function requestBuffer(instance) {
  const { request_buffer, abi_version } = instance.exports;
  if (abi_version() !== 3) throw new Error(`unexpected ABI version ${abi_version()}`);
  let ptr = 0;
  let cap = 0;
  return (length) => {
    if (ptr === 0 || length > cap) {
      cap = Math.max(length, 64 * 1024);
      ptr = request_buffer(cap) >>> 0; // i32 results are signed in JS
      if (ptr === 0) throw new Error('request_buffer failed');
    }
    return ptr;
  };
}

/** The plain module through its own buffers, the result copied out as bytes (a new Uint8Array). */
export function bufferCaller(instance) {
  const view = bufferViewCaller(instance);
  return (request) => view(request).slice();
}

// One decoder for every call: a result is always UTF-8 JSON.
const resultDecoder = new TextDecoder();

// Node's Buffer decodes UTF-8 with less work per call than TextDecoder#decode (no options to
// read, no view to make): about 80 ns less for a tweet's result in Node 20. Absent in browsers.
const nodeUtf8Slice = globalThis.Buffer?.prototype?.utf8Slice;

/**
 * The plain module through its own buffers, the result as a string (its JSON text): the cheap way
 * in JavaScript. Decoding straight from the module's memory costs a fraction of copying the bytes
 * out (every new ArrayBuffer allocates a backing store, about 1 us in V8), and a string is what
 * `JSON.parse` wants anyway. In Node, one Buffer over the module's memory (made again when the
 * memory grows, which replaces `memory.buffer`) takes each request and gives each result.
 */
export function bufferTextCaller(instance) {
  if (typeof nodeUtf8Slice !== 'function') {
    const view = bufferViewCaller(instance);
    return (request) => resultDecoder.decode(view(request));
  }
  const { memory, process_buffer_len, result_buffer } = instance.exports;
  const requestAt = requestBuffer(instance);
  let buffer = null;
  let bytes = null;
  const memoryBytes = () => {
    if (buffer !== memory.buffer) {
      buffer = memory.buffer;
      bytes = globalThis.Buffer.from(buffer);
    }
    return bytes;
  };
  return (request) => {
    const ptr = requestAt(request.length); // first: a larger buffer may grow the memory
    memoryBytes().set(request, ptr);
    const outLen = process_buffer_len(request.length) >>> 0;
    const outPtr = result_buffer() >>> 0;
    // A call that grew the memory replaced the buffer: the result is read through the new one.
    return nodeUtf8Slice.call(memoryBytes(), outPtr, outPtr + outLen);
  };
}

/** Drives the plain module through alloc/process/dealloc (ABI version 1, still exported by 2 and 3). */
export function plainCaller(instance) {
  const { memory, alloc, dealloc, process, abi_version } = instance.exports;
  const version = abi_version();
  if (version < 1 || version > 3) throw new Error(`unexpected ABI version ${version}`);
  return (request) => {
    const ptr = alloc(request.length) >>> 0; // i32 results are signed in JS
    if (ptr === 0 && request.length > 0) throw new Error('alloc failed');
    new Uint8Array(memory.buffer, ptr, request.length).set(request);
    const packed = BigInt.asUintN(64, process(ptr, request.length)); // i64 -> signed BigInt
    dealloc(ptr, request.length);
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    const out = new Uint8Array(memory.buffer, outPtr, outLen).slice();
    dealloc(outPtr, outLen);
    return out;
  };
}

/**
 * Runs every case through `call(bytes) -> bytes` or `call(bytes) -> string` (a result's JSON text,
 * checked as the bytes it encodes to); returns the mismatches.
 */
export async function runAll(vectors, call) {
  const failures = [];
  for (const c of vectors.cases) {
    const got = call(requestBytes(c));
    const msg = await check(c, typeof got === 'string' ? enc.encode(got) : got);
    if (msg) failures.push(msg);
  }
  return failures;
}

/**
 * Checks the typed wasm-bindgen functions against the same cases: the value they return (or the
 * error they throw) must equal the expected JSON. `core` is the package's exports.
 * Returns [mismatches, number of cases checked].
 */
export function checkTyped(vectors, core) {
  const failures = [];
  let checked = 0;
  for (const c of vectors.cases) {
    if (c.req === undefined || c.want === undefined) continue;
    const nl = c.req.indexOf('\n');
    let header;
    try { header = JSON.parse(nl < 0 ? c.req : c.req.slice(0, nl)); } catch { continue; }
    const body = nl < 0 ? '' : c.req.slice(nl + 1);
    const keys = Object.keys(header).sort().join(',');
    let run;
    if (header.v !== 1) continue;
    if (header.op === 'score' && /^(lang,)?op,v$/.test(keys) && (header.lang === undefined || typeof header.lang === 'string')) {
      run = () => core.score(body, header.lang);
    } else if (header.op === 'normalize' && /^(op,post_only,v|op,v)$/.test(keys) && typeof (header.post_only ?? false) === 'boolean') {
      run = () => core.normalize(body, header.post_only ?? false);
    } else if (header.op === 'index_template' && keys === 'op,pattern,v' && body === '') {
      run = () => core.indexTemplate(header.pattern);
    } else if (header.op === 'score_batch' && keys === 'op,v') {
      let items;
      try { items = JSON.parse(body); } catch { continue; }
      if (!Array.isArray(items)) continue;
      run = () => core.scoreBatch(items);
    } else continue;
    checked++;
    const want = JSON.parse(c.want);
    let got;
    try {
      got = run();
    } catch (e) {
      if (e && e.name === 'SentimapError') got = { error: { kind: e.kind, field: e.field, reason: e.reason } };
      else got = { thrown: String(e) };
    }
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      failures.push(`typed ${c.name}:\n  want ${c.want}\n  got  ${JSON.stringify(got)}`);
    }
  }
  return [failures, checked];
}
