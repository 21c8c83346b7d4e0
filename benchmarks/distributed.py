"""Scaling of data-parallel training: images/s of LeNet-5 and ResNet-20 training steps on
1, 2, ... MPI ranks (one thread each), and the efficiency rate(k) / (k · rate(1)).

    python benchmarks/distributed.py [--ranks 1 2] [--steps 20] [--batch 64]

Each rank trains on its share of a fixed global batch per rank (weak scaling: the global
batch grows with the ranks, as data-parallel training is used), with gradients averaged by
DistributedDataParallel. Needs `pip install 'strided[mpi]'`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SHAPES = {"lenet5": (1, 28, 28), "resnet20": (3, 32, 32)}


def worker(model_name: str, steps: int, batch: int) -> None:
    import numpy as np

    import strided as st
    import strided.distributed as dist
    import strided.functional as F
    from strided.models.registry import get_model

    dist.init()
    st.manual_seed(0)
    model = dist.DistributedDataParallel(
        dist.SyncBatchNorm.convert_sync_batchnorm(get_model(model_name))
    )
    opt = st.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(dist.get_rank())
    x = st.tensor(rng.standard_normal((batch,) + SHAPES[model_name]).astype(np.float32))
    y = st.tensor(rng.integers(0, 10, batch))

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    dist.barrier()
    seconds = time.perf_counter() - start
    if dist.get_rank() == 0:
        print(f"RATE {batch * dist.get_world_size() * steps / seconds:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64, help="images per rank and step")
    parser.add_argument("--models", nargs="+", default=list(SHAPES))
    parser.add_argument(
        "--worker", nargs=3, metavar=("MODEL", "STEPS", "BATCH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    mpirun = str(Path(sys.executable).with_name("mpirun"))
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        NUMBA_NUM_THREADS="1",
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
    )
    print(f"{'model':10s} {'ranks':>5s} {'img/s':>9s} {'efficiency':>10s}")
    for name in args.models:
        base = None
        for k in args.ranks:
            out = subprocess.run(
                [
                    mpirun,
                    "--allow-run-as-root",
                    "--oversubscribe",
                    "--bind-to",
                    "none",
                    "-n",
                    str(k),
                    sys.executable,
                    __file__,
                    "--worker",
                    name,
                    str(args.steps),
                    str(args.batch),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            rate = float(
                next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("RATE"))
            )
            base = rate if k == args.ranks[0] and base is None else base
            eff = rate / (k / args.ranks[0] * base)
            print(f"{name:10s} {k:5d} {rate:9.1f} {eff:10.0%}", flush=True)


if __name__ == "__main__":
    main()
