"""The degradation problem and its cure: plain-20 vs plain-56 vs ResNet-20 vs ResNet-56
(He et al. 2016, Fig. 1 and 6) on a Fashion-MNIST subset.

    nice -n 19 python examples/degradation.py        # a few minutes on two cores

Deeper plain networks train *worse* — a higher training error, so not overfitting —
although a 56-layer net could copy the 20-layer one and set its extra layers to the
identity. With identity shortcuts the extra layers only have to learn a residual, and the
56-layer ResNet trains at least as well as the 20-layer one.

To fit in minutes on a CPU the networks are the paper's CIFAR ResNets with half the widths
(8/16/32 channels instead of 16/32/64), on images averaged down to 14×14, trained for 64
SGD steps on a fixed 512-image subset.
"""

import argparse
from pathlib import Path

import numpy as np

import strided
from strided.autograd import Tensor, no_grad
from strided.data import DataLoader, FashionMNIST, Subset
from strided.data import transforms as T
from strided.models.resnet import CifarResNet
from strided.optim import SGD
from strided.train import LambdaCallback, Trainer

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--images", type=int, default=512, help="training subset size")
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--out", default=str(Path(__file__).parent / "figures"))
args = parser.parse_args()

train = FashionMNIST(train=True)
order = np.random.default_rng(0).permutation(len(train))[: args.images]
subset = Subset(train, np.sort(order))
to_input = T.Compose(
    [
        T.ToFloat(),
        T.Normalize(0.2860, 0.3530),
        lambda x: x.reshape(len(x), 1, 14, 2, 14, 2).mean(axis=(3, 5)),
    ]
)
WIDTHS = (8, 16, 32)


def training_error(model) -> float:
    """The error on the whole training subset, in eval mode (BatchNorm's running stats)."""
    model.eval()
    wrong = 0
    with no_grad():
        for x, y in DataLoader(subset, batch_size=256, transform=to_input):
            wrong += int((model(Tensor(x)).data.argmax(1) != np.asarray(y)).sum())
    model.train()
    return wrong / len(subset)


curves, steps, final = {}, {}, {}
for depth in (20, 56):
    for plain in (True, False):
        name = f"{'plain' if plain else 'ResNet'}-{depth}"
        strided.manual_seed(0)
        model = CifarResNet(depth, num_classes=10, in_channels=1, plain=plain, widths=WIDTHS)
        losses: list[float] = []
        record = LambdaCallback(
            on_batch_end=lambda t, logs, losses=losses: losses.append(logs["loss"])
        )
        loader = DataLoader(
            subset, batch_size=args.batch_size, shuffle=True, seed=0, transform=to_input
        )
        trainer = Trainer(
            model,
            SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4),
            callbacks=[record],
            progress=False,
            verbose=False,
        )
        history = trainer.fit(loader, epochs=args.epochs)
        curves[name] = [1 - a for a in history["train_accuracy"]]
        steps[name] = losses
        final[name] = training_error(model)
        print(
            f"{name:10s} training error by epoch "
            + " ".join(f"{e:.3f}" for e in curves[name])
            + f"; after training (eval mode) {final[name]:.3f}",
            flush=True,
        )

from strided.viz import pyplot, save_figure  # noqa: E402

plt = pyplot()
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
style = {
    "plain-20": ("tab:blue", "--"),
    "plain-56": ("tab:red", "--"),
    "ResNet-20": ("tab:blue", "-"),
    "ResNet-56": ("tab:red", "-"),
}
for name, errs in curves.items():
    colour, ls = style[name]
    axes[0].plot(
        range(1, len(errs) + 1),
        np.array(errs) * 100,
        color=colour,
        ls=ls,
        marker="o",
        label=f"{name} (final {final[name] * 100:.1f}%)",
    )
    loss = np.asarray(steps[name])
    smooth = np.convolve(loss, np.ones(8) / 8, mode="valid")
    axes[1].plot(np.arange(len(smooth)) + 8, smooth, color=colour, ls=ls, label=name)
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("training error (%)")
axes[0].set_title("training error: plain nets degrade with depth, ResNets do not")
axes[1].set_xlabel("SGD step")
axes[1].set_ylabel("training loss (moving average of 8)")
axes[1].set_yscale("log")
for ax in axes:
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
fig.tight_layout()
print("wrote", save_figure(fig, Path(args.out) / "degradation.png", dpi=80))
