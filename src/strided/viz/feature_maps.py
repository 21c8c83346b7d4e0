"""Feature maps: what each channel of a layer responds to in one image (the notes' pixel →
edge → texton → motif → part → object hierarchy, read layer by layer)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..autograd import host_array
from .figure import finish, grid_axes, pyplot
from .layers import activations

__all__ = ["feature_maps", "plot_feature_maps"]


def feature_maps(model: Any, image: Any, layer: str) -> np.ndarray:
    """The output of ``layer`` for one ``image`` (C, H, W) or a batch of one: (C, H', W')
    for a conv layer, (F,) for a linear one.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    """
    x = host_array(image)
    if x.ndim == 3:
        x = x[None]
    if len(x) != 1:
        raise ValueError(f"feature_maps: give one image, got a batch of {len(x)} (shape {x.shape})")
    return activations(model, x, layer)[layer][0]


def plot_feature_maps(
    model: Any,
    image: Any,
    layer: str,
    *,
    max_channels: int = 64,
    path: str | os.PathLike | None = None,
) -> Any:
    """The input image and the first ``max_channels`` feature maps of ``layer`` for it,
    each on its own colour scale. A linear layer's output is drawn as a bar chart.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    path : str or PathLike or None
        Also save the figure there (atomically) when given.
    """
    maps = feature_maps(model, image, layer)
    x = host_array(image)
    x = x[0] if x.ndim == 4 else x
    if maps.ndim == 1:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.bar(np.arange(len(maps)), maps)
        ax.set_xlabel("unit")
        ax.set_ylabel("activation")
        ax.set_title(f"{type(model).__name__} {layer}: {len(maps)} units")
        return finish(fig, path)
    maps = maps.reshape(maps.shape[0], maps.shape[1], -1) if maps.ndim == 2 else maps
    shown = maps[:max_channels]
    fig, axes = grid_axes(len(shown) + 1)
    axes[0].imshow(_display_image(x), cmap="gray")
    axes[0].set_title("input", fontsize=8)
    for c, (ax, m) in enumerate(zip(axes[1:], shown, strict=False)):
        ax.imshow(m, cmap="viridis", interpolation="nearest")
        ax.set_title(f"{c}", fontsize=7)
    fig.suptitle(
        f"{type(model).__name__} {layer}: {maps.shape[0]} maps of "
        f"{maps.shape[1]}×{maps.shape[2]}"
        + (f" (first {len(shown)})" if len(shown) < len(maps) else "")
    )
    return finish(fig, path)


def _display_image(x: np.ndarray) -> np.ndarray:
    """(C, H, W) → (H, W) grey or (H, W, 3) colour in [0, 1] for ``imshow``."""
    from .figure import normalize01

    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        return normalize01(x)
    if x.shape[0] == 1:
        return normalize01(x[0])
    return normalize01(x[:3]).transpose(1, 2, 0)
