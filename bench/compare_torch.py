#!/usr/bin/env python3
"""PyTorch's side of bench/compare: loads MODEL.json + MODEL.safetensors with
tests/export/torch_forward.py (PyTorch eager, one thread), replays the inputs
of a decisions file, and times the forward passes alone: one warm-up pass over
the inputs (its decisions are the ones reported; printed as a JSON line at
once), then up to R timed passes while the time spent stays within S seconds;
a last JSON line has everything (CompareJit.cpp's protocol).

Usage: compare_torch.py MODEL.json DECISIONS [--reps R] [--budget S]
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "export"))

import torch  # noqa: E402
from torch_forward import FeatureReader, HandwireModel, decide, read_cases  # noqa: E402


def main(argv):
    def option(name, value):
        if name not in argv:
            return value
        at = argv.index(name)
        value = float(argv[at + 1])
        del argv[at : at + 2]
        return value

    reps = max(0, int(option("--reps", 3)))
    budget = option("--budget", float("inf"))
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    config, decisions_path = argv
    t0 = time.perf_counter()
    model = HandwireModel(config)
    load_ms = 1e3 * (time.perf_counter() - t0)
    records, models, features = read_cases(decisions_path, model.name)
    if not records:
        print(f"compare_torch.py: {decisions_path}: no inputs for '{model.name}'", file=sys.stderr)
        return 2
    # A model with continuous inputs reads them from the decisions' sidecar,
    # before timing (only the forward pass is measured).
    F = features[0].get(model.name, 0) if features else 0
    reader = FeatureReader(features[1], features[0], models) if F > 0 else None
    cases = [(tokens, reader.read(record, len(tokens), F) if reader else None)
             for _, record, _, tokens in records]

    decisions = []

    def run_pass(record):
        start = time.perf_counter()
        for tokens, feats in cases:
            logits = model.logits(tokens, feats)
            if record:
                decisions.append(decide(logits))
        return time.perf_counter() - start

    warmup = run_pass(True)  # also builds the loader's CSR triples and tables
    print(json.dumps({"decisions": decisions, "warmup_seconds": warmup}), flush=True)
    # Another pass only if it fits in the budget, judged by the last one.
    rep_seconds = []
    spent = last = warmup
    while len(rep_seconds) < reps and spent + last <= budget:
        last = run_pass(False)
        spent += last
        rep_seconds.append(last)
    median = sorted(rep_seconds)[len(rep_seconds) // 2] if rep_seconds else warmup
    print(json.dumps({
        "runtime": "pytorch",
        "version": torch.__version__,
        "model": model.name,
        "inputs": len(cases),
        "decisions": decisions,
        "warmup_seconds": warmup,
        "rep_seconds": rep_seconds,
        "seconds_per_input": median / len(cases),
        "load_ms": load_ms,
        "threads": torch.get_num_threads(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
