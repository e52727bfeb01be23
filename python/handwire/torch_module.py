"""A handwire model's forward pass in PyTorch, as docs/export.md defines it.

The one implementation the package (``Model.to_torch()``), the export
cross-check (``tests/export/torch_forward.py``) and the PyTorch benchmark
(``bench/compare_torch.py``) share. It needs only ``torch`` (Debian:
python3-torch), not the compiled extension, so that those scripts can load it
by path without building the package.

Every architecture: Transformer layers (dense or CSR matrices, continuous
input features), Elman RNN with an optional sparse ReLU read-out head.
Computes in float32 (float64 for an f64 model), on the CPU.
"""
import json
import os
import struct

import torch

DTYPES = {"F32": torch.float32, "I32": torch.int32}


def load_safetensors(path):
    """The safetensors format by hand: u64 header size, JSON header, data.
    Returns {name: tensor}."""
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


def decide(logits):
    """handwire's rule: argmax; a tied maximum (or NaN) is no decision (-1)."""
    if bool(torch.isnan(logits).any()):
        return -1
    best = int(torch.argmax(logits))
    return -1 if int((logits == logits[best]).sum()) > 1 else best


def _buffer_name(tensor_name):
    """Module buffers may not contain dots: layers.0.mlp.in -> layers__0__mlp__in."""
    return tensor_name.replace(".", "__")


class HandwireModule(torch.nn.Module):
    """A handwire model as a ``torch.nn.Module``.

    ``config`` is the model file's JSON config (a dict) and ``tensors`` its
    tensors by their file names (``embed.token``, ``rnn.recurrent.values``,
    ...), registered as buffers (names with ``__`` for ``.``). ``forward``
    takes a batch of token sequences and returns logits ``[batch, classes]``;
    ``decisions`` applies handwire's decision rule. Sequences may differ in
    length: each runs on its own (the models are causal, with no padding
    token).
    """

    def __init__(self, config, tensors):
        super().__init__()
        if config.get("format") != "handwire-model":
            raise ValueError("not a handwire model config (format is not 'handwire-model')")
        self.cfg = config
        self.name = config["name"]
        self.dtype = torch.float64 if config["precision"] == "f64" else torch.float32
        self._names = list(tensors)
        for k, v in tensors.items():
            v = v.to(self.dtype) if v.is_floating_point() else v.long()
            self.register_buffer(_buffer_name(k), v)
        self._memo = {}  # CSR triples and dense tables, built once, not per input

    @classmethod
    def from_files(cls, config_path):
        """Loads NAME.json and the NAME.safetensors it names (next to it)."""
        with open(config_path) as f:
            cfg = json.load(f)
        if cfg.get("format") != "handwire-model":
            raise ValueError(f"{config_path}: not a handwire model config")
        weights = os.path.join(os.path.dirname(config_path), cfg["weights"])
        return cls(cfg, load_safetensors(weights))

    @property
    def w(self):
        """The tensors by their file names."""
        return {k: getattr(self, _buffer_name(k)) for k in self._names}

    def _csr(self, w, prefix):
        """CSR -> (row, column, value) of each non-zero (Debian's torch has no
        MKL, so sparse @ dense is unavailable; index_add_ does the sums)."""
        if ("csr", prefix) not in self._memo:
            offsets = w[prefix + ".row_offsets"]
            rows = torch.repeat_interleave(torch.arange(offsets.numel() - 1), offsets.diff())
            self._memo[("csr", prefix)] = (rows, w[prefix + ".columns"], w[prefix + ".values"])
        return self._memo[("csr", prefix)]

    def _times_t(self, w, x, name):
        """x @ W.T for a Transformer matrix stored dense or as CSR."""
        if name in w:
            return x @ w[name].T
        r, c, v = self._csr(w, name)
        rows = w[name + ".row_offsets"].numel() - 1
        out = torch.zeros(*x.shape[:-1], rows, dtype=x.dtype)
        return out.index_add_(x.dim() - 1, r, x[..., c] * v)

    def _table(self, w, name):
        """An embedding table, dense."""
        if name in w:
            return w[name]
        if ("table", name) not in self._memo:
            r, c, v = self._csr(w, name)
            rows = w[name + ".row_offsets"].numel() - 1
            t = torch.zeros(rows, self.cfg["width"], dtype=self.dtype)
            t[r, c] = v
            self._memo[("table", name)] = t
        return self._memo[("table", name)]

    def _causal_mask(self, length):
        """True above the diagonal; the last length's is kept (inputs of one
        length in a row are the common case: 4M entries at length 2049)."""
        if self._memo.get("mask_length") != length:
            self._memo["mask"] = torch.ones(length, length, dtype=torch.bool).triu(1)
            self._memo["mask_length"] = length
        return self._memo["mask"]

    def _rnn_logits(self, w, tokens):
        # h_t = relu(W h_{t-1} + bias + U[:, w_t]);  logits = R z + b
        (wr, wc, wv), (ur, uc, uv) = self._csr(w, "rnn.recurrent"), self._csr(w, "rnn.input")
        h = w["rnn.initial"]
        for t in tokens:
            wh = torch.zeros_like(h).index_add_(0, wr, wv * h[wc])  # W h
            hit = uc == t                                             # U[:, t]
            u = torch.zeros_like(h).index_add_(0, ur[hit], uv[hit])
            h = torch.relu(wh + w["rnn.bias"] + u)
        # Read-out head (absent: z = h_M): z = relu(W_k z + b_k), W_k CSR.
        for k in range(self.cfg.get("head_layers", 0)):
            r, c, v = self._csr(w, f"rnn.head.{k}.weight")
            b = w[f"rnn.head.{k}.bias"]
            h = torch.relu(torch.zeros_like(b).index_add_(0, r, v * h[c]) + b)
        return w["readout.weight"] @ h + w["readout.bias"]

    def _transformer_logits(self, w, tokens, features):
        tokens = torch.as_tensor(tokens, dtype=torch.long)
        x = self._table(w, "embed.token")[tokens] + \
            self._table(w, "embed.position")[: len(tokens)]
        if features is not None:  # x_i += embed.feature f_i, after token + position
            x = x + self._times_t(w, torch.as_tensor(features).to(self.dtype), "embed.feature")
        layers = self.cfg["layers"]
        if len(layers) > 1:
            causal = self._causal_mask(len(tokens))
        for l, layer in enumerate(layers):
            # The read-out sees only the last row, and the last row attends to
            # every position: the last layer needs neither other rows nor a mask
            # (as in the reference evaluator and the ONNX graph).
            last = l == len(layers) - 1
            rows = x[-1:] if last else x
            upd = torch.zeros_like(rows)
            for h in range(layer["heads"]):
                p = f"layers.{l}.heads.{h}."
                q = self._times_t(w, rows, p + "query")
                k, v = (self._times_t(w, x, p + m) for m in ("key", "value"))
                s = q @ k.T  # no 1/sqrt(d): the scale is in Q
                if not last:
                    s = s.masked_fill(causal, float("-inf"))
                upd += self._times_t(w, torch.softmax(s, -1) @ v, p + "output")
            x = rows + upd
            if layer["mlp"]:
                p = f"layers.{l}.mlp."
                hidden = torch.relu(self._times_t(w, x, p + "in") + w[p + "in_bias"])
                x = x + self._times_t(w, hidden, p + "out") + w[p + "out_bias"]
        return w["readout.weight"] @ x[-1] + w["readout.bias"]

    @torch.no_grad()
    def logits(self, tokens, features=None):
        """One input's logits [classes]. ``features``: a (len(tokens), F)
        float tensor for a model with continuous inputs (config "features" =
        F), else None."""
        if self.cfg["architecture"] == "rnn":
            return self._rnn_logits(self.w, [int(t) for t in tokens])
        return self._transformer_logits(self.w, tokens, features)

    def forward(self, inputs, features=None):
        """Logits [batch, classes] of a batch: a list of token sequences or
        a 2-D integer tensor; ``features``: None, or one (length, F) tensor
        per input."""
        rows = [self.logits(t, None if features is None else features[i])
                for i, t in enumerate(inputs)]
        if not rows:
            return torch.zeros(0, len(self.cfg["classes"]), dtype=self.dtype)
        return torch.stack(rows)

    def decisions(self, inputs, features=None):
        """handwire's decisions (argmax, -1 for a tie) of a batch, as a
        LongTensor [batch]."""
        return torch.tensor([decide(l) for l in self.forward(inputs, features)],
                            dtype=torch.long)


def from_model(model):
    """A ``HandwireModule`` with a copy of ``model``'s weights
    (``handwire.Model.to_torch``)."""
    import numpy as np

    tensors = {k: torch.from_numpy(np.array(v)) for k, v in model.weights.items()}
    return HandwireModule(model.config, tensors)
