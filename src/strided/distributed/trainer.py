"""The Trainer of a data-parallel run: metrics over all ranks, output from rank 0 only."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..train.trainer import Trainer
from . import comm


def _samples(loader: Iterable) -> int:
    """How many samples this rank's loader yields in an epoch."""
    sampler = getattr(loader, "sampler", None)
    if sampler is not None:
        return len(sampler)
    dataset = getattr(loader, "dataset", None)
    return len(dataset) if dataset is not None else 0


def mean_over_ranks(metrics: dict, count: int) -> dict:
    """Metrics of every rank combined: numbers as the mean weighted by each rank's `count`
    of samples, arrays (confusion matrices) summed; `images_per_s` summed (the whole job's
    throughput) and `seconds` the slowest rank's.

    Parameters
    ----------
    metrics : dict
        This rank's metrics (numbers, arrays, 'seconds', 'images_per_s').
    """
    keys = sorted(
        k
        for k, v in metrics.items()
        if k not in ("seconds", "images_per_s")
        and isinstance(v, (int, float, np.number))
        and not isinstance(v, bool)
    )
    values = np.array([count] + [float(metrics[k]) * count for k in keys], dtype=np.float64)
    comm.allreduce_(values, "the epoch's metrics")
    total = max(values[0], 1.0)
    out = dict(metrics)
    for k, v in zip(keys, values[1:], strict=True):
        out[k] = float(v / total)
    if "images_per_s" in metrics:
        rate = comm.allreduce_(np.array([float(metrics["images_per_s"])]), "the metrics")
        out["images_per_s"] = float(rate[0])
    if "seconds" in metrics:
        slowest = comm.allreduce_(np.array([float(metrics["seconds"])]), "the metrics", "max")
        out["seconds"] = float(slowest[0])
    for k, v in metrics.items():
        if isinstance(v, np.ndarray) and v.dtype.kind in "iuf":
            out[k] = comm.allreduce_(
                np.ascontiguousarray(v, dtype=np.float64).copy(), "the epoch's metrics"
            ).astype(v.dtype)
    return out


class DistributedTrainer(Trainer):
    """A `Trainer` for a model wrapped in `DistributedDataParallel`, with each rank's loaders
    holding its share (`DistributedSampler`).

    Every rank trains; the epoch's metrics (loss, accuracy, validation) are combined over the
    ranks so that all of them see the same numbers (and make the same early-stopping
    decision); only rank 0 shows the progress bar, prints, and writes checkpoints.
    All ranks must be seeded alike, so that their random generators (dropout, augmentation)
    stay in step and rank 0's checkpoint restores every rank.
    """

    def __init__(self, model: Any, optimizer: Any, *args: Any, **kwargs: Any):
        comm.init()
        if not comm.is_main_process():
            kwargs["progress"], kwargs["verbose"] = False, False
        super().__init__(model, optimizer, *args, **kwargs)
        self.rank = comm.get_rank()  # callbacks that write (TensorBoard) do so on rank 0 only

    def train_epoch(self, loader: Iterable, epoch: int | None = None) -> dict:
        return mean_over_ranks(super().train_epoch(loader, epoch), _samples(loader))

    def evaluate(self, loader: Iterable, **kwargs: Any) -> dict:
        return mean_over_ranks(super().evaluate(loader, **kwargs), _samples(loader))

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Rank 0 writes; the others only return the path."""
        if comm.is_main_process():
            return super().save_checkpoint(path)
        return Path(path)
