"""A short real training: LeNet-5 on Fashion-MNIST through `strided train`, a few
hundred Adam steps, must clear an accuracy floor far above chance (0.10).

Needs the data set (CI: `apt-get install dataset-fashion-mnist`, which installs it in
/usr/share/datasets/fashion-mnist); skipped without it.
"""

from __future__ import annotations

import json

import pytest

from strided.cli import main
from strided.data import FashionMNIST


def _have_fashion() -> bool:
    try:
        FashionMNIST(train=False)
        return True
    except (FileNotFoundError, ValueError):
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    not _have_fashion(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)
def test_lenet5_fashion_mnist_300_steps(tmp_path, capsys):
    # 300 steps of batch 128 (38,400 images, 0.64 epoch), tested on 2,000 test images
    rc = main(
        [
            "train",
            "--epochs",
            "1",
            "--limit-train",
            "38400",
            "--val-split",
            "0",
            "--limit-test",
            "2000",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--seed",
            "0",
        ]
    )
    assert rc == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["steps"] == 300
    assert results["test_accuracy"] >= 0.72, results["test_accuracy"]  # 0.79 measured
    assert results["final"]["train_loss"] < 1.0
    out = capsys.readouterr().out
    assert "test accuracy" in out
