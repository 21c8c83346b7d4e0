"""How `strided train --distributed` lays a run over the MPI ranks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..train.recipe import Placement
from . import comm
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler
from .sync_batchnorm import SyncBatchNorm
from .trainer import DistributedTrainer


class MPIPlacement(Placement):
    """A run over every rank of `mpirun`: BatchNorm layers synchronised, the model wrapped
    in DistributedDataParallel, each loader holding its rank's share of the data (the
    global batch split evenly), a DistributedTrainer; rank 0 chooses the run folder and is
    the only one to write it.

    Parameters
    ----------
    sync_batchnorm : bool
        Replace BatchNorm layers by SyncBatchNorm, so that their statistics cover the whole
        global batch (default True).
    """

    def __init__(self, sync_batchnorm: bool = True):
        comm.init()
        self.world_size = comm.get_world_size()
        self.is_writer = comm.is_main_process()
        self.sync_batchnorm = bool(sync_batchnorm)

    def agree(self, path: Path) -> Path:
        return Path(comm.broadcast_text(str(path), 0, "choosing the run folder"))

    def wrap(self, model: Any) -> Any:
        if self.sync_batchnorm:
            model = SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model)

    def loader(
        self, dataset: Any, batch_size: int, shuffle: bool, seed: int, transform: Any, prefetch: int
    ) -> Any:
        from ..data import DataLoader

        # training: equal shares (padded), so every rank takes the same number of steps;
        # evaluation: every sample counted once
        sampler = DistributedSampler(dataset, seed=seed, shuffle=shuffle, pad=shuffle)
        return DataLoader(
            dataset,
            batch_size=max(1, batch_size // self.world_size),
            sampler=sampler,
            transform=transform,
            prefetch=prefetch,
        )

    def trainer(self, *args: Any, **kwargs: Any) -> Any:
        return DistributedTrainer(*args, **kwargs)
