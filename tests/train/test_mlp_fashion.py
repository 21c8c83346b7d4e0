"""The notes' small MLP 784-16-16-10 (13,002 parameters) trained on real Fashion-MNIST.

Reads the IDX files directly with NumPy (the Debian `dataset-fashion-mnist` package puts
them in /usr/share/datasets/fashion-mnist); skipped when they are absent.
"""

import gzip
import os

import numpy as np
import pytest

import strided.nn as nn
import strided.optim as optim
from strided import Generator, Tensor, no_grad
from strided.functional.loss import cross_entropy

ROOT = "/usr/share/datasets/fashion-mnist"


def read_idx(path: str) -> np.ndarray:
    """IDX: 2 zero bytes, a type code (0x08 = ubyte), the rank, big-endian dims, data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(name: str):
    for candidate in (name, name + ".gz"):
        path = os.path.join(ROOT, candidate)
        if os.path.exists(path):
            return path
    return None


def mlp(generator=None) -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 16, generator=generator),
        nn.ReLU(),
        nn.Linear(16, 16, generator=generator),
        nn.ReLU(),
        nn.Linear(16, 10, generator=generator),
    )


def test_parameter_count_of_the_notes():
    # (784·16 + 16) + (16·16 + 16) + (16·10 + 10)
    assert mlp().num_parameters() == 12560 + 272 + 170 == 13002


@pytest.mark.slow
def test_mlp_trains_on_fashion_mnist():
    pytest.importorskip("strided.functional.linalg")
    pytest.importorskip("strided.functional.activation")
    img, lab = find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte")
    if img is None or lab is None:
        pytest.skip(f"Fashion-MNIST not found in {ROOT} (apt-get install dataset-fashion-mnist)")
    x_all = read_idx(img)[:12000].astype(np.float32) / 255.0
    y_all = read_idx(lab)[:12000].astype(np.int64)
    assert x_all.shape == (12000, 28, 28) and y_all.max() == 9
    x_all = (x_all - 0.2860) / 0.3530  # Fashion-MNIST's mean and std
    x_train, y_train = x_all[:10000, None], y_all[:10000]
    x_val, y_val = x_all[10000:, None], y_all[10000:]

    model = mlp(Generator(0))
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(400):
        idx = rng.integers(0, len(x_train), 64)
        loss = cross_entropy(model(Tensor(x_train[idx])), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:25]), np.mean(losses[-25:])
    assert np.isfinite(losses).all()
    assert last < 0.6 * first, (first, last)  # from ≈ ln 10 = 2.30 to well below
    model.eval()
    with no_grad():
        acc = (model(Tensor(x_val)).data.argmax(1) == y_val).mean()
    assert acc > 0.7, acc  # chance is 0.1
