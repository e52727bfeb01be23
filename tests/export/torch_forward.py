#!/usr/bin/env python3
"""Load a handwire model (NAME.json + NAME.safetensors) in PyTorch, run its
forward pass as docs/export.md defines it, and replay the inputs written by
`handwire eval --write-decisions FILE`, comparing decisions. A model with
continuous inputs (config "features" = F) reads them from the binary sidecar
named by FILE's '# features:' line (docs/export.md).

Usage:
  torch_forward.py DECISIONS MODEL.json [MODEL.json ...] [--check-onnx FILE.onnx ...]

Needs only torch (Debian: python3-torch) and, for --check-onnx, onnx
(python3-onnx). Prints one summary line per model; exit 0 if every decision
matches, 1 on a mismatch, 2 on a usage or loading error.
"""
import json
import os
import re
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "I32": torch.int32}


def load_safetensors(path):
    """The safetensors format by hand: u64 header size, JSON header, data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = bytearray(data[base + begin : base + end])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]) if buf else \
            torch.zeros(0, dtype=DTYPES[info["dtype"]])
        tensors[name] = t.reshape(info["shape"])
    return tensors


class HandwireModel:
    def __init__(self, config_path):
        with open(config_path) as f:
            self.cfg = json.load(f)
        if self.cfg.get("format") != "handwire-model":
            raise ValueError(f"{config_path}: not a handwire model config")
        weights = os.path.join(os.path.dirname(config_path), self.cfg["weights"])
        self.dtype = torch.float64 if self.cfg["precision"] == "f64" else torch.float32
        self.w = {k: (v.to(self.dtype) if v.is_floating_point() else v.long())
                  for k, v in load_safetensors(weights).items()}
        self.name = self.cfg["name"]
        self._memo = {}  # CSR triples and dense tables, built once, not per input
        if self.cfg["architecture"] == "rnn":
            self.recurrent = self._csr("rnn.recurrent")
            self.input = self._csr("rnn.input")
            self.head = [self._csr(f"rnn.head.{k}.weight")
                         for k in range(self.cfg.get("head_layers", 0))]

    def _csr(self, prefix):
        """CSR -> (row, column, value) of each non-zero (Debian's torch has no
        MKL, so sparse @ dense is unavailable; index_add_ does the sums)."""
        if ("csr", prefix) not in self._memo:
            self._memo[("csr", prefix)] = self._csr_triples(prefix)
        return self._memo[("csr", prefix)]

    def _csr_triples(self, prefix):
        offsets = self.w[prefix + ".row_offsets"]
        rows = torch.repeat_interleave(torch.arange(offsets.numel() - 1), offsets.diff())
        return rows, self.w[prefix + ".columns"], self.w[prefix + ".values"]

    def _times_t(self, x, name):
        """x @ W.T for a Transformer matrix stored dense or as CSR."""
        if name in self.w:
            return x @ self.w[name].T
        r, c, v = self._csr(name)
        rows = self.w[name + ".row_offsets"].numel() - 1
        out = torch.zeros(*x.shape[:-1], rows, dtype=x.dtype)
        return out.index_add_(x.dim() - 1, r, x[..., c] * v)

    def _table(self, name):
        """An embedding table, dense."""
        if name in self.w:
            return self.w[name]
        if ("table", name) in self._memo:
            return self._memo[("table", name)]
        r, c, v = self._csr(name)
        rows = self.w[name + ".row_offsets"].numel() - 1
        t = torch.zeros(rows, self.cfg["width"], dtype=self.dtype)
        t[r, c] = v
        self._memo[("table", name)] = t
        return t

    @torch.no_grad()
    def logits(self, tokens, features=None):
        """features: a (len(tokens), F) float32 tensor for a model with
        continuous inputs (cfg "features" = F), else None."""
        w = self.w
        if self.cfg["architecture"] == "rnn":
            # h_t = relu(W h_{t-1} + bias + U[:, w_t]);  logits = R z + b
            (wr, wc, wv), (ur, uc, uv) = self.recurrent, self.input
            h = w["rnn.initial"]
            for t in tokens:
                wh = torch.zeros_like(h).index_add_(0, wr, wv * h[wc])  # W h
                hit = uc == t                                             # U[:, t]
                u = torch.zeros_like(h).index_add_(0, ur[hit], uv[hit])
                h = torch.relu(wh + w["rnn.bias"] + u)
            # Read-out head (absent: z = h_M): z = relu(W_k z + b_k), W_k CSR.
            for k, (r, c, v) in enumerate(self.head):
                b = w[f"rnn.head.{k}.bias"]
                h = torch.relu(torch.zeros_like(b).index_add_(0, r, v * h[c]) + b)
            return w["readout.weight"] @ h + w["readout.bias"]
        x = self._table("embed.token")[tokens] + self._table("embed.position")[: len(tokens)]
        if features is not None:  # x_i += embed.feature f_i, after token + position
            x = x + self._times_t(features.to(self.dtype), "embed.feature")
        layers = self.cfg["layers"]
        if len(layers) > 1:
            causal = torch.ones(len(tokens), len(tokens)).triu(1).bool()
        for l, layer in enumerate(layers):
            # The read-out sees only the last row, and the last row attends to
            # every position: the last layer needs neither other rows nor a mask
            # (as in the reference evaluator and the ONNX graph).
            last = l == len(layers) - 1
            rows = x[-1:] if last else x
            upd = torch.zeros_like(rows)
            for h in range(layer["heads"]):
                p = f"layers.{l}.heads.{h}."
                q = self._times_t(rows, p + "query")
                k, v = (self._times_t(x, p + m) for m in ("key", "value"))
                s = q @ k.T  # no 1/sqrt(d): the scale is in Q
                if not last:
                    s = s.masked_fill(causal, float("-inf"))
                upd += self._times_t(torch.softmax(s, -1) @ v, p + "output")
            x = rows + upd
            if layer["mlp"]:
                p = f"layers.{l}.mlp."
                hidden = torch.relu(self._times_t(x, p + "in") + w[p + "in_bias"])
                x = x + self._times_t(hidden, p + "out") + w[p + "out_bias"]
        return w["readout.weight"] @ x[-1] + w["readout.bias"]


def decide(logits):
    """handwire's rule: argmax; a tied maximum is no decision (-1)."""
    best = int(torch.argmax(logits))
    return -1 if int((logits == logits[best]).sum()) > 1 else best


def read_cases(decisions, name):
    """The inputs of model `name` in a decisions file: (line, record, decision,
    tokens), record being the line's 0-based index among all input lines (its
    place in the features sidecar); the model of every input line; and the
    '# features:' line as (dims: model -> F, sidecar path), or None."""
    cases, models, features = [], [], None
    with open(decisions) as f:
        for i, line in enumerate(f, 1):
            if line.startswith("# features: "):
                features = parse_feature_line(decisions, i, line.rstrip("\n"))
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            models.append(fields[0])
            if fields[0] != name:
                continue
            cases.append((i, len(models) - 1, int(fields[1]), [int(t) for t in fields[3:]]))
    return cases, models, features


FEATURE_LINE = re.compile(r"^# features: F((?: [^ =;]+=\d+)*);.*; sidecar: (.+)$")


def parse_feature_line(decisions, line_no, line):
    """'# features: F MODEL=F ...; LAYOUT; sidecar: NAME' (docs/export.md);
    NAME is relative to the decisions file's directory."""
    m = FEATURE_LINE.match(line)
    if not m:
        raise ValueError(f"{decisions}:{line_no}: malformed '# features:' line")
    dims = {}
    for kv in m.group(1).split():
        model, _, f = kv.rpartition("=")
        dims[model] = int(f)
    return dims, os.path.join(os.path.dirname(decisions), m.group(2))


class FeatureReader:
    """The features sidecar, read front to back (never whole: it can be
    gigabytes): per input line, uint32 count, then count x (uint32 position,
    F float32), little-endian; rows not listed are zero."""

    def __init__(self, path, dims, models):
        self.path, self.dims, self.models = path, dims, models
        self.f = open(path, "rb")
        self.record = 0  # the next record in the file

    def _bytes(self, n):
        b = self.f.read(n)
        if len(b) != n:
            raise ValueError(f"{self.path}: truncated at record {self.record}")
        return b

    def _dim(self, record):
        if self.models[record] not in self.dims:
            raise ValueError(f"{self.path}: no F for model '{self.models[record]}'")
        return self.dims[self.models[record]]

    def read(self, record, length, F):
        """Record `record`'s features as a dense (length, F) float32 tensor;
        records are read in increasing order."""
        while self.record < record:  # another model's input: skip it
            (count,) = struct.unpack("<I", self._bytes(4))
            self.f.seek(4 * count * (1 + self._dim(self.record)), os.SEEK_CUR)
            self.record += 1
        if self._dim(record) != F:
            raise ValueError(f"{self.path}: record {record} has F = {self._dim(record)}, the model takes {F}")
        (count,) = struct.unpack("<I", self._bytes(4))
        if count > length:
            raise ValueError(f"{self.path}: record {record} lists {count} rows for {length} positions")
        out = torch.zeros(length, F, dtype=torch.float32)
        for _ in range(count):
            (pos,) = struct.unpack("<I", self._bytes(4))
            if pos >= length:
                raise ValueError(f"{self.path}: record {record}: position {pos} of {length}")
            out[pos] = torch.frombuffer(bytearray(self._bytes(4 * F)), dtype=torch.float32)
        self.record += 1
        return out


def replay(config, decisions):
    """Replays the inputs of one model; returns the number of mismatches, or
    None if the model cannot be loaded or has no inputs."""
    try:
        model = HandwireModel(config)
    except (OSError, ValueError, KeyError) as e:
        print(f"torch_forward.py: cannot load {config}: {e}", file=sys.stderr)
        return None
    try:
        cases, models, features = read_cases(decisions, model.name)
    except ValueError as e:
        print(f"torch_forward.py: {e}", file=sys.stderr)
        return None
    if not cases:
        print(f"torch_forward.py: {decisions}: no inputs for model '{model.name}'",
              file=sys.stderr)
        return None
    F = model.cfg.get("features", 0)
    reader = None
    if F:
        if features is None or features[0].get(model.name) != F:
            print(f"torch_forward.py: {model.name} takes {F} features per position, but "
                  f"{decisions} gives none for it (no matching '# features:' line)",
                  file=sys.stderr)
            return None
        try:
            reader = FeatureReader(features[1], features[0], models)
        except OSError as e:
            print(f"torch_forward.py: cannot read the features sidecar: {e}", file=sys.stderr)
            return None
    mismatches = 0
    for line, record, want, tokens in cases:
        try:
            f = reader.read(record, len(tokens), F) if reader else None
        except (OSError, ValueError) as e:
            print(f"torch_forward.py: {e}", file=sys.stderr)
            return None
        logits = model.logits(tokens, f)
        got = decide(logits)
        if got != want:
            if mismatches < 5:
                print(f"  mismatch at {decisions}:{line}: handwire {want}, torch {got}, "
                      f"logits {logits.tolist()}")
            mismatches += 1
    print(f"{model.name}: {len(cases)} inputs, {len(cases) - mismatches} same decisions, "
          f"{mismatches} different (torch {torch.__version__})")
    return mismatches


def check_onnx_file(onnx, path):
    """python3-onnx's full check of the file at `path`, in the path form that
    finds external data (FILE.onnx.data) next to it and works beyond 2 GB.
    check_model(path, full_check=True) would write the inferred model over
    the file; the inference writes to a scratch file instead."""
    import tempfile

    model = onnx.load(path, load_external_data=False)
    onnx.checker.check_model(path)  # raises if invalid
    with tempfile.TemporaryDirectory() as scratch:
        onnx.shape_inference.infer_shapes_path(
            path, os.path.join(scratch, "inferred.onnx"), check_type=True, strict_mode=True)
    external = any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    print(f"{os.path.basename(path)}: onnx {onnx.__version__} checker (full) accepts "
          f"it, opset {model.opset_import[0].version}" + (", external data" if external else ""))


def main(argv):
    if "--check-onnx" in argv:
        cut = argv.index("--check-onnx")
        argv, onnx_files = argv[:cut], argv[cut + 1 :]
    else:
        onnx_files = []
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if onnx_files:
        import onnx

        for path in onnx_files:
            check_onnx_file(onnx, path)
    status = 0
    for config in argv[1:]:
        result = replay(config, argv[0])
        if result is None:
            return 2
        if result:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
