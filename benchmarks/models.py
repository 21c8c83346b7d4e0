"""Training-step throughput of whole models, strided vs PyTorch, side by side.

    python benchmarks/models.py [--steps 5] [--only resnet20|vgg11]

One training step = forward, cross-entropy, backward, SGD with momentum. Rows:
- ResNet-20 (CIFAR, He et al. 2016, option-A shortcuts) on 32×32×3, batch 128;
- VGG-11 (configuration A, torchvision's layout and 4096-wide head, 10 classes) on
  64×64×3, batch 32.
The PyTorch model is the same architecture written out below, with our initial weights
copied in, run on the same number of threads (2 here). Images/s is batch / step time
after warm-up (the fastest of --steps rounds, strided and PyTorch taken in turn);
ratio = ours / PyTorch's (1.0 is parity, the goal is ≥ 0.7).
Speed only; correctness lives in tests/.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import strided  # noqa: E402
from strided.autograd import Tensor  # noqa: E402
from strided.functional.loss import cross_entropy  # noqa: E402
from strided.models import resnet20, vgg11  # noqa: E402
from strided.optim import SGD  # noqa: E402

try:
    import torch
    import torch.nn as tnn
    import torch.nn.functional as TF
except ImportError:  # the table still prints, without the PyTorch columns
    torch = None


# ---- the same models in PyTorch -------------------------------------------------------
if torch is not None:

    class TBlock(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.pad = cout - cin
            self.stride = stride

        def forward(self, x):
            out = TF.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            sc = x
            if self.stride != 1 or self.pad:  # option A: subsample, zero-pad channels
                sc = TF.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.pad))
            return TF.relu(out + sc)

    class TResNet20(tnn.Module):
        def __init__(self, num_classes=10, n=3):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(16)
            c = 16
            for i, w in enumerate((16, 32, 64)):
                blocks = []
                for j in range(n):
                    blocks.append(TBlock(c, w, 2 if (i > 0 and j == 0) else 1))
                    c = w
                setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
            self.fc = tnn.Linear(64, num_classes)

        def forward(self, x):
            x = TF.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(TF.adaptive_avg_pool2d(x, 1), 1))

    def t_lenet5():
        """LeNet-5 as strided.models.lenet5() builds it (the same layer order, so weights
        copy across by position)."""
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Flatten(),
            tnn.Linear(400, 120),
            tnn.ReLU(),
            tnn.Linear(120, 84),
            tnn.ReLU(),
            tnn.Linear(84, 10),
        )

    class TVGG11(tnn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            layers, c = [], 3
            for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
                if v == "M":
                    layers.append(tnn.MaxPool2d(2, 2))
                else:
                    layers += [tnn.Conv2d(c, v, 3, padding=1), tnn.ReLU(inplace=True)]
                    c = v
            self.features = tnn.Sequential(*layers)
            self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
            self.classifier = tnn.Sequential(
                tnn.Linear(512 * 49, 4096),
                tnn.ReLU(True),
                tnn.Dropout(),
                tnn.Linear(4096, 4096),
                tnn.ReLU(True),
                tnn.Dropout(),
                tnn.Linear(4096, num_classes),
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def copy_to_torch(ours, tmodel) -> None:
    """Our initial weights into the torch model, matched by name (or by order of shapes
    where the names differ), so both start from the same point."""
    src = ours.state_dict()
    dst = tmodel.state_dict()
    if set(src) == set(dst):
        pairs = [(k, k) for k in dst]
    else:  # same order of tensors, different names (ResNet-20's torch twin)
        a = [k for k in src if not k.endswith("num_batches_tracked")]
        b = [k for k in dst if not k.endswith("num_batches_tracked")]
        assert [src[k].shape for k in a] == [tuple(dst[k].shape) for k in b]
        pairs = list(zip(a, b, strict=True))
    with torch.no_grad():
        for ka, kb in pairs:
            dst[kb].copy_(torch.from_numpy(np.asarray(src[ka])))


def best_step_times(steps: dict, rounds: int, warmup: int) -> dict:
    """Fastest step of each contender over `rounds`, taken in alternation so that a burst
    of load from other processes on these 2 shared cores hits both alike; the minimum is
    the least-disturbed run (as in benchmarks/conv.py). Each timed step starts after a
    pause, once the other side's spinning BLAS / OpenMP workers (OpenBLAS's spin ~0.1 s
    after its last call) have gone idle."""
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            time.sleep(0.3)
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def bench(name, build, tbuild, batch, hw, rounds, warmup, threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, hw, hw)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    strided.manual_seed(0)
    model = build()
    model.train()
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    xs, ys = Tensor(x), Tensor(y)

    def ours():
        opt.zero_grad()
        loss = cross_entropy(model(xs), ys)
        loss.backward()
        opt.step()

    steps = {"strided": ours}
    if torch is not None:
        torch.set_num_threads(threads)
        tmodel = tbuild()
        copy_to_torch(model, tmodel)
        tmodel.train()
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def theirs():
            topt.zero_grad()
            TF.cross_entropy(tmodel(tx), ty).backward()
            topt.step()

        steps["torch"] = theirs
    best = best_step_times(steps, rounds, warmup)
    return name, batch / best["strided"], (batch / best["torch"] if "torch" in best else None)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=5, help="timed rounds (best is reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (2 here)")
    p.add_argument("--only", choices=["resnet20", "vgg11"])
    args = p.parse_args(argv)
    rows = []
    if args.only in (None, "resnet20"):
        rows.append(
            bench(
                "ResNet-20, 32×32, batch 128",
                lambda: resnet20(num_classes=10),
                lambda: TResNet20(10),
                128,
                32,
                args.steps,
                args.warmup,
                args.threads,
            )
        )
    if args.only in (None, "vgg11"):
        rows.append(
            bench(
                "VGG-11, 64×64, batch 32",
                lambda: vgg11(num_classes=10),
                lambda: TVGG11(10),
                32,
                64,
                args.steps,
                args.warmup,
                args.threads,
            )
        )
    print(f"{'training step':32s} {'strided img/s':>14s} {'torch img/s':>12s} {'ratio':>6s}")
    for name, ours, theirs in rows:
        t = f"{theirs:12.1f}" if theirs else f"{'-':>12s}"
        r = f"{ours / theirs:6.2f}" if theirs else f"{'-':>6s}"
        print(f"{name:32s} {ours:14.1f} {t} {r}")


if __name__ == "__main__":
    main()
