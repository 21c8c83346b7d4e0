"""Your own images as a data set: `ImageFolder`, one sub-folder per class, as torchvision's.

    root/cat/001.png
    root/cat/002.jpg
    root/dog/a.png

Classes are the sub-folder names in sorted order; the images are decoded once, resized to
one size and held in memory as `uint8` NCHW, like the other data sets, so the DataLoader,
the transforms and the Trainer treat them alike. `split` holds out a stratified part for
testing; `channel_stats` gives the per-channel mean and standard deviation to normalise
with (compute it on the training part only).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .image_files import IMAGE_EXTENSIONS, image_info, read_image
from .loader import ArrayDataset

__all__ = ["ImageFolder", "find_classes"]

PathLike = str | os.PathLike[str]
Transform = Callable[[np.ndarray], np.ndarray]


def find_classes(root: PathLike) -> tuple[list[str], dict[str, list[Path]]]:
    """The class names (sub-folders of `root` holding at least one image, sorted) and each
    class's image files (sorted; hidden files skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"ImageFolder: {root} is not a folder")
    files = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(
            p
            for p in sub.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if images:
            files[sub.name] = images
    if len(files) < 1:
        raise ValueError(
            f"ImageFolder: {root} has no class sub-folders with images "
            f"({', '.join(IMAGE_EXTENSIONS)}); expected root/<class>/<image>"
        )
    return list(files), files


class ImageFolder(ArrayDataset):
    """Images in `root/<class>/<file>` as a data set of (image, class index).

    Parameters
    ----------
    root : path
        The folder of class sub-folders.
    size : int or (height, width), optional
        Resize every image to this; default: the most common size among the images.
    channels : int, optional
        1 (grey) or 3 (RGB); default 1 if every image is grey, else 3.
    transform : callable, optional
        Applied to the images, as in the other data sets.

    Attributes
    ----------
    classes : list of str
    class_to_idx : dict
    samples : list of (path, class index)
    images : uint8 ndarray (N, C, H, W)
    targets : int64 ndarray (N,)
    """

    def __init__(
        self,
        root: PathLike,
        size: int | tuple[int, int] | None = None,
        channels: int | None = None,
        transform: Transform | None = None,
    ):
        self.root = Path(root)
        self.classes, files = find_classes(self.root)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = [(p, self.class_to_idx[c]) for c in self.classes for p in files[c]]
        if isinstance(size, (int, np.integer)):
            size = (int(size), int(size))
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ValueError(
                f"ImageFolder: size must be a positive int or (height, width), got {size!r}"
            )
        info = [image_info(p) for p, _ in self.samples]  # headers only: nothing decoded yet
        if channels is None:
            channels = 1 if all(c == 1 for c, _ in info) else 3
        if size is None:
            size = Counter(hw for _, hw in info).most_common(1)[0][0]
        height, width = size
        self.size, self.channels = (int(height), int(width)), channels
        images = np.empty((len(info), channels) + self.size, np.uint8)
        for i, (path, _) in enumerate(self.samples):
            images[i] = read_image(path, channels, self.size)
        targets = np.array([t for _, t in self.samples], np.int64)
        super().__init__(images, targets, transform=transform)

    @property
    def images(self) -> np.ndarray:
        """``uint8`` images, NCHW."""
        return self.arrays[0]

    @property
    def targets(self) -> np.ndarray:
        """``int64`` class indices."""
        return self.arrays[1]

    def split(self, test_fraction: float, seed: int = 0) -> tuple[ArrayDataset, ArrayDataset]:
        """(train, test): a random `test_fraction` of each class held out (at least one
        image of each class with two or more), the same for the same seed."""
        if not 0 < test_fraction < 1:
            raise ValueError(
                f"ImageFolder.split: test_fraction must be in (0, 1), got {test_fraction}"
            )
        rng = np.random.default_rng(seed)
        test = []
        for c in range(len(self.classes)):
            idx = np.flatnonzero(self.targets == c)
            k = int(round(len(idx) * test_fraction))
            k = min(max(k, 1 if len(idx) > 1 else 0), len(idx) - 1)
            test.extend(rng.permutation(idx)[:k].tolist())
        mask = np.zeros(len(self), bool)
        mask[test] = True
        return (self._part(np.flatnonzero(~mask)), self._part(np.flatnonzero(mask)))

    def _part(self, idx: np.ndarray) -> ArrayDataset:
        part = ArrayDataset(self.images[idx], self.targets[idx], transform=self.transform)
        part.classes = self.classes  # type: ignore[attr-defined]
        return part

    @staticmethod
    def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and standard deviation of uint8 NCHW images scaled to [0, 1]
        (what `transforms.Normalize` takes)."""
        x = images.astype(np.float64) / 255.0
        std = x.std(axis=(0, 2, 3))
        return (
            tuple(float(v) for v in x.mean(axis=(0, 2, 3))),
            tuple(float(v) if v > 0 else 1.0 for v in std),
        )

    def __repr__(self) -> str:
        return (
            f"ImageFolder({len(self)} images {self.images.shape[1:]}, "
            f"{len(self.classes)} classes, from {self.root})"
        )
