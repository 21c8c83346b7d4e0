"""Small data sets the tests write for themselves (the real ones are not always installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from strided.data import write_idx


def write_fake_fashion(root: Path, n_train: int = 240, n_test: int = 80, seed: int = 0) -> Path:
    """Fashion-MNIST-shaped IDX files under ``root/fashion-mnist``: 28×28 uint8 images of
    10 classes, each class a bright bar at its own place plus noise, so that a small
    network learns them in a few steps."""
    rng = np.random.default_rng(seed)
    folder = root / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            images[i, 2 + 2 * c : 5 + 2 * c, 4:24] = 230
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return root
