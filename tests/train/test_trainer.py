"""strided.train: the Trainer loop, metrics, schedules and in-process exact resume."""

from __future__ import annotations

import numpy as np
import pytest

import strided
from strided import Generator, is_grad_enabled
from strided.data import DataLoader
from strided.data import transforms as T
from strided.nn import Dropout, Flatten, Linear, Module, ReLU, Sequential
from strided.optim import SGD, Adam
from strided.optim import lr_scheduler as S
from strided.train import (
    Checkpoint,
    EarlyStopping,
    LambdaCallback,
    RunningMetrics,
    Trainer,
    accuracy,
    confusion_matrix,
    fit,
    load_checkpoint,
    per_class_accuracy,
    top_k_accuracy,
    top_k_correct,
)


def blobs(n=240, seed=0, classes=3):
    """Three well-separated Gaussian blobs in 8-D, as (N, 1, 2, 4) "images"."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(scale=3.0, size=(classes, 8))
    x = (centres[y] + rng.normal(size=(n, 8))).astype(np.float32).reshape(n, 1, 2, 4)
    return x, y.astype(np.int64)


def small_net(p=0.0, generator=None):
    layers = [Flatten(), Linear(8, 16), ReLU()]
    if p:
        layers.append(Dropout(p, generator=generator))
    return Sequential(*layers, Linear(16, 3))


# -- metrics ------------------------------------------------------------------------------


def test_metrics_against_hand_counts():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    y = np.array([1, 1, 2, 1])
    assert accuracy(scores, y) == 0.5
    assert accuracy(scores.argmax(1), y) == 0.5
    assert top_k_correct(scores, y, 2) == 4
    assert top_k_accuracy(scores, y, 1) == 0.5
    assert top_k_accuracy(scores, np.array([2, 2, 0, 2]), 2) == 0.25
    cm = confusion_matrix(scores, y)
    np.testing.assert_array_equal(cm, [[0, 0, 0], [2, 1, 0], [0, 0, 1]])
    pc = per_class_accuracy(cm)
    assert np.isnan(pc[0]) and pc[1] == pytest.approx(1 / 3) and pc[2] == 1.0
    np.testing.assert_array_equal(confusion_matrix([0, 2], [0, 0], num_classes=4).shape, (4, 4))


def test_metric_errors_name_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4, 3\)"):
        accuracy(np.zeros((4, 3)), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="k must be in"):
        top_k_correct(np.zeros((2, 3)), np.zeros(2, np.int64), 4)
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 5], [0, 1], num_classes=3)


def test_running_metrics_weights_by_batch_size():
    m = RunningMetrics(top_k=(2,), confusion=True, num_classes=3)
    m.update(1.0, np.eye(3)[[0, 1]], np.array([0, 2]))  # 1 of 2 right
    m.update(4.0, np.eye(3)[[2, 2, 2, 2]], np.array([2, 2, 2, 2]))  # 4 of 4 right
    r = m.compute()
    assert r["loss"] == pytest.approx((1.0 * 2 + 4.0 * 4) / 6)
    assert r["accuracy"] == pytest.approx(5 / 6)
    assert r["confusion_matrix"].sum() == 6


# -- the loop -----------------------------------------------------------------------------


def test_fit_learns_and_records_history():
    strided.manual_seed(0)
    x, y = blobs()
    model = small_net()
    train = DataLoader((x[:200], y[:200]), batch_size=32, shuffle=True, seed=0)
    val = DataLoader((x[200:], y[200:]), batch_size=64)
    tr = Trainer(
        model, Adam(model.parameters(), lr=1e-2), progress=False, verbose=False, top_k=(2,)
    )
    h = tr.fit(train, val, epochs=6)
    assert len(h) == 6 and tr.epoch == 6 and tr.global_step == 6 * len(train)
    assert h["epoch"] == [1, 2, 3, 4, 5, 6]
    for key in (
        "train_loss",
        "train_accuracy",
        "train_top2",
        "val_loss",
        "val_accuracy",
        "val_top2",
        "lr",
        "seconds",
        "images_per_s",
        "step",
    ):
        assert key in h.keys(), key
    assert h["train_loss"][-1] < h["train_loss"][0] * 0.5
    assert h["val_accuracy"][-1] >= 0.9
    assert h.best("val_accuracy", "max")["val_accuracy"] == max(h["val_accuracy"])
    # evaluate agrees with the history's last validation entry (same weights)
    r = tr.evaluate(val)
    assert r["accuracy"] == h["val_accuracy"][-1]


def test_train_and_eval_modes_and_no_grad():
    seen = []

    class Spy(Module):
        def __init__(self):
            super().__init__()
            self.lin = Linear(8, 3)

        def forward(self, x):
            seen.append((self.training, is_grad_enabled()))
            return self.lin(x.reshape(x.shape[0], -1))

    x, y = blobs(64)
    model = Spy()
    tr = Trainer(model, SGD(model.parameters(), lr=0.1), progress=False, verbose=False)
    tr.fit(DataLoader((x, y), batch_size=32), DataLoader((x, y), batch_size=64), epochs=1)
    assert seen == [(True, True), (True, True), (False, False)]
    assert model.training  # evaluate() puts the mode back
    model.eval()
    tr.evaluate(DataLoader((x, y), batch_size=64))
    assert not model.training


def test_progress_bar_shows_loss_accuracy_and_images_per_second(capsys):
    x, y = blobs(64)
    model = small_net()
    import io as _io

    buf = _io.StringIO()
    tr = Trainer(
        model, SGD(model.parameters(), lr=0.1), progress={"mininterval": 0}, verbose=True, file=buf
    )
    tr.fit(DataLoader((x, y), batch_size=16), epochs=1)
    text = buf.getvalue()
    assert "loss=" in text and "acc=" in text and "img/s=" in text
    assert "epoch 1/1" in text


def test_schedules_step_per_epoch_per_batch_and_on_plateau():
    x, y = blobs(64)
    loader = DataLoader((x, y), batch_size=16)  # 4 batches per epoch
    model = small_net()
    opt = SGD(model.parameters(), lr=1.0)
    tr = Trainer(
        model, opt, scheduler=S.StepLR(opt, step_size=1, gamma=0.5), progress=False, verbose=False
    )
    h = tr.fit(loader, epochs=3)
    assert h["lr"] == [1.0, 0.5, 0.25]  # the lr each epoch trained with
    assert opt.param_groups[0]["lr"] == 0.125

    model = small_net()
    opt = SGD(model.parameters(), lr=0.1)
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=8)
    tr = Trainer(model, opt, scheduler=sched, progress=False, verbose=False)
    assert tr.scheduler_interval == "batch"
    tr.fit(loader, epochs=2)
    assert sched.last_epoch == 8

    model = small_net()
    opt = SGD(model.parameters(), lr=0.0)  # (almost) nothing changes: the loss plateaus
    sched = S.ReduceLROnPlateau(opt, patience=0, factor=0.5, eps=0.0)
    opt.param_groups[0]["lr"] = 1e-9
    tr = Trainer(model, opt, scheduler=sched, progress=False, verbose=False)
    tr.fit(loader, epochs=3)
    assert opt.param_groups[0]["lr"] < 1e-9


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bad_input_and_divergence_are_clear_errors():
    x, y = blobs(32)
    model = small_net()
    tr = Trainer(model, SGD(model.parameters(), lr=0.1), progress=False, verbose=False)
    with pytest.raises(TypeError, match="ToFloat"):
        tr.fit(DataLoader(((x * 10).astype(np.uint8), y), batch_size=16), epochs=1)
    tr = Trainer(model, SGD(model.parameters(), lr=1e30), progress=False, verbose=False)
    with pytest.raises(FloatingPointError, match="learning rate"):
        tr.fit(DataLoader((x * 1e10, y), batch_size=16), epochs=3)
    with pytest.raises(ValueError, match="epochs"):
        tr.fit(DataLoader((x, y), batch_size=16), epochs=-1)
    with pytest.raises(TypeError, match="optimizer"):
        Trainer(model, object())
    evaluator = Trainer(model, None, progress=False, verbose=False)
    assert 0 <= evaluator.evaluate(DataLoader((x, y), batch_size=16))["accuracy"] <= 1
    with pytest.raises(ValueError, match="no optimizer"):
        evaluator.fit(DataLoader((x, y), batch_size=16), epochs=1)


def test_fit_function_defaults_to_adam():
    strided.manual_seed(0)
    x, y = blobs()
    model = small_net()
    h = fit(
        model,
        DataLoader((x, y), batch_size=16, shuffle=True, seed=1),
        epochs=8,
        progress=False,
        verbose=False,
    )
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h["train_accuracy"][-1] > 0.8


# -- exact resume, in process -------------------------------------------------------------


def _run(tmp, epochs, resume=None, seed=0):
    """Dropout with its own generator, dropout from the default generator, shuffling,
    flip augmentation in a prefetch thread, a step schedule and early stopping: every
    kind of state a resumed run must restore."""
    strided.manual_seed(seed)
    x, y = blobs(200)
    model = Sequential(
        Flatten(),
        Linear(8, 32),
        ReLU(),
        Dropout(0.3, generator=Generator(5)),
        Linear(32, 32),
        ReLU(),
        Dropout(0.2),
        Linear(32, 3),
    )
    opt = Adam(model.parameters(), lr=5e-3)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    aug = T.RandomHorizontalFlip(rng=np.random.default_rng(9))
    train = DataLoader(
        (x[:150], y[:150]), batch_size=16, shuffle=True, seed=3, transform=aug, prefetch=2
    )
    val = DataLoader((x[150:], y[150:]), batch_size=50)
    tr = Trainer(
        model,
        opt,
        scheduler=sched,
        progress=False,
        verbose=False,
        callbacks=[EarlyStopping(patience=50), Checkpoint(tmp)],
    )
    tr.fit(train, val, epochs=epochs, resume=resume)
    return tr


def _same_params(a, b):
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_resume_in_process_is_bit_exact(tmp_path):
    full = _run(tmp_path / "a", 5)
    _run(tmp_path / "b", 2)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")["epoch"] == 2
    resumed = _run(tmp_path / "b", 5, resume=tmp_path / "b" / "checkpoint.safetensors")
    assert resumed.epoch == 5 and resumed.global_step == full.global_step
    assert _same_params(full, resumed)
    strip = ("seconds", "images_per_s")
    assert [{k: v for k, v in r.items() if k not in strip} for r in full.history] == [
        {k: v for k, v in r.items() if k not in strip} for r in resumed.history
    ]
    # the optimiser's moments and the schedule continue too
    assert full.optimizer.param_groups[0]["lr"] == resumed.optimizer.param_groups[0]["lr"]


def test_resume_without_rng_state_differs(tmp_path):
    """The test above could fail: drop the generators' states and the runs part ways."""
    full = _run(tmp_path / "a", 4)
    _run(tmp_path / "b", 2)
    state = load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    del state["rng"]
    resumed = _run(tmp_path / "c", 1)  # its generators stand where epoch 1 left them
    resumed.load_state_dict(state)
    resumed.fit(resumed.train_loader, resumed.val_loader, epochs=4)
    assert not _same_params(full, resumed)


def test_resume_with_another_architecture_is_a_clear_error(tmp_path):
    _run(tmp_path / "a", 1)
    model = small_net()
    tr = Trainer(model, Adam(model.parameters()), progress=False, verbose=False)
    x, y = blobs(32)
    with pytest.raises(ValueError, match=r"resuming from .*checkpoint\.safetensors"):
        tr.fit(
            DataLoader((x, y), batch_size=16),
            epochs=2,
            resume=tmp_path / "a" / "checkpoint.safetensors",
        )


def test_batch_callbacks_see_every_step():
    x, y = blobs(64)
    steps = []
    model = small_net()
    cb = LambdaCallback(on_batch_end=lambda t, logs: steps.append(logs["step"]))
    Trainer(
        model, SGD(model.parameters(), lr=0.1), callbacks=[cb], progress=False, verbose=False
    ).fit(DataLoader((x, y), batch_size=16), epochs=2)
    assert steps == list(range(1, 9))
    with pytest.raises(TypeError, match="unknown hooks"):
        LambdaCallback(on_batch_start=print)


def test_resume_with_another_loader_seed_warns(tmp_path):
    _run(tmp_path / "a", 1)
    strided.manual_seed(0)
    x, y = blobs(200)
    tr = _run(tmp_path / "b", 0)
    other = DataLoader((x[:150], y[:150]), batch_size=16, shuffle=True, seed=4)
    with pytest.warns(RuntimeWarning, match="seed 4, saved with 3"):
        tr.fit(other, tr.val_loader, epochs=1, resume=tmp_path / "a" / "checkpoint.safetensors")


def test_trainer_steps_any_schedule_as_it_declares():
    class EveryBatch:  # not a strided class: the Trainer reads the attributes only
        interval, needs_metric = "batch", False

        def __init__(self):
            self.calls = []

        def step(self, *args):
            self.calls.append(args)

        def state_dict(self):
            return {}

    class OnMetric(EveryBatch):
        interval, needs_metric = "epoch", True

    x, y = blobs(64)
    loader = DataLoader((x, y), batch_size=16)  # 4 batches per epoch
    for sched, expect in ((EveryBatch(), 8), (OnMetric(), 2)):
        model = small_net()
        Trainer(
            model, SGD(model.parameters(), lr=0.1), scheduler=sched, progress=False, verbose=False
        ).fit(loader, loader, epochs=2)
        assert len(sched.calls) == expect
        assert all(len(a) == int(sched.needs_metric) for a in sched.calls)
