"""Checkpoints inside an epoch (``Checkpoint(every_steps=N)``): a run killed with SIGKILL
between two step checkpoints resumes from the last one and ends bit-identical to a run
that was never interrupted — with shuffling, random augmentation drawn in the prefetch
thread, and dropout all in play."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from strided.train import load_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

RUN = r"""
import os, signal, sys
import numpy as np
import strided as st
from strided import nn
from strided.data import ArrayDataset, DataLoader, transforms as T
from strided.io import save_model
from strided.optim import SGD
from strided.train import Checkpoint, LambdaCallback, Trainer

out, kill_at, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "resume"
rng = np.random.default_rng(0)
x = rng.integers(0, 256, (70, 1, 8, 8), dtype=np.uint8)
y = rng.integers(0, 3, 70)
loader = DataLoader(ArrayDataset(x, y), batch_size=8, shuffle=True, seed=5, prefetch=2,
                    transform=T.Compose([T.ToFloat(), T.RandomCrop(8, padding=1, rng=7)]))
st.manual_seed(3)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.3),
                      nn.Linear(16, 3))
opt = SGD(model.parameters(), lr=0.1, momentum=0.9)

def maybe_kill(trainer, logs):
    if trainer.global_step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

callbacks = [Checkpoint(out, every_steps=3), LambdaCallback(on_batch_end=maybe_kill)]
trainer = Trainer(model, opt, progress=False, verbose=False, callbacks=callbacks)
last = os.path.join(out, "checkpoint.safetensors")
trainer.fit(loader, epochs=3, resume=last if resume else None)
save_model(os.path.join(out, "final.safetensors"), model, {"history": trainer.history.records})
"""


def _run(*args):
    env = dict(os.environ)
    env.pop("STRIDED_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", RUN, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_sigkill_between_step_checkpoints_resumes_bit_identical(tmp_path):
    from strided.io import load

    straight, broken = tmp_path / "straight", tmp_path / "broken"
    r = _run(straight, -1, "fresh")
    assert r.returncode == 0, r.stderr
    # 9 batches an epoch; killed at step 14 (epoch 2, batch 5): the last step checkpoint
    # is step 12, three batches into the second epoch
    r = _run(broken, 14, "fresh")
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr)
    state = load_checkpoint(broken / "checkpoint.safetensors")
    assert (state["epoch"], state["global_step"], state["batch_in_epoch"]) == (1, 12, 3)
    r = _run(broken, -1, "resume")
    assert r.returncode == 0, r.stderr
    a, meta_a = load(straight / "final.safetensors")
    b, meta_b = load(broken / "final.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    for ra, rb in zip(meta_a["history"], meta_b["history"], strict=True):
        assert ra["train_loss"] == rb["train_loss"] and ra["step"] == rb["step"]
