"""Name → data set, with what a model needs to know before it sees an image: the class in
``strided.data``, the image shape, and the per-channel mean and standard deviation of the
training set (for normalising).

    dataset_key("Fashion_MNIST") == "fashion-mnist"
    load_dataset("cifar10", train=False)        dataset_info("mnist").mean
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loader import ArrayDataset

__all__ = [
    "DatasetInfo",
    "DATASETS",
    "dataset_key",
    "dataset_info",
    "list_datasets",
    "load_dataset",
]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: its class name in ``strided.data``, one image's shape
    (C, H, W), and the training set's per-channel mean and standard deviation."""

    name: str
    class_name: str
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def in_channels(self) -> int:
        """Channels of one image."""
        return self.image_shape[0]

    @property
    def image_size(self) -> int:
        """Height (= width) of one image."""
        return self.image_shape[-1]


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("fashion-mnist", "FashionMNIST", (1, 28, 28), (0.2860,), (0.3530,)),
        DatasetInfo("mnist", "MNIST", (1, 28, 28), (0.1307,), (0.3081,)),
        DatasetInfo("kmnist", "KMNIST", (1, 28, 28), (0.1918,), (0.3483,)),
        DatasetInfo(
            "cifar10", "CIFAR10", (3, 32, 32), (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
        ),
        DatasetInfo(
            "cifar100", "CIFAR100", (3, 32, 32), (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
        ),
    )
}
_ALIASES = {
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
}


def dataset_key(name: str) -> str:
    """The registered name for ``name`` (case and common spellings forgiven); a
    ``ValueError`` listing the choices for an unknown one."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    return key


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of ``name``."""
    return DATASETS[dataset_key(name)]


def list_datasets() -> list[str]:
    """Registered names, in the registry's order."""
    return list(DATASETS)


def load_dataset(
    name: str, train: bool, root: str | os.PathLike | None = None, download: bool = False
) -> ArrayDataset:
    """The ``strided.data`` data set ``name``, its training or test split.

    Parameters
    ----------
    name : str
        A registered name (see ``list_datasets``).
    train : bool
        The training split, or the test split.
    root : path, optional
        A folder holding the files (otherwise the usual search: ``$STRIDED_DATA``, the
        user cache, ``/usr/share/datasets``).
    download : bool
        Fetch the files from the official mirror when they are not found.
    """
    from . import datasets

    cls = getattr(datasets, dataset_info(name).class_name)
    return cls(root=root, train=train, download=download)
