"""Batches from data sets: ``ArrayDataset``, ``Subset``, ``random_split``, ``DataLoader``.

A batch is a tuple of NumPy arrays, ``(images, labels)`` for the image data sets; the
training loop wraps them in Tensors. Data sets backed by arrays (``ArrayDataset`` and
every built-in data set, and ``Subset`` of them) are indexed with a whole array of
indices at once, so a batch of 256 images is one fancy-indexing gather, not 256
Python calls. Any other object with ``__len__`` and ``__getitem__`` also works, one
sample at a time.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..backend import find_generators, generator_state
from .transforms import as_generator

__all__ = [
    "ArrayDataset",
    "TensorDataset",
    "Subset",
    "random_split",
    "train_val_split",
    "DataLoader",
]


class ArrayDataset:
    """A data set made of equal-length arrays, e.g. ``ArrayDataset(images, labels)``.

    ``ds[i]`` is the tuple ``(images[i], labels[i])``; ``ds[index_array]`` the batch
    ``(images[index_array], labels[index_array])``. ``transform``, if given, is applied
    to the first array (the inputs) of what is returned; the transforms of
    ``strided.data.transforms`` accept a single ``(C, H, W)`` image or an NCHW batch.
    """

    #: Tells ``DataLoader`` that ``self[index_array]`` returns a whole batch.
    batch_indexable = True

    def __init__(self, *arrays: Any, transform: Callable[[np.ndarray], np.ndarray] | None = None):
        if not arrays:
            raise ValueError("ArrayDataset: needs at least one array")
        arrays = tuple(np.asarray(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(
                f"ArrayDataset: arrays must share their first dimension, got shapes {shapes}"
            )
        self.arrays = arrays
        self.transform = transform

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index: Any) -> tuple:
        if isinstance(index, (int, np.integer)):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(
                    f"{type(self).__name__}: index {index} out of range for length {n}"
                )
        items = tuple(a[index] for a in self.arrays)
        if self.transform is not None:
            items = (self.transform(items[0]),) + items[1:]
        return items

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"


#: PyTorch's name for the same thing; here the "tensors" are NumPy arrays.
TensorDataset = ArrayDataset


class Subset:
    """The samples ``indices`` of ``dataset``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray):
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1:
            raise ValueError(f"Subset: indices must be 1-D, got shape {indices.shape}")
        n = len(dataset)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a data set of length {n}")
        self.dataset = dataset
        self.indices = indices

    @property
    def batch_indexable(self) -> bool:
        return bool(getattr(self.dataset, "batch_indexable", False))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        picked = self.indices[index]
        if isinstance(picked, np.ndarray) and not self.batch_indexable:
            return [self.dataset[int(i)] for i in picked]
        return self.dataset[picked if isinstance(picked, np.ndarray) else int(picked)]

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {self.dataset!r})"


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if any(l < 0 for l in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    if all(isinstance(l, (int, np.integer)) for l in lengths):
        if sum(lengths) != n:
            raise ValueError(
                f"random_split: lengths {lengths} sum to {sum(lengths)}, but the data set has "
                f"{n} samples"
            )
        return [int(l) for l in lengths]
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"random_split: fractions {lengths} must sum to 1 (or give integer lengths summing "
            f"to {n})"
        )
    counts = [int(math.floor(n * f)) for f in lengths]
    # The samples floor() left over go one each to the first parts, as PyTorch does.
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(
    dataset: Any, lengths: Sequence[float], seed: int | np.random.Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``\\ s.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1.
    The same ``seed`` gives the same split.
    """
    n = len(dataset)
    counts = _split_lengths(n, lengths)
    perm = as_generator(seed, "random_split").permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[a:b]) for a, b in itertools.pairwise(bounds)]


def train_val_split(
    dataset: Any, val_fraction: float = 0.1, seed: int | np.random.Generator | None = None
) -> tuple[Subset, Subset]:
    """``(train, validation)`` subsets, ``val_fraction`` of the samples (rounded) in validation.

    Parameters
    ----------
    dataset : Dataset
        Any indexable data set with a length.
    seed : int or numpy.random.Generator or None
        Seed or generator of the shuffle (fresh randomness when None).
    """
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in [0, 1], got {val_fraction}")
    n = len(dataset)
    n_val = int(round(n * val_fraction))
    train, val = random_split(dataset, [n - n_val, n_val], seed)
    return train, val


def _stack(samples: list) -> tuple:
    """Per-sample tuples ``[(x0, y0), (x1, y1), ...]`` → ``(stack(x), stack(y))``."""
    first = samples[0]
    if isinstance(first, tuple):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(first)))
    return (np.stack([np.asarray(s) for s in samples]),)


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled order of `n` samples in `epoch` of a run seeded with `seed`: a function of
    (seed, epoch) only, so that resumed runs and every rank of a distributed run agree."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


class DataLoader:
    """Iterate over a data set in (optionally shuffled) mini-batches of NumPy arrays.

    Parameters
    ----------
    dataset : a data set (``len`` and ``[]``), an array, or a tuple/list of arrays
        Arrays are wrapped in an ``ArrayDataset``.
    batch_size : int
        Samples per batch; the last batch is smaller unless ``drop_last``.
    shuffle : bool
        Draw a new random order every epoch.
    drop_last : bool
        Leave out the last, incomplete batch.
    seed : int, optional
        Makes the shuffling reproducible: epoch ``e`` uses the order drawn from
        ``(seed, e)``, so two loaders with the same seed yield the same batches, each
        epoch differs from the last, and ``set_epoch`` can resume at any epoch.
    generator : numpy.random.Generator, optional
        Alternatively, draw every epoch's order from this generator.
    transform : callable, optional
        A *batch* transform applied to the first array (the inputs) of each batch,
        e.g. ``Compose([ToFloat(), Normalize(...)])``.
    sampler : optional
        Where each epoch's order of sample indices comes from instead (e.g.
        ``strided.distributed.DistributedSampler``): an iterable of indices with ``len``;
        ``set_epoch`` is passed on to it. Not together with ``shuffle``.
    prefetch : int
        When > 0, a background thread prepares up to this many batches ahead (the
        gather and the transforms release the GIL in NumPy, so they overlap with
        training). Batches and their order are identical with or without prefetch.

    Notes
    -----
    Each batch is a tuple of arrays, ``(images, labels)`` for the image data sets.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        generator: np.random.Generator | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        prefetch: int = 0,
        sampler: Any = None,
    ):
        if isinstance(dataset, np.ndarray):
            dataset = ArrayDataset(dataset)
        elif (
            isinstance(dataset, (tuple, list))
            and dataset
            and all(isinstance(a, np.ndarray) for a in dataset)
        ):
            dataset = ArrayDataset(*dataset)
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                "DataLoader: dataset must have __len__ and __getitem__ or be arrays, got "
                f"{type(dataset).__name__}"
            )
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not isinstance(prefetch, (int, np.integer)) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be an int >= 0, got {prefetch!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(
                f"DataLoader: seed must be an int, got {type(seed).__name__} (pass a Generator "
                "as generator=)"
            )
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                "DataLoader: generator must be a numpy.random.Generator, got "
                f"{type(generator).__name__}"
            )
        if sampler is not None and (
            shuffle or not hasattr(sampler, "__iter__") or not hasattr(sampler, "__len__")
        ):
            raise ValueError(
                "DataLoader: sampler must be an iterable of indices with len(), "
                "and shuffle must be False with a sampler (the sampler orders)"
            )
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.transform = transform
        self.prefetch = int(prefetch)
        self.epoch = 0
        self._start = 0  # the batch the next iteration starts at (resuming mid-epoch)
        # where the consumer stands in the current epoch: batches taken, and the state of
        # the augmentation generators right after the last of them was made (the prefetch
        # thread may have run ahead since)
        self.batches_done = 0
        self._taken_states: dict | None = None
        # Without seed or generator, shuffling still works, from fresh OS entropy.
        self._generator = (
            generator
            if generator is not None
            else (np.random.default_rng() if seed is None else None)
        )

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Make the next ``__iter__`` use the order of ``epoch`` (with ``seed`` only),
        starting at its batch ``start`` (the earlier ones are skipped, not loaded)."""
        ordered = self.seed is not None or (
            hasattr(self.sampler, "set_epoch") if self.sampler is not None else not self.shuffle
        )
        if start and not ordered:
            raise ValueError(
                "DataLoader.set_epoch: starting inside an epoch needs the "
                "loader's order to be a function of its epoch: give seed="
            )
        self.epoch = int(epoch)
        self._start = int(start)

    def generators(self) -> Iterator[tuple[str, Any]]:
        """(path, generator) of every source of randomness of this loader: its own order
        generator (without a seed) and those of its transform and data set."""
        seen: set = set()
        if self._generator is not None and self.seed is None:
            seen.add(id(self._generator))
            yield "order", self._generator
        yield from find_generators(self.transform, "transform", seen)
        yield from find_generators(self.dataset, "dataset", seen)

    def generator_states(self) -> dict:
        """The states of `generators()` as the consumer sees them: right after the last
        batch it took (batches prefetched beyond it drew from them too)."""
        if self._taken_states is not None:
            return self._taken_states
        return {p: generator_state(g) for p, g in self.generators()}

    def _augmentation_states(self) -> dict:
        return {p: generator_state(g) for p, g in self.generators() if p != "order"}

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(self.epoch)
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        if not self.shuffle:
            return np.arange(n)
        if self.seed is not None:
            return epoch_order(n, self.seed, self.epoch)
        assert self._generator is not None  # made in __init__ whenever there is no seed
        return self._generator.permutation(n)

    def _fetch(self, idx: np.ndarray) -> tuple:
        ds = self.dataset
        if getattr(ds, "batch_indexable", False):
            batch = ds[idx]
            batch = batch if isinstance(batch, tuple) else (batch,)
        else:
            batch = _stack([ds[int(i)] for i in idx])
        if self.transform is not None:
            batch = (self.transform(batch[0]),) + tuple(batch[1:])
        return batch

    def _batches(self, order: np.ndarray, first: int) -> Iterator[tuple]:
        """(batch, generator states after making it), from batch `first` on."""
        stop = min(len(self) * self.batch_size, len(order))
        for start in range(first * self.batch_size, stop, self.batch_size):
            batch = self._fetch(order[start : start + self.batch_size])
            yield batch, self._augmentation_states()

    def __iter__(self) -> Iterator[tuple]:
        order = self._order()
        first, self._start = self._start, 0
        self.epoch += 1
        self.batches_done, self._taken_states = first, None
        items = (
            self._batches(order, first) if self.prefetch == 0 else self._prefetched(order, first)
        )
        return self._taken(items)

    def _taken(self, items: Iterator[tuple]) -> Iterator[tuple]:
        """The batches, noting as each is taken where the consumer stands."""
        order_state = {p: generator_state(g) for p, g in self.generators() if p == "order"}
        for batch, states in items:
            self.batches_done += 1
            self._taken_states = {**order_state, **states}
            yield batch

    def _prefetched(self, order: np.ndarray, first: int) -> Iterator[tuple]:
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        done = threading.Event()
        end = object()

        def put(item: Any) -> bool:
            # Polls ``done`` so the worker exits when the consumer stops early.
            while not done.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            try:
                for batch in self._batches(order, first):
                    if not put(batch):
                        return
                put(end)
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)

        worker = threading.Thread(target=work, name="strided-DataLoader-prefetch", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is end:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            done.set()
            worker.join()

    def __repr__(self) -> str:
        return (
            f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, prefetch={self.prefetch})"
        )
