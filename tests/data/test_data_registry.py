"""data/registry.py: data sets by name, with their image shapes and statistics."""

import pytest

from strided.data import FashionMNIST, write_idx
from strided.data.registry import DATASETS, dataset_info, dataset_key, list_datasets, load_dataset


def test_spellings_resolve_to_one_key_and_unknown_names_list_the_choices():
    assert dataset_key("Fashion_MNIST") == dataset_key("fashionmnist") == "fashion-mnist"
    assert dataset_key("CIFAR-10") == "cifar10"
    with pytest.raises(ValueError, match="unknown data set 'svhn'; choose from fashion-mnist"):
        dataset_key("svhn")


def test_entries_carry_shape_and_one_statistic_per_channel():
    assert list_datasets() == list(DATASETS)
    for name in list_datasets():
        info = dataset_info(name)
        assert len(info.mean) == len(info.std) == info.in_channels
        assert info.image_shape == (info.in_channels, info.image_size, info.image_size)
    assert dataset_info("cifar100").image_shape == (3, 32, 32)
    assert dataset_info("mnist").mean == (0.1307,)


def test_load_dataset_builds_the_registered_class(tmp_path):
    import numpy as np

    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for split, n in (("train", 6), ("t10k", 4)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
    ds = load_dataset("Fashion_MNIST", train=False, root=tmp_path)
    assert isinstance(ds, FashionMNIST) and len(ds) == 4 and not ds.train
