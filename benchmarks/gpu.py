"""Training-step throughput on one GPU: strided (through CuPy) and PyTorch side by side.

    python benchmarks/gpu.py                          # on an NVIDIA GPU: the four rows
    python benchmarks/gpu.py --device cpu --steps 2 --rounds 1 --batches 8   # a smoke run

One training step = forward, cross-entropy, backward, SGD (lr 0.01, momentum 0.9), in
float32; PyTorch with TF32 off (`torch.backends.cuda.matmul.allow_tf32 = False`,
`torch.backends.cudnn.allow_tf32 = False`), so both compute in full fp32. Rows: LeNet-5
(modern: ReLU, max pool; 1×28×28) and ResNet-20 (CIFAR, option-A shortcuts; 3×32×32), at
batch 128 and 1,024. Both start from the same weights (strided's, copied into PyTorch) and
train on the same fixed batch, already on the device (the input pipeline is not timed).

Timing: `--warmup` steps, then `--rounds` rounds of `--steps` steps each, strided and
PyTorch in alternation; a round is timed between device synchronisations
(`strided.cuda.synchronize()` / `torch.cuda.synchronize()`: GPU work is queued, so only a
synchronised clock measures it), and the fastest round counts. img/s = batch · steps /
seconds; ratio = strided / PyTorch (1.0 is parity). `--json PATH` also writes the rows.
Speed only; correctness lives in tests/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import strided  # noqa: E402
from strided.autograd import Tensor  # noqa: E402
from strided.functional.loss import cross_entropy  # noqa: E402
from strided.models import lenet5, resnet20  # noqa: E402
from strided.optim import SGD  # noqa: E402

try:
    import torch
    import torch.nn.functional as TF

    from models import TResNet20, copy_to_torch, t_lenet5  # the CPU benchmark's PyTorch twins
except ImportError:  # the strided columns still print
    torch = None

MODELS = {
    # name: (strided builder, input shape (C, H, W))
    "lenet5": (lambda: lenet5(num_classes=10), (1, 28, 28)),
    "resnet20": (lambda: resnet20(num_classes=10), (3, 32, 32)),
}


def torch_twin(name: str) -> Any:
    """The same architecture in PyTorch."""
    if name == "resnet20":
        return TResNet20(10)
    return t_lenet5()


def fastest_round(
    steps: dict[str, Callable[[], None]],
    syncs: dict[str, Callable[[], None]],
    n: int,
    rounds: int,
    warmup: int,
) -> dict[str, float]:
    """Seconds of the fastest round of `n` steps of each contender, taken in alternation,
    each round between two synchronisations of its device."""
    for name, step in steps.items():
        for _ in range(warmup):
            step()
        syncs[name]()
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            syncs[name]()
            t = time.perf_counter()
            for _ in range(n):
                step()
            syncs[name]()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def bench(name: str, batch: int, args: argparse.Namespace) -> dict[str, Any]:
    build, shape = MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    strided.manual_seed(0)
    model = build().train()
    tmodel = None
    if torch is not None and not args.no_torch:
        tmodel = torch_twin(name)
        copy_to_torch(model, tmodel)  # while our weights are still on the host
    model.to(args.device)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    xs, ys = Tensor(x, device=args.device), Tensor(y, device=args.device)
    on_gpu = strided.device(args.device).type == "cuda"

    def ours() -> None:
        opt.zero_grad()
        loss = cross_entropy(model(xs), ys)
        loss.backward()
        opt.step()

    first = {"strided": float(cross_entropy(model(xs), ys).item())}
    steps: dict[str, Callable[[], None]] = {"strided": ours}
    syncs: dict[str, Callable[[], None]] = {
        "strided": strided.cuda.synchronize if on_gpu else (lambda: None)
    }
    if tmodel is not None:
        where = torch.device(args.device)
        tmodel = tmodel.to(where).train()
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.from_numpy(x).to(where), torch.from_numpy(y).to(where)

        def theirs() -> None:
            topt.zero_grad()
            TF.cross_entropy(tmodel(tx), ty).backward()
            topt.step()

        with torch.no_grad():
            first["torch"] = float(TF.cross_entropy(tmodel(tx), ty))
        steps["torch"] = theirs
        syncs["torch"] = torch.cuda.synchronize if where.type == "cuda" else (lambda: None)
    best = fastest_round(steps, syncs, args.steps, args.rounds, args.warmup)
    row: dict[str, Any] = {
        "model": name,
        "batch": batch,
        "strided_img_s": batch * args.steps / best["strided"],
        "first_loss": first,
    }
    if "torch" in best:
        row["torch_img_s"] = batch * args.steps / best["torch"]
        row["ratio"] = row["strided_img_s"] / row["torch_img_s"]
    return row


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    p.add_argument("--steps", type=int, default=20, help="steps per timed round")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds (the fastest counts)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--batches", default="128,1024", help="comma-separated batch sizes")
    p.add_argument("--only", choices=sorted(MODELS), help="one model only")
    p.add_argument("--no-torch", action="store_true", help="strided only")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = p.parse_args(argv)
    where = strided.device(args.device)  # an unknown name fails here
    if where.type == "cuda" and not strided.cuda.is_available():
        p.error(f"--device {args.device}: no CUDA GPU is visible to CuPy")
    if torch is not None and not args.no_torch:
        torch.backends.cuda.matmul.allow_tf32 = False  # full fp32, as strided computes
        torch.backends.cudnn.allow_tf32 = False  # otherwise PyTorch's defaults
    batches = [int(b) for b in args.batches.split(",")]
    rows = [
        bench(name, batch, args)
        for name in ([args.only] if args.only else list(MODELS))
        for batch in batches
    ]
    versions = f"strided {strided.__version__}"
    if torch is not None and not args.no_torch:
        versions += f", torch {torch.__version__} (TF32 off)"
    if where.type == "cuda":
        cupy = where.backend.module()
        gpu = cupy.cuda.runtime.getDeviceProperties(where.index or 0)["name"]
        versions += f", CuPy {cupy.__version__}, {gpu.decode() if isinstance(gpu, bytes) else gpu}"
    print(f"training step on {where} (fp32, SGD momentum); {versions}")
    print(f"{'model':10s} {'batch':>6s} {'strided img/s':>14s} {'torch img/s':>12s} {'ratio':>6s}")
    for r in rows:
        t = f"{r['torch_img_s']:12.0f}" if "torch_img_s" in r else f"{'-':>12s}"
        q = f"{r['ratio']:6.2f}" if "ratio" in r else f"{'-':>6s}"
        print(f"{r['model']:10s} {r['batch']:6d} {r['strided_img_s']:14.0f} {t} {q}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": str(where), "versions": versions, "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
