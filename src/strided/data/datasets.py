"""The classic image data sets: MNIST, Fashion-MNIST, KMNIST, CIFAR-10, CIFAR-100.

Each is an ``ArrayDataset`` of ``(images, targets)``: ``images`` is ``uint8`` NCHW
(``(N, 1, 28, 28)`` or ``(N, 3, 32, 32)``), ``targets`` ``int64``. ``.data`` is the
familiar torchvision layout, ``(N, H, W)`` or ``(N, H, W, 3)`` — a view of the same
memory. Files are searched for as ``strided.data.download`` describes, and fetched
from the official mirrors with ``download=True``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import download as _dl
from .cifar import cifar_images, load_cifar_batch, load_cifar_meta
from .idx import read_idx
from .loader import ArrayDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100"]

PathLike = str | os.PathLike[str]
Transform = Callable[[np.ndarray], np.ndarray]


class _ImageDataset(ArrayDataset):
    """Shared behaviour: ``images``/``targets``/``data``/``classes`` and the search for files."""

    name: str = ""
    classes: list[str] = []

    def __init__(
        self,
        images: np.ndarray,
        targets: np.ndarray,
        train: bool,
        transform: Transform | None,
        source: Path,
    ):
        super().__init__(images, targets, transform=transform)
        self.train = train
        self.source = source  # the folder the files came from

    @property
    def images(self) -> np.ndarray:
        """``uint8`` images, NCHW."""
        return self.arrays[0]

    @property
    def targets(self) -> np.ndarray:
        """``int64`` class indices."""
        return self.arrays[1]

    def _check_targets(self) -> None:
        t = self.targets
        if t.size and (t.min() < 0 or t.max() >= len(self.classes)):
            raise ValueError(
                f"{type(self).__name__}: labels in {self.source} range over [{t.min()}, "
                f"{t.max()}], "
                f"expected [0, {len(self.classes) - 1}]"
            )

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return (
            f"{type(self).__name__}({split}, {len(self)} images {self.images.shape[1:]}, from "
            f"{self.source})"
        )


class MNIST(_ImageDataset):
    """MNIST handwritten digits: 60000 training and 10000 test images, 28×28 grey.

    Parameters
    ----------
    root : folder holding the four IDX files (gzipped or not), optional
    train : the training split (else the test split)
    download : fetch the files from the mirror when they are nowhere on disk
    transform : applied to what ``ds[i]`` / ``ds[index_array]`` return (images only)
    """

    name = "mnist"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]
    # (file name, md5 of the file as the mirror serves it)
    resources = {
        "train-images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train-labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        "test-images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        "test-labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    }
    classes = [str(d) for d in range(10)]
    install_hint = ""

    def __init__(
        self,
        root: PathLike | None = None,
        train: bool = True,
        download: bool = False,
        transform: Transform | None = None,
    ):
        split = "train" if train else "test"
        wanted = [self.resources[f"{split}-images"][0], self.resources[f"{split}-labels"][0]]
        # torchvision keeps these files in root/<ClassName>/raw; reuse such a download.
        torch_dir = [f"{type(self).__name__}/raw"]
        found = _dl.find_dir(self.name, wanted, root, torch_dir)
        if found is None and download:
            self.download(root)
            found = _dl.find_dir(self.name, wanted, root, torch_dir)
        if found is None:
            raise FileNotFoundError(
                _dl.not_found_message(
                    type(self).__name__, self.name, wanted, root, self.install_hint, torch_dir
                )
            )
        # Found files are not checked against the mirror's md5: distributions recompress
        # them (Debian's Fashion-MNIST .gz differ byte-wise), and read_idx checks that the
        # shape and length are consistent.
        images, labels = (read_idx(found[f]) for f in wanted)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{type(self).__name__}: {found[wanted[0]]} holds {images.shape} {images.dtype}, "
                "expected (N, H, W) uint8"
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"{type(self).__name__}: {len(images)} images in {found[wanted[0]]} but labels "
                "of shape "
                f"{labels.shape} in {found[wanted[1]]}"
            )
        super().__init__(
            images[:, None], labels.astype(np.int64), train, transform, found[wanted[0]].parent
        )
        self._check_targets()

    @property
    def data(self) -> np.ndarray:
        """``uint8`` images ``(N, H, W)`` (a view of ``images``)."""
        return self.images[:, 0]

    @classmethod
    def download(cls, root: PathLike | None = None) -> Path:
        """Fetch all four files into ``root/<name>`` (or the user cache); returns the folder.

        Each mirror is tried in turn; every file's md5 is checked before it is kept.
        """
        folder = Path(root).expanduser() / cls.name if root is not None else _dl.cache_dir(cls.name)
        for filename, md5 in cls.resources.values():
            if _dl.resolve_file(folder, filename) is not None:
                continue
            errors = []
            for mirror in cls.mirrors:
                try:
                    _dl.download_url(mirror + filename, folder / filename, md5=md5)
                    break
                except (OSError, ValueError) as exc:  # URLError is an OSError
                    errors.append(f"{mirror}{filename}: {exc}")
            else:
                raise OSError(
                    f"{cls.__name__}.download: could not fetch {filename}:\n  "
                    + "\n  ".join(errors)
                )
        return folder


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 60000/10000 grey 28×28 images of clothes, 10 classes.

    Same format and arguments as ``MNIST``. On Debian/Ubuntu,
    ``apt-get install dataset-fashion-mnist`` installs it where it is found.
    """

    name = "fashion-mnist"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = {
        "train-images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train-labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        "test-images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        "test-labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    }
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    install_hint = (
        "On Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist (installs into "
        "/usr/share/datasets/fashion-mnist)."
    )


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 60000/10000 grey 28×28 images of cursive Japanese characters.

    Same format and arguments as ``MNIST``.
    """

    name = "kmnist"
    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = {
        "train-images": ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        "train-labels": ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        "test-images": ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        "test-labels": ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    }
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class CIFAR10(_ImageDataset):
    """CIFAR-10: 50000 training and 10000 test colour images, 32×32, 10 classes.

    Reads the official "python version" (``cifar-10-batches-py/data_batch_1`` … ``5``,
    ``test_batch``, ``batches.meta``) with a restricted unpickler that refuses any code.
    Arguments as ``MNIST``.

    Parameters
    ----------
    root : str or PathLike or None
        Folder holding the data set (the default data folder when None).
    train : bool
        Load the training set (True) or the test set (False).
    download : bool
        Download the archive into root when it is missing.
    """

    name = "cifar-10"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    md5 = "c58f30108f718f92721af3b95e74349a"
    folder = "cifar-10-batches-py"
    train_files = [f"data_batch_{i}" for i in range(1, 6)]
    test_files = ["test_batch"]
    meta_file = "batches.meta"
    label_key = "labels"
    names_key = "label_names"

    def __init__(
        self,
        root: PathLike | None = None,
        train: bool = True,
        download: bool = False,
        transform: Transform | None = None,
    ):
        files = self.train_files if train else self.test_files
        wanted = [f"{self.folder}/{f}" for f in files + [self.meta_file]]
        found = _dl.find_dir(self.name, wanted, root)
        if found is None and download:
            self.download(root)
            found = _dl.find_dir(self.name, wanted, root)
        if found is None:
            raise FileNotFoundError(
                _dl.not_found_message(type(self).__name__, self.name, wanted, root)
            )
        parts = [load_cifar_batch(found[w], self.label_key) for w in wanted[:-1]]
        data = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        self.classes = load_cifar_meta(found[wanted[-1]], self.names_key)
        super().__init__(cifar_images(data), labels, train, transform, found[wanted[0]].parent)
        self._check_targets()

    @property
    def data(self) -> np.ndarray:
        """``uint8`` images ``(N, 32, 32, 3)`` (a transposed view of ``images``)."""
        return self.images.transpose(0, 2, 3, 1)

    @classmethod
    def download(cls, root: PathLike | None = None) -> Path:
        """Fetch the tarball, check its md5, unpack it safely into ``root/<name>`` or the cache."""
        folder = Path(root).expanduser() / cls.name if root is not None else _dl.cache_dir(cls.name)
        archive = folder / cls.url.rsplit("/", 1)[-1]
        if not archive.is_file():
            _dl.download_url(cls.url, archive, md5=cls.md5)
        _dl.extract_archive(archive, folder)
        return folder


class CIFAR100(CIFAR10):
    """CIFAR-100: 50000/10000 colour 32×32 images in 100 classes (20 superclasses).

    ``label_mode='fine'`` (default) gives the 100 classes, ``'coarse'`` the 20 superclasses.

    Parameters
    ----------
    root : str or PathLike or None
        Folder holding the data set (the default data folder when None).
    train : bool
        Load the training set (True) or the test set (False).
    download : bool
        Download the archive into root when it is missing.
    """

    name = "cifar-100"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    folder = "cifar-100-python"
    train_files = ["train"]
    test_files = ["test"]
    meta_file = "meta"

    def __init__(
        self,
        root: PathLike | None = None,
        train: bool = True,
        download: bool = False,
        transform: Transform | None = None,
        label_mode: str = "fine",
    ):
        if label_mode not in ("fine", "coarse"):
            raise ValueError(f"CIFAR100: label_mode must be 'fine' or 'coarse', got {label_mode!r}")
        self.label_mode = label_mode
        self.label_key = f"{label_mode}_labels"
        self.names_key = f"{label_mode}_label_names"
        super().__init__(root, train, download, transform)
