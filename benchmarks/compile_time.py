"""What compiling the kernels costs a `strided train` run: cold (an empty Numba cache, every
kernel compiled) and warm (every kernel loaded from the on-disk cache).

    python benchmarks/compile_time.py                 # LeNet-5 on Fashion-MNIST
    python benchmarks/compile_time.py --model resnet20 --dataset cifar10

Each measurement is one fresh process running a short `strided train` epoch, with the time
Numba holds its compiler lock summed — compiling a kernel, or loading it from the cache,
happens under that lock. Two processes share a fresh NUMBA_CACHE_DIR: the first compiles
every kernel (cold), the second loads them from the cache (warm).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

CHILD = """
import sys, tempfile, time
from numba.core import event
from strided import cli
spent = []
with tempfile.TemporaryDirectory() as out, \\
        event.install_timer("numba:compiler_lock", spent.append):
    t0 = time.perf_counter()
    cli.main(["train", *sys.argv[1:], "--epochs", "1", "--out", out, "--no-progress",
              "--quiet"])
    wall = time.perf_counter() - t0
print(sum(spent), wall)
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="lenet5")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--limit-train", type=int, default=256)
    p.add_argument("--limit-test", type=int, default=256)
    args = p.parse_args(argv)
    train_args = [
        "--model",
        args.model,
        "--dataset",
        args.dataset,
        "--limit-train",
        str(args.limit_train),
        "--limit-test",
        str(args.limit_test),
    ]
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=cache,
            PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        print(f"strided train --epochs 1 {' '.join(train_args)}")
        print(f"{'cache':>6}  {'compile/load s':>14}  {'whole run s':>11}")
        for label in ("cold", "warm"):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, *train_args],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            spent, wall = (float(v) for v in out.stdout.split()[-2:])
            print(f"{label:>6}  {spent:>14.2f}  {wall:>11.2f}")
    print(
        "compile/load: seconds under Numba's compiler lock — compiling the kernels (cold) "
        "or loading them from the disk cache (warm)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
