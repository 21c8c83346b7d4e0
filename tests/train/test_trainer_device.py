"""The Trainer on a device: the model moves there, each batch is copied there once per
step, the loss and accuracy are summed there and read back only every `sync_every` steps
and at the end of an epoch; the run equals the CPU's."""

import numpy as np
import pytest

import simulated_gpu
import strided
import strided.nn as nn
import strided.optim as optim
from strided.data import ArrayDataset, DataLoader
from strided.device import to_numpy
from strided.train import Trainer
from strided.train.callbacks import Callback
from strided.train.metrics import DeviceMetrics, RunningMetrics

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 1, 4, 4))
Y = RNG.standard_normal((40, 3))


def mse(output, target):
    return ((output - target) ** 2).mean()


def regression_run(where, epochs=2, sync_every=3, **kwargs):
    strided.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    kwargs.setdefault("loss_fn", mse)
    kwargs.setdefault("progress", False)
    trainer = Trainer(
        model,
        opt,
        classification=False,
        device=where,
        verbose=False,
        sync_every=sync_every,
        **kwargs,
    )
    train = DataLoader(ArrayDataset(X, Y), batch_size=8, shuffle=True, seed=1)
    val = DataLoader(ArrayDataset(X, Y), batch_size=16)
    history = trainer.fit(train, val, epochs=epochs)
    return trainer, history


def test_training_on_the_device_equals_the_cpu(device):
    cpu_trainer, cpu_history = regression_run("cpu")
    trainer, history = regression_run(device)
    assert trainer.device == strided.device(device)
    assert trainer.model.device == strided.device(device)
    for mine, ref in zip(history, cpu_history, strict=True):
        for key in ("train_loss", "val_loss"):
            assert mine[key] == pytest.approx(ref[key], rel=1e-10)
    for p, q in zip(trainer.model.parameters(), cpu_trainer.model.parameters(), strict=True):
        assert p.device == strided.device(device)
        np.testing.assert_allclose(to_numpy(p.data), q.data, rtol=1e-10, atol=1e-12)
    predicted = trainer.predict(X, batch_size=16)
    assert type(predicted) is np.ndarray
    np.testing.assert_allclose(predicted, cpu_trainer.predict(X), rtol=1e-10, atol=1e-12)


def test_the_device_defaults_to_the_models():
    model = nn.Linear(2, 2).to("sim")
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), progress=False)
    assert trainer.device == strided.device("sim")
    Trainer(model, None, device="cpu", progress=False)
    assert model.device == strided.device("cpu")  # device= moves the model


@pytest.mark.parametrize("sync_every", [1, 2, 5, 100])
def test_host_reads_happen_only_every_sync_every_steps(sync_every):
    reads = []

    class CountReads(Callback):
        def on_batch_end(self, trainer, logs):
            reads.append(simulated_gpu.SimBackend.to_host_count)

    before = simulated_gpu.SimBackend.to_host_count
    trainer, _ = regression_run("sim", epochs=1, sync_every=sync_every, callbacks=[CountReads()])
    steps = len(reads)  # 5 batches
    flushes = [
        reads[i] - (reads[i - 1] if i else before) for i in range(steps)
    ]  # the reads during each step
    assert flushes == [int((i + 1) % sync_every == 0) for i in range(steps)]


def test_the_loss_given_to_callbacks_on_a_device_is_a_device_tensor():
    seen = []

    class Keep(Callback):
        def on_batch_end(self, trainer, logs):
            seen.append(logs["loss"])

    regression_run("sim", epochs=1, callbacks=[Keep()])
    assert all(t.device == strided.device("sim") and t.shape == () for t in seen)
    assert all(np.isfinite(float(t)) for t in seen)


def test_a_checkpoint_inside_an_epoch_on_a_device_counts_the_unread_steps():
    counts = []

    class Snapshot(Callback):
        def on_batch_end(self, trainer, logs):
            counts.append(trainer.state_dict()["epoch_metrics"]["count"])

    regression_run("sim", epochs=1, sync_every=100, callbacks=[Snapshot()])
    assert counts == [8, 16, 24, 32, 40]


def test_a_nan_loss_on_a_device_stops_at_the_next_read():
    def bad_loss(output, target):
        return mse(output, target) * float("nan")

    with pytest.raises(FloatingPointError, match="epoch 1 by step 3"):
        regression_run("sim", epochs=1, sync_every=3, loss_fn=bad_loss)


@pytest.mark.parametrize("confusion", [False, True])
def test_device_metrics_equal_running_metrics(device, confusion):
    rng = np.random.default_rng(3)
    ref = RunningMetrics(top_k=(3, 20), num_classes=5, confusion=confusion)
    mine = RunningMetrics(top_k=(3, 20), num_classes=5, confusion=confusion)
    sums = DeviceMetrics(mine)
    for n in (7, 1, 12):
        scores = rng.standard_normal((n, 5)).astype(np.float32)
        targets = rng.integers(0, 5, n)
        loss = np.float32(rng.random())
        ref.update(float(loss), scores, targets)
        on = strided.device(device)
        sums.update(
            on.backend.to_device(np.array(loss), on.index),
            on.backend.to_device(scores, on.index),
            on.backend.to_device(targets, on.index),
        )
    sums.flush()
    sums.flush()  # nothing more to add
    got, want = mine.compute(), ref.compute()
    assert set(got) == set(want)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-6, err_msg=k)


def test_device_metrics_without_scores_need_a_count():
    sums = DeviceMetrics(RunningMetrics())
    with pytest.raises(ValueError, match="count"):
        sums.update(np.array(1.0))
    sums.update(np.array(2.0), count=4)
    sums.flush()
    assert sums.metrics.count == 4 and sums.metrics.loss == pytest.approx(2.0)


def test_gradient_statistics_on_a_device_equal_the_cpus(device):
    from strided.train.gradient_stats import GradientStats

    tables = {}
    for where in ("cpu", device):
        stats = GradientStats(every=2)
        regression_run(where, epochs=1, callbacks=[stats])
        tables[where] = stats.records
    assert len(tables[device]) == len(tables["cpu"]) > 0
    for mine, ref in zip(tables[device], tables["cpu"], strict=True):
        assert mine.keys() == ref.keys()
        for k, v in ref.items():
            assert mine[k] == (pytest.approx(v, rel=1e-9) if isinstance(v, float) else v), k


@pytest.mark.parametrize("first,second", [("sim", "cpu"), ("cpu", "sim")])
def test_a_run_checkpointed_on_one_device_resumes_on_the_other(tmp_path, first, second):
    path = tmp_path / "ckpt.safetensors"
    trainer, _ = regression_run(first, epochs=1)
    trainer.save_checkpoint(path)
    whole, whole_history = regression_run("cpu", epochs=2)
    strided.manual_seed(7)  # a different start: everything comes from the checkpoint
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    resumed = Trainer(
        model,
        optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        loss_fn=mse,
        classification=False,
        device=second,
        progress=False,
        verbose=False,
    )
    train = DataLoader(ArrayDataset(X, Y), batch_size=8, shuffle=True, seed=1)
    val = DataLoader(ArrayDataset(X, Y), batch_size=16)
    history = resumed.fit(train, val, epochs=2, resume=path)
    assert len(history) == 2
    assert history[0]["train_loss"] == pytest.approx(whole_history[0]["train_loss"], rel=1e-10)
    assert resumed.model.device == strided.device(second)
    assert history[-1]["train_loss"] == pytest.approx(whole_history[-1]["train_loss"], rel=1e-10)
    for p, q in zip(resumed.model.parameters(), whole.model.parameters(), strict=True):
        np.testing.assert_allclose(to_numpy(p.data), q.data, rtol=1e-10, atol=1e-12)


def test_the_progress_bar_on_a_device_shows_the_values_read_back():
    import io

    buf = io.StringIO()
    regression_run("sim", epochs=1, sync_every=100, progress={"mininterval": 0}, file=buf)
    text = buf.getvalue()
    assert "loss=" in text and "img/s=" in text  # shown once, at the epoch's end
