"""Whole training runs on a device: LeNet-5 on the simulated GPU takes the same steps as on
the CPU and copies only the batch in and a few numbers out; benchmarks/gpu.py and the GPU
check script (.ci/gpu) run here with the CPU standing in for the GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simulated_gpu
import strided
from strided.data import ArrayDataset, DataLoader
from strided.device import to_numpy
from strided.models import lenet5
from strided.optim import SGD
from strided.train import Trainer
from strided.train.callbacks import Callback

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)
X = RNG.standard_normal((48, 1, 28, 28))
Y = RNG.integers(0, 10, 48)
BATCH, EPOCHS, SYNC = 16, 2, 2


def transfers():
    """(host-to-device copies, device-to-host reads) of the simulated GPU so far."""
    return simulated_gpu.SimBackend.to_device_count, simulated_gpu.SimBackend.to_host_count


class Transfers(Callback):
    """The simulated GPU's transfer counters after each step."""

    def __init__(self) -> None:
        self.after: list[tuple[int, int]] = []

    def on_train_begin(self, trainer):
        self.start = transfers()

    def on_batch_end(self, trainer, logs):
        self.after.append(transfers())

    def on_train_end(self, trainer):
        self.end = transfers()


def lenet_run(where):
    strided.manual_seed(0)
    model = lenet5(num_classes=10).double()
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    counter = Transfers()
    trainer = Trainer(
        model,
        opt,
        device=where,
        grad_clip=5.0,
        sync_every=SYNC,
        progress=False,
        verbose=False,
        callbacks=[counter],
    )
    loader = DataLoader(ArrayDataset(X, Y), batch_size=BATCH, shuffle=True, seed=3)
    history = trainer.fit(loader, epochs=EPOCHS)
    return trainer, history, counter


def test_lenet5_on_the_simulated_gpu_takes_the_cpus_steps():
    cpu, cpu_history, _ = lenet_run("cpu")
    sim, sim_history, counter = lenet_run("sim")
    for p, q in zip(sim.model.parameters(), cpu.model.parameters(), strict=True):
        assert p.device == strided.device("sim")
        np.testing.assert_allclose(to_numpy(p.data), q.data, rtol=1e-9, atol=1e-12)
    for mine, ref in zip(sim_history, cpu_history, strict=True):
        assert mine["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-9)
        assert mine["train_accuracy"] == ref["train_accuracy"]
    # transfers per step: the batch in (inputs and targets); out only the sums, every
    # SYNC steps and at the end of each epoch (that one seen in the next step's interval)
    steps, per_epoch = len(counter.after), len(X) // BATCH
    assert steps == EPOCHS * per_epoch
    reads, after_last = expected_reads(steps, per_epoch, SYNC)
    previous = counter.start
    for i, now in enumerate([*counter.after, counter.end]):
        copied_in, read_out = now[0] - previous[0], now[1] - previous[1]
        if i < steps:
            assert copied_in == 2, f"step {i + 1}: {copied_in} host-to-device copies"
            assert read_out == reads[i], f"step {i + 1}: {read_out} device-to-host reads"
        else:
            assert (copied_in, read_out) == (0, after_last)
        previous = now


def expected_reads(steps, per_epoch, sync):
    """The reads seen between one step's end and the next's: a flush every `sync` steps,
    and one at the end of an epoch when something is left unread."""
    out, carry, pending = [], 0, False
    for step in range(1, steps + 1):
        now, carry, pending = carry, 0, True
        if step % sync == 0:
            now, pending = now + 1, False
        out.append(now)
        if step % per_epoch == 0 and pending:
            carry, pending = 1, False
    return out, carry


def test_the_gpu_benchmark_runs_on_the_cpu(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    out = tmp_path / "bench.json"
    rows = gpu.main(
        ["--device", "cpu", "--steps", "1", "--rounds", "1", "--warmup", "0", "--batches", "4"]
        + ["--json", str(out)]
    )
    assert [(r["model"], r["batch"]) for r in rows] == [("lenet5", 4), ("resnet20", 4)]
    assert json.loads(out.read_text())["rows"] == json.loads(json.dumps(rows))
    for r in rows:
        assert r["strided_img_s"] > 0
        if "torch" in r["first_loss"]:  # the same weights and architecture: the same loss
            assert r["first_loss"]["strided"] == pytest.approx(r["first_loss"]["torch"], rel=1e-5)
            assert r["ratio"] == pytest.approx(r["strided_img_s"] / r["torch_img_s"])


def test_the_gpu_check_script_runs_with_the_cpu_standing_in(tmp_path):
    from fake_data import write_fake_fashion

    data = write_fake_fashion(tmp_path / "data")
    env = dict(os.environ)
    env.update(
        OUT=str(tmp_path / "out"),
        GPU_CHECK_DEVICE="cpu",
        FASHION_MNIST=str(data),
        GPU_CHECK_MODULES="tests/optim/test_optim_parity.py",  # a quick subset here
    )
    done = subprocess.run(
        [str(ROOT / ".ci" / "gpu"), sys.executable],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASS: " in summary and "passed" in summary
    assert "PASS: the same accuracy on cpu and cpu" in summary
    assert "== all GPU checks passed" in summary
    compare = json.loads((tmp_path / "out" / "lenet5-compare.json").read_text())
    assert compare["same"] and compare["difference"] == 0.0
    bench = json.loads((tmp_path / "out" / "gpu-benchmark.json").read_text())
    assert [r["model"] for r in bench["rows"]] == ["lenet5"]  # the dry run's one model
