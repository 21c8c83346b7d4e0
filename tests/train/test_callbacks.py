"""Callbacks: early stopping (Algorithm 7.1), checkpoints, learning curves; History."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

import strided
from strided.data import DataLoader
from strided.io import load_model
from strided.nn import Flatten, Linear, ReLU, Sequential
from strided.optim import SGD
from strided.train import (
    Callback,
    Checkpoint,
    EarlyStopping,
    History,
    LearningCurves,
    Trainer,
    load_checkpoint,
)


class ScriptedVal(Callback):
    """Replaces the epoch's val_loss by a scripted value and marks the parameters with the
    epoch number, so that which epoch's parameters were restored can be read off."""

    order = -1  # before EarlyStopping

    def __init__(self, values):
        self.values = list(values)

    def on_epoch_end(self, trainer, logs):
        e = logs["epoch"]
        logs["val_loss"] = self.values[e - 1]
        trainer.history.records[-1]["val_loss"] = self.values[e - 1]
        for p in trainer.model.parameters():
            p.data[...] = e


def _net():
    return Sequential(Flatten(), Linear(4, 3), ReLU(), Linear(3, 2))


def _data(n=16):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 1, 2, 2)).astype(np.float32), rng.integers(0, 2, n)


def _trainer(callbacks, **kw):
    model = _net()
    return Trainer(
        model,
        SGD(model.parameters(), lr=0.0),
        callbacks=callbacks,
        progress=False,
        verbose=False,
        **kw,
    )


def _loader():
    return DataLoader(_data(), batch_size=8)


@pytest.mark.parametrize(
    "values, patience, stop_epoch, best_epoch",
    [
        ([5, 4, 3, 3.5, 3.2, 3.1, 2.0], 3, 6, 3),  # 3 epochs without a new minimum: stop after 6
        ([5, 4, 3, 3.5, 2.9, 3.0, 3.0], 3, None, 5),  # the counter resets at epoch 5
        ([1, 2], 1, 2, 1),
        ([3, 3, 3], 2, 3, 1),  # equal is not better (strict improvement, as Algorithm 7.1)
    ],
)
def test_early_stopping_patience_and_restores_best(values, patience, stop_epoch, best_epoch):
    es = EarlyStopping("val_loss", patience=patience)
    tr = _trainer([ScriptedVal(values), es])
    tr.fit(_loader(), epochs=len(values))
    assert tr.epoch == (stop_epoch or len(values))
    assert es.stopped_epoch == stop_epoch
    assert es.best_epoch == best_epoch and es.best == min(values[: tr.epoch])
    for p in tr.model.parameters():  # the parameters of the best epoch are back
        assert np.all(p.data == best_epoch)


def test_early_stopping_max_mode_min_delta_and_no_restore():
    es = EarlyStopping("val_accuracy", patience=2, min_delta=0.05, restore_best=False)
    assert es.mode == "max"

    class Acc(Callback):
        order = -1

        def on_epoch_end(self, trainer, logs):
            logs["val_accuracy"] = [0.5, 0.54, 0.549, 0.8][logs["epoch"] - 1]
            for p in trainer.model.parameters():
                p.data[...] = logs["epoch"]

    tr = _trainer([Acc(), es])
    tr.fit(_loader(), epochs=4)
    # 0.54 and 0.549 are within min_delta of 0.5: two epochs without improvement
    assert tr.epoch == 3 and es.best_epoch == 1
    assert all(np.all(p.data == 3) for p in tr.model.parameters())


def test_early_stopping_needs_the_monitored_value():
    tr = _trainer([EarlyStopping("val_loss", patience=1)])
    with pytest.raises(ValueError, match="val_loss.*validation loader"):
        tr.fit(_loader(), epochs=1)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_early_stopping_state_survives_a_checkpoint(tmp_path):
    vals = [5, 4, 3, 3.5, 3.2, 3.1, 2.0]
    tr = _trainer([ScriptedVal(vals), EarlyStopping(patience=3), Checkpoint(tmp_path)])
    tr.fit(_loader(), epochs=5)
    state = load_checkpoint(tmp_path / "checkpoint.safetensors")
    es_state = state["callbacks"]["EarlyStopping"]
    assert es_state["wait"] == 2 and es_state["best_epoch"] == 3
    assert all(np.all(a == 3) for a in es_state["best_state"].values())
    # resumed, it stops one epoch later, exactly as an uninterrupted run does
    es = EarlyStopping(patience=3)
    tr2 = _trainer([ScriptedVal(vals), es])
    tr2.fit(_loader(), epochs=7, resume=tmp_path / "checkpoint.safetensors")
    assert tr2.epoch == 6 and es.stopped_epoch == 6
    assert all(np.all(p.data == 3) for p in tr2.model.parameters())


def test_checkpoint_every_epoch_keep_all_and_best(tmp_path):
    strided.manual_seed(0)
    x, y = _data(32)
    model = _net()
    ck = Checkpoint(tmp_path, keep_all=True, monitor="val_accuracy")
    tr = Trainer(
        model,
        SGD(model.parameters(), lr=0.1),
        callbacks=[ck],
        progress=False,
        verbose=False,
        config={"run": "test"},
    )
    tr.fit(DataLoader((x, y), batch_size=8), DataLoader((x, y), batch_size=32), epochs=3)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "best.safetensors",
        "checkpoint.safetensors",
        "epoch-001.safetensors",
        "epoch-002.safetensors",
        "epoch-003.safetensors",
    ]
    state = load_checkpoint(tmp_path / "epoch-002.safetensors")
    assert state["epoch"] == 2 and state["global_step"] == 8
    assert state["config"] == {"run": "test"}
    assert set(state) >= {"model", "optimizer", "scheduler", "history", "rng", "callbacks"}
    last = load_checkpoint(tmp_path / "checkpoint.safetensors")
    for k, a in model.state_dict().items():
        np.testing.assert_array_equal(last["model"][k], a)
    meta = load_model(tmp_path / "best.safetensors", _net())
    best = max(tr.history["val_accuracy"])
    assert meta["val_accuracy"] == best
    # the training checkpoint also loads as plain weights
    load_model(tmp_path / "checkpoint.safetensors", _net())


def test_checkpoint_every_n_epochs_still_writes_the_last(tmp_path):
    epochs_written = []

    class Spy(Checkpoint):
        def on_epoch_end(self, trainer, logs):
            before = self.path.stat().st_mtime_ns if self.path.exists() else None
            super().on_epoch_end(trainer, logs)
            if self.path.exists() and self.path.stat().st_mtime_ns != before:
                epochs_written.append(load_checkpoint(self.path)["epoch"])

    tr = _trainer([Spy(tmp_path, every=2)])
    tr.fit(_loader(), epochs=5)
    assert epochs_written == [2, 4, 5]


def test_learning_curves_csv_json(tmp_path):
    x, y = _data(32)
    model = _net()
    tr = Trainer(
        model,
        SGD(model.parameters(), lr=0.1),
        callbacks=[LearningCurves(tmp_path)],
        progress=False,
        verbose=False,
    )
    tr.fit(DataLoader((x, y), batch_size=8), DataLoader((x, y), batch_size=32), epochs=2)
    with open(tmp_path / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_loss"]) == pytest.approx(tr.history["val_loss"][1])
    data = json.loads((tmp_path / "history.json").read_text())
    assert data["records"] == tr.history.records
    assert History.from_json(tmp_path / "history.json").records == tr.history.records
    try:
        import matplotlib  # noqa: F401

        assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    except ImportError:
        assert not (tmp_path / "curves.png").exists()


def test_history_columns_best_and_state():
    h = History()
    h.append({"epoch": 1, "val_loss": np.float32(0.5), "train_loss": 1.0})
    h.append({"epoch": 2, "val_loss": 0.4, "train_loss": 0.8, "extra": 1})
    h.append({"epoch": 3, "val_loss": float("nan"), "train_loss": 0.7})
    assert h["val_loss"][:2] == [0.5, pytest.approx(0.4)] and type(h["val_loss"][0]) is float
    assert h["extra"] == [None, 1, None]
    assert h.keys() == ["epoch", "val_loss", "train_loss", "extra"]
    assert h.best("val_loss")["epoch"] == 2
    assert h.best("train_loss", "max")["epoch"] == 1
    assert h.best("nothing") is None
    with pytest.raises(KeyError, match="columns"):
        h["nope"]
    h2 = History()
    h2.load_state_dict(h.state_dict())
    assert h2.records[:2] == h.records[:2] and math.isnan(h2.records[2]["val_loss"])


def test_history_plot_without_matplotlib_returns_none(tmp_path):
    try:
        import matplotlib  # noqa: F401

        pytest.skip("matplotlib is installed")
    except ImportError:
        pass
    h = History([{"epoch": 1, "train_loss": 1.0}])
    assert h.plot(tmp_path / "c.png") is None
    assert not (tmp_path / "c.png").exists()
