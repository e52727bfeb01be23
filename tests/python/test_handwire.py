"""The Python package (python/, docs/python.md) against the issue's bar:
string equality compiled at N = 1024 is exact on 1,000 generated inputs, its
PyTorch module agrees on all of them, errors are located, weights are numpy
views, model files load back, sweeps give records.

Run by ctest (python.pytest) with PYTHONPATH=build/python and HANDWIRE_CLI
set to the CLI binary (the tests comparing with the CLI's output skip
without it)."""
import gc
import os
import subprocess

import numpy as np
import pytest

import handwire

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECS = os.path.join(ROOT, "specs")
CLI = os.environ.get("HANDWIRE_CLI")


def spec(name):
    return os.path.join(SPECS, name + ".task")


@pytest.fixture(scope="module")
def equality():
    return handwire.compile(spec("string_equality"), N=1024, model="transformer")


@pytest.fixture(scope="module")
def generated(equality):
    return equality.generate(1000, seed=7)


def test_exact_on_1000_generated_inputs(equality, generated):
    assert equality.name == "transformer" and equality.architecture == "transformer"
    assert len(generated["inputs"]) == 1000
    assert generated["adversarial"].any() and not generated["adversarial"].all()
    decisions = equality.eval(generated["inputs"])
    assert decisions.dtype == np.int64 and decisions.shape == (1000,)
    assert (decisions == generated["truth"]).all()
    # Both answers occur, and the task semantics agree with the generator.
    assert set(np.unique(generated["truth"])) == {0, 1}
    for i in range(0, 1000, 97):
        assert equality.ground_truth(generated["inputs"][i]) == generated["truth"][i]


def test_logits_and_decisions_agree(equality, generated):
    inputs = generated["inputs"][:20]
    decisions, logits = equality.eval(inputs, return_logits=True)
    assert logits.shape == (20, equality.class_count)
    assert (logits.argmax(axis=1) == decisions).all()
    assert np.array_equal(equality.logits(inputs), logits)


def test_torch_module_agrees_on_all_1000(equality, generated):
    torch = pytest.importorskip("torch")
    module = equality.to_torch()
    assert isinstance(module, torch.nn.Module)
    ours = equality.eval(generated["inputs"])
    theirs = module.decisions(generated["inputs"]).numpy()
    assert np.array_equal(ours, theirs)


def test_evaluate_record(equality):
    r = equality.evaluate(n=1000, seed=3)
    assert r["samples"] == 1000 and r["seed"] == 3 and r["inputs"] == "mixed"
    assert r["mismatches"] == 0 and r["accuracy"] == 1.0 and r["exact"]
    assert r["min_margin"] > 0 and r["adversarial"] > 0
    assert r["backends"][0]["name"] == "jit" and r["mismatch_examples"] == []
    both = equality.evaluate(n=50, backend="both")
    assert both["agree"] and both["disagreements"] == 0
    assert [b["name"] for b in both["backends"]] == ["jit", "reference-f32"]


def test_generate_gives_the_inputs_evaluate_runs(equality):
    """An uncertified model's mismatches are the generated inputs its
    decisions get wrong."""
    bad = handwire.compile(spec("index_lookup"), N=256, model="transformer",
                           overrides={"model.transformer.scale": 1},
                           allow_uncertified=True)
    assert not bad.certificate["certified"]
    r = bad.evaluate(n=200, seed=5, inputs="adversarial")
    assert r["mismatches"] > 0 and not r["exact"]
    g = bad.generate(200, seed=5, kind="adversarial")
    wrong = np.flatnonzero(bad.eval(g["inputs"]) != g["truth"])
    assert len(wrong) == r["mismatches"]
    first = r["mismatch_examples"][0]
    assert first["index"] == wrong[0]
    assert first["tokens"] == g["inputs"][wrong[0]].tolist()


def test_inputs_as_2d_array_and_bad_inputs(equality, generated):
    lengths = [len(x) for x in generated["inputs"]]
    same = [i for i, n in enumerate(lengths) if n == lengths[0]][:8]
    batch = np.stack([generated["inputs"][i] for i in same]).astype(np.int64)
    assert batch.ndim == 2
    assert (equality.eval(batch) == generated["truth"][same]).all()
    with pytest.raises(ValueError, match="input 1: token 99 at position 2 is outside the vocabulary"):
        equality.eval([[0, 1, 2], [0, 1, 99]])
    with pytest.raises(ValueError, match="is not a token id"):
        equality.eval([[2**40]])
    with pytest.raises(ValueError, match="for one input, pass"):
        equality.eval([0, 1, 2])
    with pytest.raises(ValueError, match="length 0"):
        equality.eval([[]])
    with pytest.raises(ValueError, match="integers"):
        equality.eval(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError):
        equality.ground_truth([0, 1, 1])  # no <out> token: not an input of the task


def test_spec_error_is_located(tmp_path):
    bad = tmp_path / "bad.task"
    bad.write_text("task string_equality {\n  max_length = -3;\n}\nmodel rnn {}\n")
    with pytest.raises(handwire.SpecError) as e:
        handwire.compile(bad)
    message = str(e.value)
    assert message.startswith(f"{bad}:2:")
    assert ": error: " in message and "^" in message
    assert isinstance(e.value, handwire.Error)
    if CLI:
        cli = subprocess.run([CLI, "inspect", str(bad)], capture_output=True, text=True)
        assert cli.returncode == 1
        assert cli.stderr.strip() == message


def test_refused_and_unknown_model():
    with pytest.raises(handwire.RefusedError) as e:
        handwire.compile(spec("index_lookup"), N=256, model="transformer",
                         overrides={"model.transformer.scale": 1})
    assert isinstance(e.value, handwire.Error)
    # Located at the override, as the CLI locates it.
    assert str(e.value).startswith("<command line>:1:25: error: model 'transformer' "
                                   "cannot be certified")
    with pytest.raises(ValueError, match="no model named 'lstm'.*transformer, rnn"):
        handwire.compile(spec("index_lookup"), N=64, model="lstm")
    with pytest.raises(handwire.SpecError, match="no_such_field"):
        handwire.compile(spec("index_lookup"), N=64, overrides={"task.no_such_field": 1})


def test_weights_are_readonly_views(equality):
    w = equality.weights
    assert {"embed.token", "embed.position", "readout.weight", "readout.bias"} <= set(w)
    a, b = equality.weights["readout.weight"], w["readout.weight"]
    assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    assert not a.flags.owndata and not a.flags.writeable
    assert a.dtype == np.float32 and a.shape == (equality.class_count, equality.width)
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    # A view keeps its model alive.
    m = handwire.compile(spec("index_lookup"), N=64, model="rnn")
    view = m.weights["rnn.recurrent.values"]
    copy = view.copy()
    assert m.weights["rnn.recurrent.columns"].dtype == np.int32
    del m
    gc.collect()
    assert np.array_equal(view, copy)


def test_description(equality):
    tokens = equality.tokens
    assert all({"token", "name", "role"} <= set(t) for t in tokens)
    assert [c["class"] for c in equality.classes] == list(range(equality.class_count))
    assert {"pattern", "length", "variables", "answer"} <= set(equality.input_layout)
    assert equality.config["format"] == "handwire-model"
    assert equality.config["vocabulary"]["tokens"] == tokens
    assert equality.certificate["certified"] is True
    assert equality.task["max_length"] == 1024
    assert "transformer" in repr(equality)


def test_save_and_load(equality, generated, tmp_path):
    paths = equality.save(str(tmp_path))
    config = [p for p in paths if p.endswith(".json")][0]
    assert os.path.basename(config) == "string_equality.transformer.json"
    loaded = handwire.load(config)
    assert loaded.config == equality.config
    assert loaded.source == config
    for name, a in equality.weights.items():
        assert np.array_equal(loaded.weights[name], a)
    inputs = generated["inputs"][:200]
    assert np.array_equal(loaded.eval(inputs), equality.eval(inputs))
    # A model file keeps one precision: its report has no verdicts for others.
    assert "f16 NOT exact" in equality.report() and "f16" not in loaded.report()
    if CLI:
        cli = subprocess.run([CLI, "inspect", config], capture_output=True, text=True)
        assert cli.returncode == 0 and cli.stdout == loaded.report()
        cli = subprocess.run([CLI, "inspect", spec("string_equality"), "-N", "1024",
                              "--model", "transformer"], capture_output=True, text=True)
        assert cli.returncode == 0 and cli.stdout == equality.report()
    with pytest.raises(handwire.Error, match="no_such.json"):
        handwire.load(str(tmp_path / "no_such.json"))


def test_rnn_and_continuous_inputs_in_torch():
    torch = pytest.importorskip("torch")
    rnn = handwire.compile(spec("index_lookup"), N=64, model="rnn")
    g = rnn.generate(40, seed=2)
    assert (rnn.eval(g["inputs"]) == g["truth"]).all()
    assert np.array_equal(rnn.to_torch().decisions(g["inputs"]).numpy(), g["truth"])
    sphere = handwire.compile(spec("nearest_neighbour_sphere"), N=64)
    assert sphere.feature_dim == 16
    g = sphere.generate(40, seed=2)
    assert g["features"][0].shape == (len(g["inputs"][0]), 16)
    assert (sphere.eval(g["inputs"], features=g["features"]) == g["truth"]).all()
    assert sphere.ground_truth(g["inputs"][0], g["features"][0]) == g["truth"][0]
    feats = [torch.from_numpy(f) for f in g["features"]]
    assert np.array_equal(sphere.to_torch().decisions(g["inputs"], feats).numpy(), g["truth"])
    with pytest.raises(ValueError, match="features of input 0"):
        sphere.eval(g["inputs"][:1], features=[np.zeros((1, 16))])


def test_sweep_records():
    rows = handwire.sweep(spec("index_lookup"), lengths=[32, 16], samples=20)
    assert [(r["model"], r["N"]) for r in rows] == [
        ("transformer", 16), ("rnn", 16), ("transformer", 32), ("rnn", 32)]
    for r in rows:
        assert list(r)[:6] == ["task", "model", "architecture", "layers", "heads", "N"]
        assert r["status"] == "ok" and r["samples"] == 20 and r["mismatches"] == 0
        for key in handwire._SWEEP_INTEGER_COLUMNS:  # the CSV's names, as ints
            assert key in r and (r[key] is None or isinstance(r[key], int)), key
        assert isinstance(r["accuracy"], float) and isinstance(r["plot_bits"], float)
        assert r["compile_ms"] > 0 and r["threads"] >= 1  # from the timings CSV
        assert r["task"] == "index_lookup" and r["width"] > 0
    rnn = [r for r in rows if r["model"] == "rnn"]
    assert rnn[1]["plot_bits"] == 2 * rnn[0]["plot_bits"]  # state grows like N
    only = handwire.sweep(spec("index_lookup"), lengths=[16], samples=5, models=["rnn"])
    assert [r["model"] for r in only] == ["rnn"]
    with pytest.raises(ValueError, match="max_length"):
        handwire.sweep(spec("index_lookup"), lengths=[16], overrides={"task.max_length": 8})
    with pytest.raises(ValueError, match="no model named"):
        handwire.sweep(spec("index_lookup"), lengths=[16], models=["lstm"])
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            handwire.sweep(spec("index_lookup"), lengths=[16], samples=5, as_frame=True)
