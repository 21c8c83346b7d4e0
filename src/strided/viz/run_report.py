"""``strided visualize RUN``: the pictures of a trained run folder, in one call.

``visualize_run("runs/lenet5-fashion-mnist")`` writes into ``RUN/viz/``: the filters of
the conv layers, the feature maps of chosen test images, the test images that most excite
a channel, saliency maps, the confusion matrix, the gradient flow (when the run was
trained with ``--grad-stats``). It returns the paths it wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import host_array
from .layers import as_batch, check_images, conv_layer_names, get_layer

__all__ = ["visualize_run", "read_images"]


def _safe(name: str) -> str:
    return name.replace("/", "_").replace(".", "-") or "model"


def read_images(
    specs: Sequence[str], test_images: Callable[[], np.ndarray], expected: Sequence[int]
) -> tuple[np.ndarray, list[str]]:
    """Images named on the command line: test-set indices ("0", "17") or ``.npy`` files
    (one image or a batch). Returns the raw (uint8 or float) images (N, *expected) and a
    label for each."""
    images, labels = [], []
    for spec in specs:
        if str(spec).isdigit():
            pool = test_images()
            i = int(spec)
            if i >= len(pool):
                raise ValueError(
                    f"test image {i} does not exist: the test set has {len(pool)} images"
                )
            images.append(pool[i : i + 1])
            labels.append(f"test{i}")
            continue
        path = Path(spec)
        if path.suffix.lower() != ".npy":
            raise ValueError(f"--images: {spec!r} is neither a test-set index nor a .npy file")
        if not path.is_file():
            raise FileNotFoundError(f"no such image file: {path}")
        batch = check_images(np.load(path, allow_pickle=False), expected, what=str(path))
        images.append(batch)
        labels += [path.stem] if len(batch) == 1 else [f"{path.stem}{j}" for j in range(len(batch))]
    return np.concatenate(images), labels


def visualize_run(
    run: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    layers: Sequence[str] | None = None,
    images: Sequence[str] = ("0",),
    channel: int = 0,
    k: int = 9,
    pool_size: int = 1000,
    data_root: str | None = None,
    download: bool = False,
    fmt: str = "png",
) -> list[Path]:
    """Write the pictures of the trained run ``run`` to ``out`` (default ``RUN/viz``).

    Parameters
    ----------
    layers : layers whose feature maps (and, for conv layers, filters) to draw; default
        every conv layer. An unknown name raises a ValueError listing the valid ones.
    images : test-set indices or ``.npy`` files for the feature maps and saliency maps.
    channel, k : the top-``k`` test images exciting ``channel`` of the last chosen layer,
        searched among ``pool_size`` test images.
    fmt : "png" or "svg".
    """
    from ..train.metrics import confusion_matrix
    from ..train.recipe import eval_transform, load_dataset, load_trained
    from .confusion import plot_confusion_matrix
    from .feature_maps import plot_feature_maps
    from .figure import pyplot, save_figure
    from .filters import plot_filters
    from .gradient_flow import plot_gradient_flow
    from .saliency import plot_saliency
    from .top_k import plot_top_k

    if fmt not in ("png", "svg"):
        raise ValueError(f"visualize: format must be png or svg, got {fmt!r}")
    run = Path(run)
    model, cfg, classes, weights = load_trained(str(run))
    folder = run if run.is_dir() else run.parent
    out = Path(out) if out is not None else folder / "viz"
    convs = conv_layer_names(model)
    layers = list(layers) if layers else convs
    for name in layers:
        get_layer(model, name)  # an unknown name fails here, listing the valid ones

    transform = eval_transform(cfg)
    cache: dict = {}

    def test_set() -> Any:
        if "ds" not in cache:
            cache["ds"] = load_dataset(cfg["dataset"], False, data_root, download)
        return cache["ds"]

    expected = tuple(test_set().images.shape[1:])
    raw, names = read_images(images, lambda: test_set().images, expected)
    x = transform(raw).astype(np.float32, copy=False)
    written: list[Path] = []

    def save(fig: Any, stem: str) -> None:
        written.append(save_figure(fig, out / f"{stem}.{fmt}"))
        pyplot().close(fig)  # a run with many layers draws many figures

    for name in layers:
        if name in convs:
            save(plot_filters(model, name), f"filters-{_safe(name)}")
        for img, label in zip(x, names, strict=False):
            save(plot_feature_maps(model, img, name), f"feature-maps-{_safe(name)}-{label}")

    n_pool = min(pool_size, len(test_set()))
    pool = transform(test_set().images[:n_pool]).astype(np.float32, copy=False)
    labels = np.asarray(test_set().targets[:n_pool])
    if layers:
        target = layers[-1]
        save(
            plot_top_k(model, pool, target, channel, k, labels=labels, classes=classes),
            f"top{k}-{_safe(target)}-channel{channel}",
        )
    if x.ndim == 4:
        save(plot_saliency(model, x, classes=classes), "saliency")
    results = folder / "results.json"
    if results.is_file() and "confusion_matrix" in json.loads(results.read_text()):
        cm = np.asarray(json.loads(results.read_text())["confusion_matrix"])
    else:  # a run stopped before its test: measure on the searched test images
        from ..autograd import no_grad

        with no_grad():
            pred = np.concatenate(
                [
                    host_array(model(as_batch(pool[i : i + 256], model))).argmax(1)
                    for i in range(0, len(pool), 256)
                ]
            )
        cm = confusion_matrix(pred, labels, len(classes))
    save(plot_confusion_matrix(cm, classes), "confusion")
    if (folder / "grad_stats.json").is_file():
        save(plot_gradient_flow(folder), "grad-flow")
    return written
