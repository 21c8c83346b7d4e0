"""Vanishing gradients: a 10-layer MLP with sigmoid vs ReLU, Xavier vs He initialisation,
on Fashion-MNIST. Records the gradient norm of every layer over the first steps with
``strided.train.GradientStats`` and plots layer 1 against layer 10.

    nice -n 19 python examples/vanishing_gradients.py      # ~1 minute on two cores

The notes' explanation: the backward pass multiplies, layer by layer, by the weights and by
the activation's derivative. A sigmoid's derivative is at most 1/4, so ten sigmoid layers
shrink the gradient reaching layer 1 by orders of magnitude; ReLU passes gradients through
unchanged where it is active, and He initialisation (variance 2/fan_in) keeps the signal's
scale from layer to layer, so layer 1 learns as fast as layer 10.
"""

import argparse
from pathlib import Path

import numpy as np

import strided
from strided.data import DataLoader, FashionMNIST, Subset
from strided.data import transforms as T
from strided.models import mlp
from strided.nn import init
from strided.nn.linear import Linear
from strided.optim import SGD
from strided.train import GradientStats, Trainer

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--steps", type=int, default=60, help="SGD steps per network")
parser.add_argument("--out", default=str(Path(__file__).parent / "figures"))
args = parser.parse_args()

DEPTH, WIDTH, BATCH = 10, 128, 64
train = FashionMNIST(train=True)
subset = Subset(train, np.arange(args.steps * BATCH))
to_input = T.Compose([T.ToFloat(), T.Normalize(0.2860, 0.3530), lambda x: x.reshape(len(x), -1)])

CONFIGS = {  # name: (activation, initialiser of each Linear weight)
    "sigmoid + Xavier": ("sigmoid", init.xavier_normal_),
    "sigmoid + He": ("sigmoid", lambda w: init.kaiming_normal_(w, nonlinearity="relu")),
    "ReLU + Xavier": ("relu", init.xavier_normal_),
    "ReLU + He": ("relu", lambda w: init.kaiming_normal_(w, nonlinearity="relu")),
}

results = {}
for name, (activation, initialise) in CONFIGS.items():
    strided.manual_seed(0)
    model = mlp([784] + [WIDTH] * (DEPTH - 1) + [10], activation)
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    for m in linears:
        initialise(m.weight)
        init.zeros_(m.bias)
    stats = GradientStats(low=1e-6)  # warns when a layer's gradient norm drops below 1e-6
    loader = DataLoader(subset, batch_size=BATCH, shuffle=True, seed=0, transform=to_input)
    Trainer(
        model, SGD(model.parameters(), lr=0.01), callbacks=[stats], progress=False, verbose=False
    ).fit(loader, epochs=1)
    first, last = stats.layer_names()[0], stats.layer_names()[-1]
    steps, g1 = stats.series(first)
    _, g10 = stats.series(last)
    results[name] = (steps, g1, g10, [stats.series(n)[1] for n in stats.layer_names()])
    print(
        f"{name:18s} ‖∇W1‖ {g1[:10].mean():.2e}  ‖∇W10‖ {g10[:10].mean():.2e}  "
        f"layer 1 / layer 10 over the first 10 steps: {(g1[:10] / g10[:10]).mean():.2e}"
    )

try:
    from strided.viz import pyplot, save_figure
except ImportError:  # pragma: no cover
    raise SystemExit("the figure needs matplotlib: pip install 'strided[plot]'") from None
plt = pyplot()
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
colours = dict(zip(CONFIGS, ["tab:red", "tab:orange", "tab:blue", "tab:green"], strict=True))
for name, (steps, g1, g10, _) in results.items():
    axes[0].plot(steps, g1, color=colours[name], label=f"{name}: layer 1")
    axes[0].plot(steps, g10, color=colours[name], ls="--", label=f"{name}: layer 10")
axes[0].set_yscale("log")
axes[0].set_xlabel("SGD step")
axes[0].set_ylabel("‖∂L/∂W‖")
axes[0].set_title("gradient norm of layer 1 (—) and layer 10 (--)")
axes[0].legend(fontsize=7, ncol=2)
for name, (_, _, _, per_layer) in results.items():
    axes[1].plot(
        range(1, DEPTH + 1),
        [g[:10].mean() for g in per_layer],
        marker="o",
        color=colours[name],
        label=name,
    )
axes[1].set_yscale("log")
axes[1].set_xlabel("layer (1 = next to the input)")
axes[1].set_title("mean gradient norm over the first 10 steps")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.grid(alpha=0.3, which="both")
fig.tight_layout()
print("wrote", save_figure(fig, Path(args.out) / "vanishing_gradients.png", dpi=80))
