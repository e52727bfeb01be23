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
import importlib.util
import os
import re
import struct
import sys

import torch

# The forward pass itself is the package's (python/handwire/torch_module.py),
# loaded by path: it needs torch only, not the compiled extension.
_TORCH_MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                             "python", "handwire", "torch_module.py")
_spec = importlib.util.spec_from_file_location("handwire_torch_module", _TORCH_MODULE)
torch_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_module)

load_safetensors = torch_module.load_safetensors
decide = torch_module.decide
# HandwireModel(config_path): the model of NAME.json (+ NAME.safetensors).
HandwireModel = torch_module.HandwireModule.from_files


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
