"""`strided train --tensorboard`: the run's TensorBoard logs, and a run killed with SIGKILL
and resumed that TensorBoard shows as one curve, every step once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from fake_data import write_fake_fashion
from strided.cli import main
from strided.train.tensorboard import tag_of

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.plugins.hparams import metadata as hparams_metadata  # noqa: E402

# The command line with one extra callback that kills its own process (SIGKILL: no
# cleanup) after optimiser step KILL_AT, as in test_resume.py; the TensorBoard events
# written so far reach the file first, as they would after the writer's periodic flush.
KILLER = """
import os, signal, sys
from strided.cli import main
from strided.train import LambdaCallback, TensorBoard

kill_at = int(os.environ["KILL_AT"])

def maybe_kill(trainer, logs):
    if trainer.global_step == kill_at:
        for cb in trainer.callbacks:
            if isinstance(cb, TensorBoard):
                cb.writer.flush()
        os.kill(os.getpid(), signal.SIGKILL)

sys.exit(main(sys.argv[1:], extra_callbacks=[LambdaCallback(on_batch_end=maybe_kill)]))
"""

EPOCHS, BATCH, N_TRAIN = 3, 32, 200  # 180 training images after the split: 6 steps an epoch


def read(log_dir) -> EventAccumulator:
    ea = EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}
    )
    ea.Reload()
    return ea


def _run(args, env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("STRIDED_DEBUG", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=e, timeout=300
    )


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_fake_fashion(tmp_path_factory.mktemp("data"), n_train=N_TRAIN, n_test=40)


def test_train_with_tensorboard_writes_the_run(data_root, tmp_path):
    out = tmp_path / "run"
    rc = main(
        [
            "train",
            "--data-root",
            str(data_root),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--batch-size",
            str(BATCH),
            "--quiet",
            "--tensorboard",
        ]
    )
    assert rc == 0
    ea = read(out / "tb")  # the default folder
    history = json.loads((out / "history.json").read_text())["records"]
    results = json.loads((out / "results.json").read_text())
    for column in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
        got = [(e.step, e.value) for e in ea.Scalars(tag_of(column))]
        assert got == [(r["step"], pytest.approx(r[column], rel=1e-6)) for r in history]
    assert [e.value for e in ea.Scalars("accuracy/test")] == [
        pytest.approx(results["test_accuracy"], rel=1e-6)
    ]
    assert any(t.startswith("filters/") for t in ea.Tags()["images"])
    assert "predictions/images" in ea.Tags()["images"]
    assert any(n.op == "Conv2d" for n in ea.Graph().node)
    content = ea.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    start = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG]
    )
    assert start.hparams["model"].string_value == "lenet5"
    assert start.hparams["lr"].number_value == pytest.approx(1e-3)
    assert start.hparams["batch_size"].number_value == BATCH
    experiment = hparams_metadata.parse_experiment_plugin_data(
        content[hparams_metadata.EXPERIMENT_TAG]
    )
    assert "accuracy/test" in [m.name.tag for m in experiment.metric_infos]
    # the predictions table names the classes of the data set
    table = ea.Tensors("predictions/classes")[-1].tensor_proto.string_val[0].decode()
    assert "| true | predicted |" in table
    assert any(f"| {c} |" in table for c in results["per_class_accuracy"])


def test_tensorboard_folder_of_choice_and_missing_extra(data_root, tmp_path, capsys, hide_module):
    def args(name):
        return [
            "train",
            "--data-root",
            str(data_root),
            "--out",
            str(tmp_path / name),
            "--epochs",
            "1",
            "--limit-train",
            "64",
            "--quiet",
            "--tensorboard",
            str(tmp_path / f"logs-{name}"),
        ]

    assert main(args("a")) == 0
    assert read(tmp_path / "logs-a").Tags()["scalars"]
    assert not (tmp_path / "a" / "tb").exists()
    capsys.readouterr()
    hide_module("tensorboard")
    assert main(args("b")) == 1
    err = capsys.readouterr().err.strip()
    assert "strided[tensorboard]" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "b").exists()  # refused before anything was written


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_then_resume_continues_the_steps_once(data_root, tmp_path):
    out = tmp_path / "run"
    steps_per_epoch = -(-int(N_TRAIN * 0.9) // BATCH)
    kill_at = steps_per_epoch + 4  # in the middle of the second epoch
    args = [
        "train",
        "--data-root",
        str(data_root),
        "--out",
        str(out),
        "--epochs",
        str(EPOCHS),
        "--batch-size",
        str(BATCH),
        "--seed",
        "5",
        "--quiet",
        "--tensorboard",
    ]
    r = _run(["-c", KILLER, *args], env={"KILL_AT": str(kill_at)})
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr)

    # what the killed run left: steps beyond its checkpoint (epoch 1), in its own file
    files = sorted((out / "tb").iterdir())
    assert len(files) == 1
    raw_steps = [
        e.step
        for e in EventFileLoader(str(files[0])).Load()
        if e.HasField("summary") and any(v.tag == "batch/loss" for v in e.summary.value)
    ]
    assert max(raw_steps) > steps_per_epoch  # orphans exist: the test below means something

    # resumed without repeating --tensorboard: the run's options carry it
    r = _run(
        ["-m", "strided", "train", "--resume", str(out), "--quiet", "--data-root", str(data_root)]
    )
    assert r.returncode == 0, r.stderr
    assert len(list((out / "tb").iterdir())) == 2

    ea = read(out / "tb")
    batch = [e.step for e in ea.Scalars("batch/loss")]
    every = 10  # the callback's default update_freq
    assert batch == list(range(every, EPOCHS * steps_per_epoch + 1, every))
    history = json.loads((out / "history.json").read_text())["records"]
    for column in ("train_loss", "val_loss", "val_accuracy"):
        got = [(e.step, e.value) for e in ea.Scalars(tag_of(column))]
        assert got == [(rec["step"], pytest.approx(rec[column], rel=1e-6)) for rec in history]
    assert [e.step for e in ea.Images("predictions/images")] == [r["step"] for r in history]
