#!/usr/bin/env python3
"""Corrupts compiled model files one way at a time and runs handwire on each.

    tests/fuzz/mutate_model_files.py HANDWIRE MODEL_DIR... [--max N] [--jobs J]

For every NAME.json (+ NAME.safetensors) under the MODEL_DIRs (compile the
shipped specs small first: `handwire compile specs/X.task -N 16 -o DIR`), it
writes variants that change one thing: each JSON value set to -1, 0, a huge
number, inf, the wrong type, an odd string; each key removed; each list
emptied, cut or grown; each tensor's dtype, shape, offsets, name and data
changed; the file cut or extended. It runs `handwire inspect` on every variant
and `handwire eval` on those inspect accepts, and reports a finding when the
exit code is not 0/1/2/3, a sanitizer speaks, or an exit-1 error does not name
the file. Build handwire with the sanitizers (build-asan or build-fuzz) so
that memory errors are reported rather than silently survived.

Exit status: 0 if there was no finding.
"""
import argparse
import concurrent.futures as cf
import copy
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HUGE = [2**31, 2**63 - 1, 2**64 - 1, 1e308, -(2**63)]
ODD_STRINGS = ["", "\u0000", "a\u0000b", "\u001b[31m", "x" * 5000, "../x"]


def leaves(node, path=()):
    """Every (path, value) in a JSON document, containers included."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, path + (i,))


def get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def setter(path, value):
    def apply(doc):
        get(doc, path[:-1])[path[-1]] = value
    return apply


def remover(path):
    def apply(doc):
        del get(doc, path[:-1])[path[-1]]
    return apply


def pathname(path):
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + p)
    return out or "<root>"


def json_mutations(doc):
    """(label, function mutating a deep copy of doc) for every corruption."""
    for path, v in leaves(doc):
        if not path:
            continue
        name = pathname(path)
        if isinstance(v, bool):
            values = [0, "true", None]
        elif isinstance(v, (int, float)):
            values = [-1, 0, 1, 0.5, float("inf"), "7", None, [v], {}] + HUGE
            if isinstance(v, int):
                values += [v + 1, v - 1, 2 * v]
        elif isinstance(v, str):
            values = ODD_STRINGS + [5, None, [v]]
        elif isinstance(v, list):
            values = [[], {}, "x", 3, v[:1], v[:-1], v + v[-1:], v * 3] if v else [{}, [1]]
        else:  # dict
            values = [[], "x", 0, {}]
        for x in values:
            yield f"{name}={json.dumps(x)[:40]}", setter(path, x)
        if isinstance(path[-1], str):
            yield f"del {name}", remover(path)
    yield "extra top-level key", setter(("zzz",), 1)


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def write_safetensors(path, header, payload, raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + payload)


def weight_mutations(header, payload):
    """(label, function(header, payload) -> (header, payload[, raw]))."""
    names = [k for k in header if k != "__metadata__"]
    for t in names:
        e = header[t]
        begin, end = e["data_offsets"]

        def with_entry(key, value, t=t):
            def f(h, p):
                h[t][key] = value
                return h, p
            return f
        for dt in ["F16", "I64", "BOOL", "f32", "", 3, None]:
            yield f"{t}.dtype={dt!r}", with_entry("dtype", dt)
        other = "I32" if e["dtype"] == "F32" else "F32"
        yield f"{t}.dtype={other}", with_entry("dtype", other)
        shape = e["shape"]
        for s in [[], [0], shape + [1], shape[::-1], [-1] + shape[1:],
                  [shape[0] + 1] + shape[1:] if shape else [1],
                  [2**40] + shape[1:] if shape else [2**40], "x", [1.5]]:
            yield f"{t}.shape={s}", with_entry("shape", s)
        for o in [[0, end - begin], [begin, end + 4], [end, begin], [begin + 4, end + 4],
                  [begin, 2**64 - 1], [-4, end], [begin], "x",
                  [len(payload), len(payload) + (end - begin)]]:
            yield f"{t}.data_offsets={o}", with_entry("data_offsets", o)
        yield f"del {t}", lambda h, p, t=t: ({k: v for k, v in h.items() if k != t}, p)
        yield f"rename {t} with NUL", lambda h, p, t=t: (
            {(k + "\u0000" if k == t else k): v for k, v in h.items()}, p)
        for what, val in [("nan", float("nan")), ("inf", float("inf")), ("huge", 3e38)]:
            def poke(h, p, e=e, val=val):
                b, _ = e["data_offsets"]
                p = bytearray(p)
                if e["dtype"] == "F32" and e["data_offsets"][1] > b:
                    p[b:b + 4] = struct.pack("<f", val)
                return h, bytes(p)
            yield f"{t}[0]={what}", poke
        if e["dtype"] == "I32" and end > begin:
            for val in [-1, 2**31 - 1, 1, 1000]:
                def poke_i(h, p, b=begin, end=end, val=val):
                    p = bytearray(p)
                    p[b:b + 4] = struct.pack("<i", val)  # first
                    p[end - 4:end] = struct.pack("<i", val)  # last
                    return h, bytes(p)
                yield f"{t}[0,-1]={val}", poke_i
    yield "truncate data by 4", lambda h, p: (h, p[:-4])
    yield "truncate data to 0", lambda h, p: (h, b"")
    yield "extend data by 13", lambda h, p: (h, p + b"\0" * 13)
    yield "metadata not object", lambda h, p: (dict(h, __metadata__=[1]), p)
    yield "duplicate key", lambda h, p: (h, p, json.dumps(h)[:-1] + ',' + json.dumps(names[0]) + ':' + json.dumps(h[names[0]]) + '}')
    yield "header not object", lambda h, p: (h, p, "[1,2]")
    yield "header garbage", lambda h, p: (h, p, "{\"a\":")


def run(handwire, args, timeout=120):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:allocator_may_return_null=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    try:
        r = subprocess.run([handwire] + args, capture_output=True, text=True,
                           errors="replace", timeout=timeout, env=env)
        return r.returncode, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", ""


def check(handwire, config, label):
    """A finding (text) or None."""
    problems = []
    out = os.path.join(os.path.dirname(config), "onnx")
    for cmd in (["inspect", config], ["eval", config, "-n", "64", "-j", "1", "--backend", "both"],
                ["compile", config, "--emit", "onnx", "-o", out]):
        code, err = run(handwire, cmd)
        if code == "timeout" or code not in (0, 1, 2, 3) or re.search(
                r"AddressSanitizer|runtime error|LeakSanitizer|internal error", err):
            problems.append(f"{cmd[0]}: exit {code}: {err[-1500:]}")
            break
        if code == 1:
            if os.path.basename(config).split(".")[0] not in err:
                problems.append(f"{cmd[0]}: error does not name the file: {err[-300:]}")
            break  # the same reader refuses it for eval too
        if len(err) > 65536:
            problems.append(f"{cmd[0]}: {len(err)} bytes on stderr")
    return f"{label}: " + "\n  ".join(problems) if problems else None


def variants(config):
    base = os.path.splitext(config)[0]
    doc = json.load(open(config))
    weights = os.path.join(os.path.dirname(config), doc["weights"])
    header, payload = read_safetensors(weights)
    for label, f in json_mutations(doc):
        yield "json " + label, f, None
    for label, g in weight_mutations(header, payload):
        yield "weights " + label, None, g


def materialize(config, label, f, g, out):
    """Writes the variant into directory `out`; returns its config path."""
    doc = json.load(open(config))
    weights = os.path.join(os.path.dirname(config), doc["weights"])
    os.makedirs(out, exist_ok=True)
    cpath = os.path.join(out, os.path.basename(config))
    wpath = os.path.join(out, doc["weights"])
    if f:
        d = copy.deepcopy(doc)
        f(d)
        # JSON has no inf; 1e999 parses as one.
        text = json.dumps(d, indent=1, allow_nan=True).replace("Infinity", "1e999")
        open(cpath, "w").write(text)
        shutil.copy(weights, wpath)
    else:
        header, payload = read_safetensors(weights)
        res = g(copy.deepcopy(header), payload)
        raw = res[2] if len(res) == 3 else None
        write_safetensors(wpath, res[0], res[1], raw)
        shutil.copy(config, cpath)
    return cpath


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("handwire")
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--max", type=int, default=0, help="variants per model (0: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    configs = sorted(os.path.join(d, f) for top in args.dirs
                     for d, _, fs in os.walk(top) for f in fs if f.endswith(".json"))
    work = tempfile.mkdtemp(prefix="hw-mutants-")
    jobs = []
    for config in configs:
        vs = list(variants(config))
        if args.max and len(vs) > args.max:
            vs = random.Random(args.seed).sample(vs, args.max)
        for i, (label, f, g) in enumerate(vs):
            jobs.append((config, f"{os.path.basename(config)} {label}", f, g,
                         os.path.join(work, f"{len(jobs)}")))
    print(f"{len(jobs)} variants of {len(configs)} models in {work}", flush=True)
    findings = []

    def one(job):
        config, label, f, g, out = job
        try:
            c = materialize(config, label, f, g, out)
        except Exception as e:  # a mutation that does not apply
            return None
        r = check(args.handwire, c, label)
        if r is None:
            shutil.rmtree(out, ignore_errors=True)
        return r and f"{r}\n  (files in {out})"

    with cf.ThreadPoolExecutor(args.jobs) as ex:
        for i, r in enumerate(ex.map(one, jobs)):
            if r:
                findings.append(r)
                print("FINDING", r, flush=True)
            if i % 200 == 0:
                print(f"{i}/{len(jobs)} run, {len(findings)} findings", flush=True)
    print(f"{len(jobs)} variants, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
