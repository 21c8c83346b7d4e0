"""Data sets, loaders and transforms — plain NumPy, no autograd.

A batch is a tuple of NumPy arrays, ``(images, labels)``; the training loop wraps
them in Tensors.

>>> from strided.data import FashionMNIST, DataLoader, transforms as T
>>> train = FashionMNIST(train=True)                        # doctest: +SKIP
>>> loader = DataLoader(train, batch_size=128, shuffle=True, seed=0,
...                     transform=T.Compose([T.ToFloat(), T.Normalize(0.286, 0.353)]))
"""

from . import transforms
from .cifar import load_cifar_batch, load_cifar_meta, safe_unpickle
from .datasets import CIFAR10, CIFAR100, KMNIST, MNIST, FashionMNIST
from .download import cache_dir, candidate_dirs, download_url, extract_archive, file_hash, find_dir
from .idx import read_idx, write_idx
from .image_files import read_image, read_npy
from .imagefolder import ImageFolder
from .loader import ArrayDataset, DataLoader, Subset, TensorDataset, random_split, train_val_split

__all__ = [
    "transforms",
    "MNIST",
    "FashionMNIST",
    "KMNIST",
    "CIFAR10",
    "CIFAR100",
    "ImageFolder",
    "read_image",
    "read_npy",
    "ArrayDataset",
    "TensorDataset",
    "Subset",
    "DataLoader",
    "random_split",
    "train_val_split",
    "read_idx",
    "write_idx",
    "load_cifar_batch",
    "load_cifar_meta",
    "safe_unpickle",
    "cache_dir",
    "candidate_dirs",
    "find_dir",
    "download_url",
    "extract_archive",
    "file_hash",
]
