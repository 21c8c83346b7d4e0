"""GradientStats: per-layer gradient flow, checked against the same numbers computed by
hand from the model between steps."""

import csv
import json
import warnings

import numpy as np
import pytest

from strided.data import DataLoader
from strided.nn.activation import ReLU, Sigmoid
from strided.nn.containers import Sequential
from strided.nn.linear import Linear
from strided.optim import SGD
from strided.train import GradientStats, GradientWarning, LambdaCallback, Trainer


def _data(n=64, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, k, n)


def _fit(model, callbacks, epochs=1, lr=0.1, batch=16):
    x, y = _data()
    tr = Trainer(
        model, SGD(model.parameters(), lr=lr), callbacks=callbacks, progress=False, verbose=False
    )
    tr.fit(DataLoader((x, y), batch_size=batch), epochs=epochs)
    return tr


def test_norms_and_update_ratio_equal_the_ones_computed_by_hand(tmp_path):
    model = Sequential(Linear(6, 5), Sigmoid(), Linear(5, 3))
    seen = []

    def by_hand(trainer, logs):  # runs after GradientStats (order 40 < 50)
        w = model[0].weight
        seen.append(
            (
                np.linalg.norm(np.concatenate([w.grad.data.ravel(), model[0].bias.grad.data])),
                np.concatenate([w.data.ravel(), model[0].bias.data]).copy(),
            )
        )

    stats = GradientStats(tmp_path)
    _fit(model, [stats, LambdaCallback(on_batch_end=by_hand)])
    rows = [r for r in stats.records if r["layer"] == "0"]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    for r, (g, w) in zip(rows, seen, strict=True):
        assert r["grad_norm"] == pytest.approx(g, rel=1e-5)
        assert r["weight_norm"] == pytest.approx(np.linalg.norm(w), rel=1e-5)
    # the update of step 3 is the difference between the weights after steps 2 and 3
    delta = np.linalg.norm(seen[2][1] - seen[1][1]) / np.linalg.norm(seen[2][1])
    assert rows[2]["update_ratio"] == pytest.approx(delta, rel=1e-4)
    sig = [r for r in stats.records if r["layer"] == "1"]
    assert len(sig) == 4 and 0 <= sig[0]["saturated_fraction"] <= 1
    assert 0 < sig[0]["act_mean"] < 1 and sig[0]["act_std"] > 0
    assert stats.layer_names() == ["0", "2"]
    # the files
    with open(tmp_path / "grad_stats.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(stats.records) == 4 * 3
    assert float(table[0]["grad_norm"]) == pytest.approx(rows[0]["grad_norm"])
    saved = json.loads((tmp_path / "grad_stats.json").read_text())
    assert saved["layers"] == ["0", "2"] and len(saved["records"]) == 12


def test_dead_relus_are_counted_per_unit():
    model = Sequential(Linear(6, 4), ReLU(), Linear(4, 3))
    model[0].bias.data[:2] = -100.0  # units 0 and 1 never fire
    model[0].bias.data[2:] = 100.0
    stats = GradientStats(max_steps=2)
    _fit(model, [stats])
    relu = [r for r in stats.records if r["layer"] == "1"]
    assert [r["step"] for r in relu] == [1, 2]
    assert relu[0]["dead_fraction"] == pytest.approx(0.5)


def test_every_records_every_kth_step():
    stats = GradientStats(every=3)
    _fit(Sequential(Linear(6, 3)), [stats], epochs=2)  # 8 steps
    assert sorted({r["step"] for r in stats.records}) == [3, 6]
    assert all(r["update_ratio"] is not None for r in stats.records)


def test_vanishing_and_exploding_gradients_warn_naming_the_layer():
    model = Sequential(Linear(6, 5), Sigmoid(), Linear(5, 3))
    stats = GradientStats(low=1e3, high=1e4)  # every real gradient is "vanishing" here
    with pytest.warns(
        GradientWarning,
        match=r"layer 0: gradient norm .* below 1000 "
        r"\(vanishing",
    ):
        _fit(model, [stats])
    assert len(stats.warnings) == 2  # once per layer, not once per step
    stats = GradientStats(low=0.0, high=1e-9)
    with pytest.warns(GradientWarning, match=r"layer 2: .*above 1e-09 \(exploding"):
        _fit(Sequential(Linear(6, 5), Sigmoid(), Linear(5, 3)), [stats])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fit(Sequential(Linear(6, 3)), [GradientStats()])  # default bounds: no warning


def test_bad_arguments():
    with pytest.raises(ValueError, match="every"):
        GradientStats(every=0)
    with pytest.raises(ValueError, match="low < high"):
        GradientStats(low=1.0, high=0.5)
    with pytest.raises(ValueError, match="recorded layers"):
        GradientStats().series("nope")
