"""Reads callgrind's output, written with `--dump-instr=yes`: the self cost of each instruction
address and of each function, and the run's totals. Shared by `scripts/profile-wasm` and
`scripts/count-wasm` (they import it from `scripts/`)."""
import collections
import re


def read(path):
    """Returns (cost per instruction address, cost per function, {event: total, 0 if absent}, the
    64-byte lines of code run per function). The costs are of the first event (Ir, instructions):
    an instruction's own, not its callees'. Code callgrind has no symbol for (wasmtime's compiled
    code) is one function per address, named by it (`0x...`)."""
    cost = collections.Counter()
    self_fn = collections.Counter()
    lines = collections.defaultdict(set)
    names, fn = {}, None
    events, totals = [], {}
    addr, after_call = 0, False
    for line in open(path):
        if line.startswith('events:'):
            events = line.split()[1:]
            continue
        if line.startswith('totals:'):
            # Trailing events that cost nothing are left out of the line.
            totals = dict.fromkeys(events, 0)
            totals.update(zip(events, map(int, line.split()[1:])))
            continue
        # Names are given once, at a function's first mention (`fn=`, `cfn=`), then by number.
        m = re.match(r'c?fn=\((\d+)\)(?: (.*))?', line.strip())
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2)
            if line.startswith('fn='):
                fn = names[m.group(1)]
            continue
        # The cost line after `calls=` is the callee's inclusive cost, not an instruction's own.
        if line.startswith('calls='):
            after_call = True
            continue
        m = re.match(r'^(0x[0-9a-f]+|[+-]\d+|\*)\s+\S+\s+(\d+)', line)
        if not m:
            continue
        a = m.group(1)
        addr = int(a, 16) if a.startswith('0x') else addr + int(a) if a[0] in '+-' else addr
        if after_call:
            after_call = False
            continue
        ir = int(m.group(2))
        cost[addr] += ir
        self_fn[fn] += ir
        if ir:
            lines[fn].add(addr >> 6)
    return cost, self_fn, totals, lines


def calls(path):
    """The number of calls a `bench-wasm calls ENGINE N REQUEST` run made, from its output."""
    m = re.match(r'(\d+) passes over (\d+) requests', open(path).read())
    return int(m.group(1)) * int(m.group(2))
