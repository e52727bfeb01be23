#!/usr/bin/env python3
"""A model file explains itself (issue #21): knowing nothing of handwire but
what docs/export.md says of the JSON, build valid inputs for every shipped
model from its config's `input_layout`, `vocabulary.tokens` and `classes`,
compute their answers here from the layout's meaning, and check that the
exported ONNX model (run by ONNX Runtime, tests/onnx/replay.js) gives them.
Continuous inputs (nearest neighbour with points = sphere) are written to the
decision file's binary sidecar as docs/export.md ("Decision files") defines it.

Usage: describe_inputs.py HANDWIRE SOURCE_DIR
Exit 0: every answer matches; 1: a mismatch or an error; 77: node or
onnxruntime-node is missing (CTest reports SKIP). Standard library only.
"""
import glob
import json
import math
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

N = 16  # max_length of every compiled model
INPUTS = 200  # per model
SKIP = 77


def tokens_of(vocabulary):
    """vocabulary.tokens expanded: one dict per token, in token order, with
    its name, role and fields (a range's fields computed per offset)."""
    out = []
    for entry in vocabulary["tokens"]:
        if "token" in entry:
            assert entry["token"] == len(out), entry
            out.append(dict(entry))
            continue
        assert entry["first"] == len(out), entry
        fields = {k: v for k, v in entry.items() if isinstance(v, dict)}
        for o in range(entry["count"]):
            tok = {"token": entry["first"] + o, "role": entry["role"]}
            shown = {}
            for name, f in fields.items():
                q = o // f["every"]
                v = f["from"] + (q % f["modulo"] if "modulo" in f else q)
                tok[name] = v
                shown[name] = f["names"][v] if "names" in f else str(v)
            tok["name"] = re.sub(r"\{(\w+)\}", lambda m: shown[m.group(1)],
                                 entry["name"])
            out.append(tok)
    assert len(out) == vocabulary["token_count"]
    return out


class Model:
    def __init__(self, cfg):
        self.cfg = cfg
        self.layout = cfg["input_layout"]
        self.tokens = tokens_of(cfg["vocabulary"])
        self.class_of_name = {c["name"]: c["class"] for c in cfg["classes"]}
        self.by_role = {}
        for t in self.tokens:
            self.by_role.setdefault(t["role"], []).append(t)

    def var(self, name, bound, **known):
        """A layout variable's bound: a number, or a formula of earlier
        variables (only a variable's name is used as a formula here)."""
        v = self.layout["variables"][name][bound]
        return v if isinstance(v, int) else known[v]

    def role(self, name):
        return self.by_role[name]


def index_lookup(m, rng):
    # s_1 .. s_n IDX_p: the answer is the class named as s_p.
    n = rng.randint(m.var("n", "min"), m.var("n", "max"))
    p = rng.randint(m.var("p", "min"), m.var("p", "max", n=n))
    s = [rng.choice(m.role("symbol")) for _ in range(n)]
    idx = next(t for t in m.role("index") if t["p"] == p)
    return [t["token"] for t in s] + [idx["token"]], m.class_of_name[s[p - 1]["name"]]


def associative_recall(m, rng):
    # p_1 .. p_n ?q, distinct keys, q among them: the value stored under q.
    n = rng.randint(m.var("n", "min"), m.var("n", "max"))
    keys = rng.sample(range(len(m.role("query"))), n)
    pairs = {}
    for t in m.role("pair"):
        pairs.setdefault(t["key"], []).append(t)
    chosen = [rng.choice(pairs[k]) for k in keys]
    q = rng.choice(keys)
    query = next(t for t in m.role("query") if t["key"] == q)
    answer = next(t["value"] for t in chosen if t["key"] == q)
    return [t["token"] for t in chosen] + [query["token"]], answer


def dyck_member(brackets, depth):
    stack = []
    for kind, is_open in brackets:
        if is_open:
            stack.append(kind)
            if len(stack) > depth:
                return False
        elif not stack or stack.pop() != kind:
            return False
    return not stack


def bounded_dyck(m, rng):
    # b_1 .. b_n <eos>: accept iff well nested and never deeper than m.
    depth = m.cfg["task"]["depth"]
    opens = {t["kind"]: t for t in m.role("open")}
    closes = {t["kind"]: t for t in m.role("close")}
    n_max = m.var("n", "max")
    n = rng.randint(m.var("n", "min"), n_max)
    seq, stack = [], []
    for i in range(n):  # a random walk, half the time kept in the language
        left = n - i
        if stack and (len(stack) == left or len(stack) == depth or rng.random() < 0.5):
            seq.append((stack.pop(), False))
        else:
            kind = rng.choice(list(opens))
            stack.append(kind)
            seq.append((kind, True))
    if rng.random() < 0.5 and seq:  # one edit: usually out of the language
        i = rng.randrange(len(seq))
        seq[i] = (rng.choice(list(opens)), rng.random() < 0.5)
    tokens = [(opens if o else closes)[k]["token"] for k, o in seq]
    accept = "accept" if dyck_member(seq, depth) else "reject"
    return tokens + [m.role("end")[0]["token"]], m.class_of_name[accept]


def pair_predicate(equality):
    def build(m, rng):
        # x_1 .. x_n y_1 .. y_n <out>, n fixed.
        n = m.var("n", "max")
        bit = {t["bit"]: t["token"] for t in m.role("bit")}
        x = [rng.randint(0, 1) for _ in range(n)]
        if equality:
            y = list(x) if rng.random() < 0.5 else [rng.randint(0, 1) for _ in range(n)]
            if rng.random() < 0.3:
                y[rng.randrange(n)] ^= 1
            name = "equal" if x == y else "different"
        else:
            y = [(1 - a) & rng.randint(0, 1) for a in x]
            if rng.random() < 0.5:
                i = rng.randrange(n)
                x[i] = y[i] = 1
            name = "intersect" if any(a and b for a, b in zip(x, y)) else "disjoint"
        return [bit[v] for v in x + y] + [m.role("out")[0]["token"]], m.class_of_name[name]
    return build


def nearest_neighbour(m, rng):
    # <bos> x_1 y_1 .. x_n y_n x_q: the label of the example with the
    # largest inner product with x_q, which leads every other by the margin.
    points = m.role("point")
    d = len(points).bit_length() - 1  # 2^d corner tokens
    margin = m.cfg["task"]["margin"]
    # <a, b> = 1 - 2 h / d: the lead in Hamming distance the margin asks for.
    lead = max(1, math.ceil(margin * d / 2 - 1e-9))
    n = rng.randint(m.var("n", "min"), m.var("n", "max"))
    q = rng.randrange(1 << d)
    best_h = rng.randint(0, d - lead)
    xs = []
    for i in range(n):  # the nearest first, then the others far enough
        h = best_h if i == 0 else rng.randint(best_h + lead, d)
        xs.append(q ^ sum(1 << b for b in rng.sample(range(d), h)))
    rng.shuffle(xs)
    dist = [bin(x ^ q).count("1") for x in xs]
    labels = [rng.choice(m.role("label")) for _ in xs]
    order = sorted(range(n), key=lambda i: dist[i])
    assert n == 1 or dist[order[1]] - dist[order[0]] >= lead
    seq = [m.role("begin")[0]["token"]]
    for x, y in zip(xs, labels):
        seq += [points[x]["token"], y["token"]]
    assert all(points[x]["point"] == x for x in xs)
    seq.append(points[q]["token"])
    return seq, m.class_of_name[labels[order[0]]["name"]]


def unit(v):
    r = math.sqrt(sum(a * a for a in v))
    return [a / r for a in v]


def nearest_on_sphere(m, rng):
    # The same layout with points = sphere: every point is the one <point>
    # token, its vector (d numbers) the position's features, zeros elsewhere.
    # Each x_i = c_i q + sqrt(1 - c_i^2) u_i with u_i a unit vector orthogonal
    # to q, so <q, x_i> = c_i: the nearest leads the others by the margin
    # (plus slack for float32 rounding).
    d = m.layout["features"]["per_position"]
    margin = m.cfg["task"]["margin"]
    n = rng.randint(m.var("n", "min"), m.var("n", "max"))
    q = unit([rng.gauss(0, 1) for _ in range(d)])
    best = rng.uniform(-1 + margin + 0.01, 1)
    cs = [best] + [rng.uniform(-1, best - margin - 0.002) for _ in range(n - 1)]
    rng.shuffle(cs)
    xs = []
    for c in cs:
        u = [rng.gauss(0, 1) for _ in range(d)]
        t = sum(a * b for a, b in zip(u, q))
        u = unit([a - t * b for a, b in zip(u, q)])
        xs.append([c * a + math.sqrt(max(0.0, 1 - c * c)) * b for a, b in zip(q, u)])
    labels = [rng.choice(m.role("label")) for _ in xs]
    point = m.role("point")[0]["token"]
    seq, rows = [m.role("begin")[0]["token"]], {}
    for x, y in zip(xs, labels):
        rows[len(seq)] = x
        seq += [point, y["token"]]
    rows[len(seq)] = q
    seq.append(point)
    return seq, m.class_of_name[labels[cs.index(best)]["name"]], rows


def write_sidecar(decisions, name, d, inputs):
    """The decision file's binary sidecar as docs/export.md defines it: per
    input line, uint32 count, then count x (uint32 position, d float32),
    little-endian; and the '# features:' line that names it."""
    sidecar = os.path.basename(decisions) + ".features"
    with open(decisions + ".features", "wb") as f:
        for rows in inputs:
            f.write(struct.pack("<I", len(rows)))
            for pos in sorted(rows):
                f.write(struct.pack(f"<I{d}f", pos, *rows[pos]))
    return (f"# features: F {name}={d}; binary, per input line in order: uint32 count, then "
            f"count x (uint32 position, F float32), little-endian; sidecar: {sidecar}\n")


# The layouts this script understands, by their pattern.
BUILDERS = {
    "s_1 .. s_n IDX_p": lambda kind: index_lookup,
    "p_1 .. p_n ?q": lambda kind: associative_recall,
    "b_1 .. b_n <eos>": lambda kind: bounded_dyck,
    "x_1 .. x_n y_1 .. y_n <out>": lambda kind: pair_predicate(kind == "string_equality"),
    "<bos> x_1 y_1 .. x_n y_n x_q": lambda kind: nearest_neighbour,
}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}")
    return r.stdout


def main():
    hw, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    onnx_dir = os.path.join(src, "tests", "onnx")
    probe = subprocess.run(["node", "-e", "require('onnxruntime-node')"],
                           cwd=onnx_dir, capture_output=True)
    if probe.returncode != 0:
        print("SKIP: node or onnxruntime-node is missing (scripts/setup.sh installs them)")
        return SKIP
    rng = random.Random(21)
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for spec in sorted(glob.glob(os.path.join(src, "specs", "*.task"))):
            out = os.path.join(tmp, os.path.basename(spec)[:-5])
            run([hw, "compile", spec, "-N", str(N), "-o", out])
            run([hw, "compile", spec, "-N", str(N), "--emit", "onnx", "-o", out])
            for path in sorted(glob.glob(os.path.join(out, "*.json"))):
                cfg = json.load(open(path))
                m = Model(cfg)
                # Continuous inputs (points = sphere) go to the sidecar.
                sphere = "features" in m.layout
                build = nearest_on_sphere if sphere else \
                    BUILDERS[m.layout["pattern"]](cfg["task"]["kind"])
                name = cfg["name"]
                lines, features = [], []
                for _ in range(INPUTS):
                    seq, answer, *rows = build(m, rng)
                    assert len(seq) <= cfg["vocabulary"]["max_sequence_length"]
                    lines.append(f"{name} {answer} {answer} " + " ".join(map(str, seq)))
                    features += rows
                decisions = path[:-5] + ".inputs.txt"
                with open(decisions, "w") as f:
                    f.write("# built from the JSON alone (tests/export/describe_inputs.py)\n")
                    if sphere:
                        f.write(write_sidecar(decisions, name,
                                              m.layout["features"]["per_position"], features))
                    f.write("\n".join(lines) + "\n")
                print(run(["node", os.path.join(onnx_dir, "replay.js"),
                           path[:-5] + ".onnx", decisions, name], cwd=onnx_dir).strip())
                checked += 1
    print(f"describe_inputs: {checked} models answered inputs built from their JSON")
    return 0 if checked else 1


if __name__ == "__main__":
    sys.exit(main())
