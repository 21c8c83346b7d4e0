"""Data-parallel training across processes and machines, on MPI (mpi4py).

Start one process per core or machine with ``mpirun -n 4 python train.py`` (or
``mpirun -n 4 strided train --distributed``); in the script::

    import strided.distributed as dist
    dist.init()
    model = dist.DistributedDataParallel(dist.SyncBatchNorm.convert_sync_batchnorm(model))
    sampler = dist.DistributedSampler(train_set, seed=0)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    dist.DistributedTrainer(model, optimizer).fit(loader, epochs=10)

Needs mpi4py and an MPI library: ``pip install 'strided[mpi]'`` brings both (Open MPI).
"""

from .comm import barrier, get_rank, get_world_size, init, is_initialized, is_main_process
from .ddp import DistributedDataParallel
from .placement import MPIPlacement
from .sampler import DistributedSampler
from .sync_batchnorm import SyncBatchNorm
from .trainer import DistributedTrainer, mean_over_ranks

__all__ = [
    "init",
    "is_initialized",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "barrier",
    "DistributedDataParallel",
    "DistributedSampler",
    "SyncBatchNorm",
    "DistributedTrainer",
    "mean_over_ranks",
    "MPIPlacement",
]
