"""handwire: hand-wired Transformers and RNNs compiled from ``.task`` specs.

The same compiler, JIT and evaluation harness as the ``handwire`` command
line (docs/python.md)::

    import handwire
    m = handwire.compile("specs/string_equality.task", N=1024, model="transformer")
    g = m.generate(1000, seed=7)            # inputs and their ground truth
    assert (m.eval(g["inputs"]) == g["truth"]).all()
    print(m.evaluate(n=1000)["accuracy"])   # the generated-input harness
    t = m.to_torch()                        # a torch.nn.Module, same decisions

Errors: ``SpecError`` (a spec, override or model file the compiler rejects;
the message is the CLI's ``file:line:col: error: ...``), ``RefusedError`` (a
model whose certificate cannot hold), both subclasses of ``Error``;
``ValueError`` for bad arguments and inputs.
"""
from . import _handwire
from ._handwire import Error, InternalError, Model, RefusedError, SpecError, set_threads

__all__ = ["compile", "load", "sweep", "Model", "Error", "SpecError", "RefusedError",
           "InternalError", "set_threads"]
__version__ = "0.1.0"

_GiB = 1 << 30


def _override_text(value):
    """A Python value as the .task language spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _overrides(overrides):
    """{"block.field": value} (or ["block.field=value", ...]) as -D strings."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={_override_text(v)}" for k, v in overrides.items()]
    if isinstance(overrides, str):
        raise TypeError("overrides: a dict {'block.field': value} or a list of "
                        "'block.field=value' strings, not a string")
    return [str(o) for o in overrides]


def compile(spec, N=None, model=None, overrides=None, precision=None,
            allow_uncertified=False, memory_limit=8 * _GiB):
    """Compiles one model of a ``.task`` spec: parse, sema, construct, verify,
    certify (the forward pass is JIT-compiled on first use).

    spec: path of the ``.task`` file. N: ``task.max_length`` (as ``-N``).
    model: the model's name in the spec (default: its first model).
    overrides: ``{"block.field": value}``, as ``-D block.field=value``
    (e.g. ``{"model.transformer.scale": 1}``). precision: the storage
    precision the model is certified for and runs in (``"f32"``, ``"f64"``,
    ``"f16"``, ``"bf16"``; default: the spec's). allow_uncertified: build a
    model whose certificate fails (for experiments). memory_limit: bytes the
    weights may take.

    Raises SpecError (located diagnostics, as the CLI prints them),
    RefusedError (the certificate cannot hold), ValueError (no such model).
    """
    ovr = _overrides(overrides)
    if N is not None:
        ovr.append(f"task.max_length={int(N)}")
    return _handwire.compile(str(spec), ovr, model or "", precision,
                             bool(allow_uncertified), int(memory_limit))


def load(path, memory_limit=8 * _GiB):
    """A compiled model file (``NAME.json``, its ``.safetensors`` next to it),
    read and verified as ``handwire eval NAME.json`` reads it. Raises Error
    naming the file and the field at fault."""
    return _handwire.load(str(path), int(memory_limit))


# The sweep CSVs' integer columns (runtime/sweep/SweepTable.cpp): their JSON
# rows carry every number as a float; the records give these as ints.
_SWEEP_INTEGER_COLUMNS = ("layers", "heads", "N", "width", "code_dim", "parameters",
                          "precision_bits", "size_bits", "threads", "samples",
                          "adversarial", "mismatches")


def _sweep_record(row, columns):
    """A row in the CSV's column order, integer columns as ints."""
    for key in _SWEEP_INTEGER_COLUMNS:
        if isinstance(row.get(key), float):
            row[key] = int(row[key])
    return {key: row[key] for key in columns}


def sweep(spec, lengths, samples=200, models=None, overrides=None, seed=None,
          inputs=None, time_budget=10.0, jobs=0, allow_uncertified=False,
          memory_limit=_GiB, as_frame=False):
    """Compiles and evaluates every model of a spec at every N in ``lengths``,
    as ``handwire sweep --lengths`` does; returns one record (dict) per
    (model, N), with the columns of the sweep's results CSV and then of its
    timings CSV (docs/sweep.md): ``model``, ``N``, ``status``, ``width``,
    ``plot_bits``, ``bound_bits``, ``samples``, ``mismatches``,
    ``accuracy``, ..., ``compile_ms``, ``inputs_per_second``.

    samples: inputs per point (at most; ``time_budget`` seconds of evaluation
    per point, 0: no limit). models: names (default: all). With
    ``as_frame=True`` the records come as a pandas DataFrame (needs pandas).
    """
    rows = _handwire.sweep(str(spec), [int(n) for n in lengths], int(samples),
                           list(models or []), _overrides(overrides), seed, inputs,
                           float(time_budget), int(jobs), bool(allow_uncertified),
                           int(memory_limit))
    columns = _handwire.sweep_columns()
    rows = [_sweep_record(r, columns) for r in rows]
    if not as_frame:
        return rows
    try:
        import pandas
    except ImportError as e:
        raise ImportError("handwire.sweep(as_frame=True) needs pandas; without it, "
                          "use the list of records (as_frame=False)") from e
    return pandas.DataFrame.from_records(rows)


def _to_torch(self):
    """This model as a ``torch.nn.Module`` (``handwire.torch_module``): the
    forward pass of docs/export.md over a copy of the weights, giving the
    same decisions. Needs torch."""
    from . import torch_module

    return torch_module.from_model(self)


Model.to_torch = _to_torch
Model.__doc__ = """A compiled, certified model: one model of a spec
(handwire.compile) or a model file (handwire.load).

Running it:
  eval(inputs, features=None, threads=0, precision=None, return_logits=False)
      decisions (int64 array; -1 for a tie) of a batch: a list of token lists
      or a 2-D integer array; features: one [length, F] array per input for
      a model with continuous inputs. With return_logits, (decisions, logits).
  logits(inputs, ...)  float64 array [batch, classes]
  evaluate(n=None, seed=None, inputs=None, threads=0, backend="auto",
           precision=None)
      the generated-input harness (handwire eval): a dict with samples,
      mismatches, accuracy, min_margin, exact, backends, mismatch_examples
  generate(n, seed=None, kind=None)
      the inputs evaluate() runs with that seed and kind (uniform,
      adversarial, mixed; default: the spec's): a dict with inputs, features,
      truth, adversarial
  ground_truth(tokens, features=None)   the task semantics' answer
                                        (ValueError if the task defines none)
  to_torch()                            a torch.nn.Module with the same decisions
  save(directory, format="weights")     TASK.MODEL.{safetensors,json} or .onnx

Describing it: name, architecture, precision, width, parameters, max_length,
token_count, class_count, feature_dim, task, tokens, classes, input_layout,
config (the model file's JSON), certificate, weights (read-only numpy views
of the tensors, by their file names), report() (what handwire inspect prints).
"""
