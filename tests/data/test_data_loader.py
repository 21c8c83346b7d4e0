"""ArrayDataset, Subset, random_split and DataLoader."""

import numpy as np
import pytest

from strided.data import (
    ArrayDataset,
    DataLoader,
    Subset,
    TensorDataset,
    random_split,
    train_val_split,
)
from strided.data.transforms import Compose, Normalize, ToFloat


def make(n=10):
    x = np.arange(n * 2 * 3 * 3, dtype=np.uint8).reshape(n, 2, 3, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return x, y


class ListDataset:
    """Not array-backed: exercises the per-sample path."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        assert isinstance(i, int)
        return self.x[i], int(self.y[i])


def cat(loader):
    xs, ys = zip(*loader, strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_array_dataset_indexing():
    x, y = make()
    ds = ArrayDataset(x, y)
    assert TensorDataset is ArrayDataset and len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, x[3])
    assert yi == y[3]
    xb, yb = ds[np.array([5, 1, 5])]
    np.testing.assert_array_equal(xb, x[[5, 1, 5]])
    np.testing.assert_array_equal(yb, y[[5, 1, 5]])
    with pytest.raises(IndexError, match="index 10 out of range for length 10"):
        ds[10]
    with pytest.raises(
        ValueError, match=r"share their first dimension, got shapes \(10, 2, 3, 3\), \(9,\)"
    ):
        ArrayDataset(x, y[:9])


def test_dataset_transform_single_and_batch():
    x, y = make()
    ds = ArrayDataset(x, y, transform=ToFloat())
    xi, _ = ds[2]
    assert xi.dtype == np.float32 and xi.shape == (2, 3, 3)
    np.testing.assert_allclose(xi, x[2] / 255.0, rtol=1e-6)
    xb, _ = ds[np.arange(4)]
    np.testing.assert_allclose(xb, x[:4] / 255.0, rtol=1e-6)


@pytest.mark.parametrize(
    "n, bs, drop, expected",
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (9, 3, False, [3, 3, 3]),
        (2, 5, True, []),
    ],
)
def test_batch_sizes_and_len(n, bs, drop, expected):
    x, y = make(n)
    loader = DataLoader((x, y), batch_size=bs, drop_last=drop)
    sizes = [len(b[1]) for b in loader]
    assert sizes == expected and len(loader) == len(expected)


def test_sequential_order_and_dtypes():
    x, y = make()
    xs, ys = cat(DataLoader(ArrayDataset(x, y), batch_size=4))
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ys, y)
    assert xs.dtype == np.uint8 and ys.dtype == np.int64


def test_single_array_input():
    x, _ = make()
    (batch,) = next(iter(DataLoader(x, batch_size=4)))
    np.testing.assert_array_equal(batch, x[:4])


def test_shuffle_is_a_permutation_reproducible_and_changes_per_epoch():
    x, y = make(50)
    a = DataLoader((x, y), batch_size=7, shuffle=True, seed=3)
    b = DataLoader((x, y), batch_size=7, shuffle=True, seed=3)
    a1, a2 = cat(a)[1], cat(a)[1]
    b1, b2 = cat(b)[1], cat(b)[1]
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    xs, _ = cat(DataLoader((x, y), batch_size=7, shuffle=True, seed=3))
    assert sorted(map(tuple, xs.reshape(50, -1).tolist())) == sorted(
        map(tuple, x.reshape(50, -1).tolist())
    )
    ox = [
        cat(DataLoader((x, np.arange(50)), batch_size=50, shuffle=True, seed=s))[1] for s in (3, 4)
    ]
    assert not np.array_equal(ox[0], ox[1])
    orders = []
    loader = DataLoader((x, np.arange(50)), batch_size=50, shuffle=True, seed=3)
    for _ in range(3):
        orders.append(cat(loader)[1])
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    assert sorted(orders[0].tolist()) == list(range(50))
    loader.set_epoch(1)  # resume: epoch 1 again gives the same order
    np.testing.assert_array_equal(cat(loader)[1], orders[1])


def test_generator_drives_shuffling():
    x, y = make(30)
    ids = np.arange(30)
    a = cat(DataLoader((x, ids), batch_size=30, shuffle=True, generator=np.random.default_rng(9)))[
        1
    ]
    np.testing.assert_array_equal(a, np.random.default_rng(9).permutation(30))


def test_generic_dataset_path_matches_array_path():
    x, y = make(11)
    fast = cat(DataLoader(ArrayDataset(x, y), batch_size=4, shuffle=True, seed=1))
    slow = cat(DataLoader(ListDataset(x, y), batch_size=4, shuffle=True, seed=1))
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


def test_batch_transform():
    x, y = make()
    t = Compose([ToFloat(), Normalize(0.5, 0.25)])
    xb, yb = next(iter(DataLoader((x, y), batch_size=5, transform=t)))
    assert xb.dtype == np.float32
    np.testing.assert_allclose(xb, (x[:5] / 255.0 - 0.5) / 0.25, rtol=1e-5)
    np.testing.assert_array_equal(yb, y[:5])


@pytest.mark.parametrize("prefetch", [1, 3])
def test_prefetch_gives_identical_batches(prefetch):
    x, y = make(40)
    t = ToFloat()
    ref = list(DataLoader((x, y), batch_size=6, shuffle=True, seed=5, transform=t))
    got = list(
        DataLoader((x, y), batch_size=6, shuffle=True, seed=5, transform=t, prefetch=prefetch)
    )
    assert len(got) == len(ref) == 7
    for (rx, ry), (gx, gy) in zip(ref, got, strict=True):
        np.testing.assert_array_equal(rx, gx)
        np.testing.assert_array_equal(ry, gy)


def test_prefetch_early_break_and_errors():
    x, y = make(40)
    loader = DataLoader((x, y), batch_size=2, prefetch=2)
    for i, _ in enumerate(loader):
        if i == 1:
            break  # the worker thread must stop; the next epoch works
    assert len(list(loader)) == 20

    def boom(batch):
        if batch[0, 0, 0, 0] > 18 * 4:  # fails on the third batch
            raise RuntimeError("transform failed")
        return batch

    got = []
    with pytest.raises(RuntimeError, match="transform failed"):
        for b in DataLoader((x, y), batch_size=4, transform=boom, prefetch=2):
            got.append(b)
    assert len(got) == 2


def test_subset_and_random_split():
    x, y = make(20)
    ds = ArrayDataset(x, np.arange(20))
    parts = random_split(ds, [12, 5, 3], seed=0)
    assert [len(p) for p in parts] == [12, 5, 3]
    ids = np.concatenate([p.indices for p in parts])
    assert sorted(ids.tolist()) == list(range(20))
    again = random_split(ds, [12, 5, 3], seed=0)
    np.testing.assert_array_equal(again[1].indices, parts[1].indices)
    xb, yb = parts[0][np.array([0, 2])]
    np.testing.assert_array_equal(yb, parts[0].indices[[0, 2]])
    np.testing.assert_array_equal(xb, x[parts[0].indices[[0, 2]]])
    assert parts[0][1][1] == parts[0].indices[1]
    # A loader over a subset fetches through the subset's indices, as a batch.
    _, ys = cat(DataLoader(parts[1], batch_size=2))
    np.testing.assert_array_equal(ys, parts[1].indices)
    # Subset of a non-array data set works one sample at a time.
    sub = Subset(ListDataset(x, np.arange(20)), [4, 2])
    _, ys = cat(DataLoader(sub, batch_size=2))
    np.testing.assert_array_equal(ys, [4, 2])


def test_random_split_fractions_and_errors():
    ds = ArrayDataset(np.zeros((10, 1)))
    assert [len(p) for p in random_split(ds, [0.7, 0.2, 0.1], seed=1)] == [7, 2, 1]
    assert [len(p) for p in random_split(ArrayDataset(np.zeros((11, 1))), [0.5, 0.5], seed=1)] == [
        6,
        5,
    ]
    with pytest.raises(ValueError, match="sum to 9, but the data set has 10"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="must sum to 1"):
        random_split(ds, [0.5, 0.4])
    train, val = train_val_split(ds, 0.2, seed=0)
    assert len(train) == 8 and len(val) == 2
    assert not set(train.indices) & set(val.indices)


def test_loader_argument_errors():
    x, y = make()
    with pytest.raises(ValueError, match="DataLoader: batch_size must be a positive int, got 0"):
        DataLoader((x, y), batch_size=0)
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader((x, y), prefetch=-1)
    with pytest.raises(ValueError, match="seed or generator, not both"):
        DataLoader((x, y), seed=1, generator=np.random.default_rng())
    with pytest.raises(TypeError, match="DataLoader: seed must be an int, got Generator"):
        DataLoader((x, y), seed=np.random.default_rng())
    with pytest.raises(TypeError, match="DataLoader: dataset must have __len__"):
        DataLoader(42)
