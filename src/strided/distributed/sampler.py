"""Each rank's share of an epoch: the seeded permutation of all samples, dealt round-robin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..data.loader import epoch_order
from .comm import get_rank, get_world_size


class DistributedSampler:
    """The sample indices of one rank for each epoch, as PyTorch's ``DistributedSampler``.

    Every rank draws the same permutation from ``(seed, epoch)``; it is made a multiple of
    the world size, by repeating its first indices (``drop_last=False``) or by leaving out
    its tail (``drop_last=True``), and rank ``r`` takes positions ``r, r + R, r + 2R, …``.
    So over the ranks every sample appears exactly once per epoch (plus the few repeats
    that pad), and with a per-rank batch ``B`` the ranks' k-th batches together are the
    k-th batch of size ``R·B`` of a single-process loader with the same seed.

    Parameters
    ----------
    dataset : a data set (anything with ``len``) or a number of samples
    num_replicas, rank : int, optional
        The world size and this rank (default: from ``strided.distributed``).
    shuffle : bool
        Permute every epoch (False: the natural order, for evaluation).
    seed : int
        The run's seed; the same on every rank.
    drop_last : bool
        Drop the tail instead of padding.
    pad : bool
        With ``drop_last=False``: pad to equal shares (True, as PyTorch), or give the first
        ranks one sample more (False: exact evaluation, every sample counted once).
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        pad: bool = True,
    ):
        n = dataset if isinstance(dataset, (int, np.integer)) else len(dataset)
        replicas = get_world_size() if num_replicas is None else int(num_replicas)
        rank = get_rank() if rank is None else int(rank)
        if replicas < 1 or not 0 <= rank < replicas:
            raise ValueError(
                f"DistributedSampler: rank must be in [0, {replicas}) with "
                f"num_replicas={replicas}, got rank {rank}"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"DistributedSampler: seed must be an int, got {seed!r}")
        self.num_samples_total = int(n)
        self.num_replicas, self.rank = replicas, rank
        self.shuffle, self.seed, self.drop_last, self.pad = (
            bool(shuffle),
            int(seed),
            bool(drop_last),
            bool(pad),
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of `epoch` next (the DataLoader passes its epoch on)."""
        self.epoch = int(epoch)

    def _indices(self) -> np.ndarray:
        n, R = self.num_samples_total, self.num_replicas
        order = epoch_order(n, self.seed, self.epoch) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[: n - n % R]
        elif self.pad and n % R:
            extra = R - n % R
            order = np.concatenate([order, np.resize(order, extra)])
        return order[self.rank :: R]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        n, R = self.num_samples_total, self.num_replicas
        if self.drop_last:
            return n // R
        if self.pad:
            return -(-n // R)
        return n // R + (1 if self.rank < n % R else 0)

    def __repr__(self) -> str:
        return (
            f"DistributedSampler({self.num_samples_total} samples, rank {self.rank} of "
            f"{self.num_replicas}, shuffle={self.shuffle}, seed={self.seed})"
        )
