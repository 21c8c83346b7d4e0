"""Kill a training run with SIGKILL in the middle of an epoch, ``--resume`` it, and get
the same parameters, bit for bit, as a run that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from test_cli import write_fake_fashion

from strided.io import load
from strided.train import load_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# Trains through the real command line, with one extra callback that kills its own
# process (SIGKILL: no cleanup, no atexit, no flushing) after optimiser step KILL_AT.
KILLER = """
import os, signal, sys
from strided.cli import main
from strided.train import LambdaCallback

kill_at = int(os.environ["KILL_AT"])

def maybe_kill(trainer, logs):
    if trainer.global_step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

sys.exit(main(sys.argv[1:], extra_callbacks=[LambdaCallback(on_batch_end=maybe_kill)]))
"""

EPOCHS = 3
BATCH = 32
N_TRAIN = 200  # 180 after the 10% validation split: 6 batches per epoch


def _train_args(data_root, out, *extra):
    return [
        "train",
        "--data-root",
        str(data_root),
        "--out",
        str(out),
        "--epochs",
        str(EPOCHS),
        "--batch-size",
        str(BATCH),
        "--augment",
        "crop+flip",
        "--schedule",
        "step",
        "--seed",
        "11",
        "--quiet",
        "--prefetch",
        "2",
        *extra,
    ]


def _run(args, env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("STRIDED_DEBUG", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=e, timeout=300
    )


def _weights(out):
    arrays, meta = load(out / "model.safetensors")
    return arrays, meta


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path):
    data_root = write_fake_fashion(tmp_path / "data", n_train=N_TRAIN, n_test=40)
    steps_per_epoch = -(-int(N_TRAIN * 0.9) // BATCH)

    straight = tmp_path / "straight"
    r = _run(["-m", "strided", *_train_args(data_root, straight)])
    assert r.returncode == 0, r.stderr

    broken = tmp_path / "broken"
    kill_at = steps_per_epoch + 3  # in the middle of the second epoch
    r = _run(["-c", KILLER, *_train_args(data_root, broken)], env={"KILL_AT": str(kill_at)})
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr)
    # what survived is the checkpoint of the last finished epoch, intact
    assert load_checkpoint(broken / "checkpoint.safetensors")["epoch"] == 1
    assert not (broken / "model.safetensors").exists()
    assert not [p for p in broken.iterdir() if p.name.startswith(".")]  # no stray temp files

    r = _run(
        [
            "-m",
            "strided",
            "train",
            "--resume",
            str(broken),
            "--quiet",
            "--data-root",
            str(data_root),
        ]
    )
    assert r.returncode == 0, r.stderr

    a, meta_a = _weights(straight)
    b, meta_b = _weights(broken)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == np.float32
        assert np.array_equal(a[k], b[k]), f"{k} differs after resume"
    assert meta_a["results"]["test_accuracy"] == meta_b["results"]["test_accuracy"]
    # the whole history matches too (timings aside), including the epoch before the kill
    strip = {"seconds", "images_per_s"}
    ha = json.loads((straight / "history.json").read_text())["records"]
    hb = json.loads((broken / "history.json").read_text())["records"]
    assert [{k: v for k, v in r.items() if k not in strip} for r in ha] == [
        {k: v for k, v in r.items() if k not in strip} for r in hb
    ]
    final_a = load_checkpoint(straight / "checkpoint.safetensors")
    final_b = load_checkpoint(broken / "checkpoint.safetensors")
    assert final_a["global_step"] == final_b["global_step"] == EPOCHS * steps_per_epoch
    for k, v in final_a["optimizer"]["state"].items():
        for name, arr in v.items():
            assert np.array_equal(
                np.asarray(arr), np.asarray(final_b["optimizer"]["state"][k][name])
            )


def test_a_different_seed_gives_different_parameters(tmp_path):
    """Guards the test above against passing vacuously (e.g. if nothing were random)."""
    data_root = write_fake_fashion(tmp_path / "data", n_train=64, n_test=16)
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"s{seed}"
        args = [
            "-m",
            "strided",
            "train",
            "--data-root",
            str(data_root),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--quiet",
            "--seed",
            seed,
            "--val-split",
            "0",
        ]
        assert _run(args).returncode == 0
        outs.append(_weights(out)[0])
    assert any(not np.array_equal(outs[0][k], outs[1][k]) for k in outs[0])
