"""LeNet-5 on Fashion-MNIST, trained in strided and in PyTorch in one run, side by side.

    python benchmarks/train.py                     # 10 epochs each
    python benchmarks/train.py --epochs 1 --limit 6000

The recipe is the same for both: the modern LeNet-5 (conv 5×5 pad 2 → ReLU → max-pool 2,
conv 5×5 → ReLU → max-pool 2, FC 400-120-84-10 with ReLU), Adam lr 1e-3, batch 128,
cross-entropy, inputs scaled to [0, 1] and normalised with mean 0.2860 / std 0.3530.
Both see exactly the same batches in the same order (one shuffling per epoch, drawn
from --seed) and start from the same initial weights (strided's, copied into PyTorch).
PyTorch runs on as many threads as NumPy's BLAS may use (the CPUs this process may run
on, or OMP_NUM_THREADS/OPENBLAS_NUM_THREADS when set).

Printed per epoch: training seconds for each (test evaluation not included), their
ratio (strided / PyTorch: below 1.0 means strided is faster) and the test accuracy of
each after the epoch; then the fastest and the median epoch of each. The frameworks train
epoch by epoch in alternation, so that load from other processes on a shared machine falls
on both alike. Speed only; correctness
lives in tests/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import strided  # noqa: E402
from strided.autograd import Tensor, no_grad  # noqa: E402
from strided.data import FashionMNIST  # noqa: E402
from strided.functional.loss import cross_entropy  # noqa: E402
from strided.models import lenet5  # noqa: E402
from strided.optim import Adam  # noqa: E402

try:
    import torch
except ImportError:  # the strided columns still print
    torch = None

MEAN, STD = 0.2860, 0.3530


def blas_threads() -> int:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load(limit: int | None):
    """Normalised float32 NCHW arrays (the preprocessing is not part of the timing)."""
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    xtr = ((train.images.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)
    xte = ((test.images.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)
    ytr, yte = train.targets, test.targets
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
    return xtr, ytr, xte, yte


# -- strided ------------------------------------------------------------------------------


class StridedRun:
    name = "strided"

    def __init__(self, seed: int):
        strided.manual_seed(seed)
        self.model = lenet5()
        self.opt = Adam(self.model.parameters(), lr=1e-3)

    def epoch(self, x, y, order, batch):
        self.model.train()
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            loss = cross_entropy(self.model(Tensor(x[idx])), y[idx])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return float(loss.item())

    def accuracy(self, x, y, batch=1000):
        self.model.eval()
        correct = 0
        with no_grad():
            for i in range(0, len(x), batch):
                correct += int(
                    (self.model(Tensor(x[i : i + batch])).data.argmax(1) == y[i : i + batch]).sum()
                )
        return correct / len(x)


# -- PyTorch ------------------------------------------------------------------------------


class TorchRun:
    name = "torch"

    def __init__(self, weights: dict):
        from models import t_lenet5  # the PyTorch twins of the model benchmark

        self.model = t_lenet5()
        # strided's keys are features.{0,3}.* and classifier.{0,2,4}.*; same order here
        with torch.no_grad():
            for p, (k, a) in zip(self.model.parameters(), weights.items(), strict=True):
                if tuple(p.shape) != a.shape:
                    raise ValueError(f"weight {k}: strided {a.shape}, torch {tuple(p.shape)}")
                p.copy_(torch.from_numpy(a))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss = torch.nn.CrossEntropyLoss()

    def epoch(self, x, y, order, batch):
        self.model.train()
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        for i in range(0, len(order), batch):
            idx = torch.from_numpy(order[i : i + batch])
            loss = self.loss(self.model(xt[idx]), yt[idx])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return float(loss.item())

    def accuracy(self, x, y, batch=1000):
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(x), batch):
                out = self.model(torch.from_numpy(x[i : i + batch]))
                correct += int((out.argmax(1).numpy() == y[i : i + batch]).sum())
        return correct / len(x)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-torch", action="store_true", help="strided only")
    args = p.parse_args(argv)

    threads = blas_threads()
    xtr, ytr, xte, yte = load(args.limit)
    runs = [StridedRun(args.seed)]
    if torch is not None and not args.no_torch:
        torch.set_num_threads(threads)
        torch.manual_seed(args.seed)
        runs.append(TorchRun(runs[0].model.state_dict()))
    elif not args.no_torch:
        print("PyTorch is not installed: strided only (pip install torch==2.13.0)")
    print(
        f"LeNet-5, Fashion-MNIST: {len(xtr)} training / {len(xte)} test images, batch "
        f"{args.batch_size}, Adam 1e-3, {threads} threads"
        + (f", torch {torch.__version__}" if len(runs) > 1 else "")
    )
    names = [r.name for r in runs]
    head = f"{'epoch':>5}  " + "  ".join(f"{n + ' s':>10}" for n in names)
    if len(runs) > 1:
        head += f"  {'ratio':>6}"
    head += "  " + "  ".join(f"{n + ' acc':>12}" for n in names)
    print(head)
    print("-" * len(head))
    seconds = {n: [] for n in names}
    accs = {n: [] for n in names}
    for e in range(args.epochs):
        order = np.random.default_rng([args.seed, e]).permutation(len(xtr))
        for r in runs:
            t0 = time.perf_counter()
            r.epoch(xtr, ytr, order, args.batch_size)
            seconds[r.name].append(time.perf_counter() - t0)
            accs[r.name].append(r.accuracy(xte, yte))
        line = f"{e + 1:>5}  " + "  ".join(f"{seconds[n][-1]:>10.2f}" for n in names)
        if len(runs) > 1:
            line += f"  {seconds['strided'][-1] / seconds['torch'][-1]:>6.2f}"
        line += "  " + "  ".join(f"{accs[n][-1]:>12.4f}" for n in names)
        print(line, flush=True)
    print("-" * len(head))
    for label, stat in (("min", min), ("med", statistics.median)):
        value = {n: stat(seconds[n]) for n in names}
        line = f"{label:>5}  " + "  ".join(f"{value[n]:>10.2f}" for n in names)
        if len(runs) > 1:
            line += f"  {value['strided'] / value['torch']:>6.2f}"
        print(line)
    print(
        "seconds per epoch, training only: the fastest epoch (min; the least disturbed by "
        "other load on shared cores) and the median; ratio = strided / torch (< 1: strided "
        "faster); accuracy on the full test set after each epoch"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
