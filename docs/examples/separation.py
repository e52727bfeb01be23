#!/usr/bin/env python3
"""A separation, in a notebook's steps: string equality needs n bits of RNN
state, but a two-layer Transformer of width O(log n) solves it.

    PYTHONPATH=build/python /usr/bin/python3 docs/examples/separation.py --out out/

Steps: compile the two-layer Transformer, check it on generated inputs
against the task's ground truth, sweep N for every model of the spec, plot
size against N (PNG, matplotlib's Agg backend), and load the saved model
file into PyTorch. ctest runs it with small N (python.example_separation).
Exit 77 if numpy, matplotlib or torch is missing.
"""
import argparse
import os
import sys

try:
    import matplotlib
    import numpy as np
    import torch

    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt
except ImportError as e:
    print(f"SKIP: {e} (Debian: python3-numpy python3-matplotlib python3-torch)")
    sys.exit(77)

import handwire

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = os.path.join(ROOT, "specs", "string_equality.task")

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--N", type=int, default=1024, help="n for the single model")
parser.add_argument("--lengths", default="16,64,256,1024,4096", help="N of the sweep")
parser.add_argument("--samples", type=int, default=200, help="inputs per sweep point")
parser.add_argument("--out", default="out", help="directory for the PNG and model files")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)

# --- 1. Compile one model and look at it -----------------------------------
# The spec has three models: "transformer" (two layers), "one_layer", "rnn".
m = handwire.compile(SPEC, N=args.N, model="transformer")
print(m)
print(m.report().splitlines()[2])  # the model's line of `handwire inspect`
print("input:", m.input_layout["pattern"], "| classes:", [c["name"] for c in m.classes])

# --- 2. Decisions against the task's ground truth ---------------------------
# generate() gives inputs and their ground truth (half of them near misses:
# exactly one differing position); eval() runs the JIT-compiled forward pass.
g = m.generate(1000, seed=7)
decisions = m.eval(g["inputs"])
exact = int((decisions == g["truth"]).sum())
print(f"{exact} of {len(decisions)} generated inputs decided right")
assert exact == len(decisions)
record = m.evaluate(n=1000)  # the same harness as `handwire eval`
print(f"evaluate: accuracy {record['accuracy']:.4f}, min margin {record['min_margin']:.3g}")

# --- 3. The separation: size against N for every model ----------------------
lengths = [int(n) for n in args.lengths.split(",")]
rows = handwire.sweep(SPEC, lengths=lengths, samples=args.samples)
fig, ax = plt.subplots(figsize=(6, 4))
for name in dict.fromkeys(r["model"] for r in rows):
    mine = [r for r in rows if r["model"] == name and r["status"] == "ok"]
    n = [r["N"] for r in mine]
    line, = ax.plot(n, [r["plot_bits"] for r in mine], "o-", label=name)
    bound = [(r["N"], r["bound_bits"]) for r in mine if r["bound_bits"]]
    if bound:  # the lower bound that applies to this architecture, dashed
        ax.plot(*zip(*bound), "--", color=line.get_color(), label=f"{name}: lower bound")
    print(f"{name:12s} " + " ".join(f"N={r['N']}: {r['plot_bits']:.0f} bits" for r in mine))
ax.set_xscale("log", base=2)
ax.set_yscale("log", base=2)
ax.set_xlabel("N (string length n)")
ax.set_ylabel("size in bits (what the bound counts)")
ax.set_title("string equality: Transformer O(log n) vs RNN n bits")
ax.legend(fontsize=7)
png = os.path.join(args.out, "separation.png")
fig.savefig(png, dpi=100, bbox_inches="tight")
print("wrote", png)
assert all(r["mismatches"] == 0 for r in rows)

# --- 4. Into PyTorch ---------------------------------------------------------
# Save the model files, load them back, and run the same decisions as a
# torch.nn.Module (the forward pass of docs/export.md).
paths = m.save(args.out)
config = [p for p in paths if p.endswith(".json")][0]
module = handwire.load(config).to_torch()
assert isinstance(module, torch.nn.Module)
subset = g["inputs"][:100]
same = np.array_equal(module.decisions(subset).numpy(), decisions[:100])
print(f"PyTorch ({torch.__version__}) on {config}: same decisions on 100 inputs: {same}")
assert same
