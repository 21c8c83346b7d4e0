"""What a trained LeNet-5 learned: its first-layer filters and the feature maps of both
conv layers for one test image, from a run of `strided train`.

    nice -n 19 python examples/lenet_filters.py                 # trains a short run first
    nice -n 19 python examples/lenet_filters.py --run runs/lenet5-fashion-mnist

Without --run it trains LeNet-5 for 2 epochs on 5,000 Fashion-MNIST images (a few minutes
on two cores) with `strided train`, then draws. The same pictures, and more, come from
`strided visualize RUN`.
"""

import argparse
from pathlib import Path

import numpy as np

from strided.cli import main
from strided.train.recipe import eval_transform, load_dataset, load_trained
from strided.viz import plot_feature_maps, plot_filters, plot_top_k, pyplot, top_k_activating

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--run", help="a run folder of `strided train` (default: train one)")
parser.add_argument("--image", type=int, default=0, help="test image for the feature maps")
parser.add_argument("--out", default=str(Path(__file__).parent / "figures"))
args = parser.parse_args()

run = args.run
if run is None:
    run = "runs/example-lenet5-short"
    if not (Path(run) / "model.safetensors").exists():
        main(
            [
                "train",
                "--model",
                "lenet5",
                "--epochs",
                "2",
                "--limit-train",
                "5000",
                "--limit-test",
                "2000",
                "--out",
                run,
                "--no-progress",
            ]
        )

model, cfg, classes, _ = load_trained(run)
test = load_dataset(cfg["dataset"], train=False)
x = eval_transform(cfg)(test.images[:1000]).astype(np.float32)
out = Path(args.out)
plt = pyplot()
for fig in (
    plot_filters(model, "features.0", path=out / "lenet_filters_conv1.png"),
    plot_feature_maps(
        model, x[args.image], "features.0", path=out / "lenet_feature_maps_conv1.png"
    ),
    plot_feature_maps(
        model, x[args.image], "features.3", path=out / "lenet_feature_maps_conv2.png"
    ),
):
    plt.close(fig)
print(f"test image {args.image}: a {classes[int(test.targets[args.image])]}")
for channel in range(3):
    idx, scores = top_k_activating(model, x, "features.3", channel, k=9)
    names = [classes[int(test.targets[i])] for i in idx]
    print(f"conv2 channel {channel}: top-9 test images are " + ", ".join(f"{n}" for n in names))
plt.close(
    plot_top_k(
        model,
        x,
        "features.3",
        0,
        k=9,
        labels=test.targets[:1000],
        classes=classes,
        path=out / "lenet_top9_conv2_channel0.png",
    )
)
print("wrote the pictures to", out)
