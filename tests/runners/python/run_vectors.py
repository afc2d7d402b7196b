"""Python runner: the vectors through the plain core module with `wasmtime` from PyPI.

Run: .venv/wasm/bin/python tests/runners/python/run_vectors.py  (exit status 1 on any mismatch)
"""
import base64
import hashlib
import json
import os
import sys
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parents[3]
MODULE = Path(os.environ.get("SENTIMAP_WASM_MODULE", ROOT / "target/wasm/sentimap_core_abi.wasm"))


class Core:
    """One instance of the plain module, driven through its ABI (core/abi/README.md): `call` with
    alloc/process/dealloc (version 1), `call_buffered` with the module's buffers (version 2)."""

    def __init__(self, path: Path):
        self.store = wasmtime.Store()
        module = wasmtime.Module.from_file(self.store.engine, str(path))
        instance = wasmtime.Instance(self.store, module, [])
        ex = instance.exports(self.store)
        self.memory, self.alloc, self.dealloc, self.process = (
            ex["memory"], ex["alloc"], ex["dealloc"], ex["process"])
        self.request_buffer, self.process_buffer = ex["request_buffer"], ex["process_buffer"]
        self.buffer, self.cap = 0, 0
        if ex["abi_version"](self.store) != 3:
            raise RuntimeError("unexpected ABI version")

    def call(self, request: bytes) -> bytes:
        n = len(request)
        ptr = self.alloc(self.store, n) & 0xFFFFFFFF
        if ptr == 0 and n:
            raise MemoryError("alloc failed")
        if n:
            self.memory.write(self.store, request, ptr)
        packed = self.process(self.store, ptr, n) & 0xFFFFFFFFFFFFFFFF
        self.dealloc(self.store, ptr, n)
        out_ptr, out_len = packed >> 32, packed & 0xFFFFFFFF
        out = bytes(self.memory.read(self.store, out_ptr, out_ptr + out_len))
        self.dealloc(self.store, out_ptr, out_len)
        return out

    def call_buffered(self, request: bytes) -> bytes:
        n = len(request)
        if self.buffer == 0 or n > self.cap:
            self.cap = max(n, 64 * 1024)
            self.buffer = self.request_buffer(self.store, self.cap) & 0xFFFFFFFF
            if self.buffer == 0:
                raise MemoryError("request_buffer failed")
        if n:
            self.memory.write(self.store, request, self.buffer)
        packed = self.process_buffer(self.store, n) & 0xFFFFFFFFFFFFFFFF
        out_ptr, out_len = packed >> 32, packed & 0xFFFFFFFF
        return bytes(self.memory.read(self.store, out_ptr, out_ptr + out_len))  # the module's buffer


def request_bytes(case: dict) -> bytes:
    if "req" in case:
        return case["req"].encode()
    if "req_b64" in case:
        return base64.b64decode(case["req_b64"])
    r = case["req_recipe"]
    return r["prefix"].encode() + r["repeat"].encode() * r["times"] + r["suffix"].encode()


def mismatch(case: dict, got: bytes):
    if "want" in case:
        if got == case["want"].encode():
            return None
        return f"case {case['name']}:\n  want {case['want']}\n  got  {got.decode(errors='replace')}"
    digest = hashlib.sha256(got).hexdigest()
    if digest == case["want_sha256"] and len(got) == case["want_len"]:
        return None
    return f"case {case['name']}: want sha256 {case['want_sha256']}, got {digest} ({len(got)} bytes)"


def main() -> int:
    vectors = json.loads((ROOT / "tests/vectors/vectors.json").read_text(encoding="utf-8"))
    if not MODULE.exists():
        print(f"missing {MODULE}: build it first with scripts/build-wasm", file=sys.stderr)
        return 1
    core = Core(MODULE)
    failures = [m for c in vectors["cases"] if (m := mismatch(c, core.call(request_bytes(c))))]
    failures += [f"(module buffers) {m}" for c in vectors["cases"]
                 if (m := mismatch(c, core.call_buffered(request_bytes(c))))]
    for f in failures:
        print(f, file=sys.stderr)
    calls = 2 * len(vectors["cases"])
    print(f"python (wasmtime {wasmtime_version()}): {calls - len(failures)}/{calls} calls match "
          "(each vector through alloc/process and the module's buffers)")
    return 1 if failures else 0


def wasmtime_version() -> str:
    try:
        from importlib.metadata import version
        return version("wasmtime")
    except Exception:  # noqa: BLE001 - only for the report line
        return "?"


if __name__ == "__main__":
    sys.exit(main())
