"""Convolution filters as pictures: the notes' first-layer AlexNet filters (oriented edges
and colour blobs) come out of ``plot_filters(model, "features.0")``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..autograd import host_array
from .figure import finish, normalize01, pyplot, tile
from .layers import conv_layer_names, get_layer

__all__ = ["conv_weight", "filter_images", "plot_filters"]


def conv_weight(model: Any, layer: str | None = None) -> np.ndarray:
    """The weight (out, in, kh, kw) of the conv layer ``layer`` (default: the first).

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    """
    if layer is None:
        names = conv_layer_names(model)
        if not names:
            raise ValueError(f"{type(model).__name__} has no convolution layer")
        layer = names[0]
    m = get_layer(model, layer)
    w = getattr(m, "weight", None)
    if w is None or w.ndim != 4:
        raise ValueError(
            f"layer {layer!r} ({type(m).__name__}) is not a 2-D convolution; "
            f"its conv layers are: {', '.join(conv_layer_names(model))}"
        )
    return host_array(w)


def filter_images(
    weight: np.ndarray, mode: str = "auto", max_filters: int = 64, max_channels: int = 16
) -> np.ndarray:
    """The filters of ``weight`` (out, in, kh, kw) as images.

    ``mode="rgb"`` (needs in = 3): (out, kh, kw, 3), each filter scaled to [0, 1] by its
    own min and max, as first-layer filters are usually shown. ``mode="channels"``:
    (out, in, kh, kw), one grey image per input channel, divided by the layer's largest
    |w| so that 0 stays 0 and all filters share one scale in [−1, 1]. ``"auto"``: rgb for
    3 input channels. At most ``max_filters`` filters and ``max_channels`` channels.
    """
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(
            f"filter_images: expected a conv weight (out, in, kh, kw), got shape {w.shape}"
        )
    if mode == "auto":
        mode = "rgb" if w.shape[1] == 3 else "channels"
    w = w[:max_filters]
    if mode == "rgb":
        if w.shape[1] != 3:
            raise ValueError(
                f"filter_images: mode 'rgb' needs 3 input channels, the weight "
                f"has {w.shape[1]} (shape {weight.shape})"
            )
        return normalize01(w, axis=(1, 2, 3)).transpose(0, 2, 3, 1)
    if mode != "channels":
        raise ValueError(f"filter_images: mode must be 'auto', 'rgb' or 'channels', got {mode!r}")
    w = w[:, :max_channels]
    scale = np.abs(w).max()
    return w / scale if scale > 0 else w


def plot_filters(
    model: Any,
    layer: str | None = None,
    *,
    mode: str = "auto",
    max_filters: int = 64,
    max_channels: int = 16,
    path: str | os.PathLike | None = None,
) -> Any:
    """A grid of the filters of conv layer ``layer`` (default: the first): in colour for
    RGB inputs, else one row per filter and one column per input channel (blue negative,
    red positive). Saved to ``path`` (.png/.svg) when given; returns the Figure.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    mode : str
        'rgb' (filters with 3 input channels as colour images), 'channels' (every input channel
        as a grey image) or 'auto' (rgb when the layer has 3 input channels).
    max_filters : int
        At most this many filters (output channels) are shown (default 64).
    max_channels : int
        At most this many input channels per filter are shown with mode 'channels' (default 16).
    """
    plt = pyplot()
    weight = conv_weight(model, layer)
    layer = layer if layer is not None else conv_layer_names(model)[0]
    images = filter_images(weight, mode, max_filters, max_channels)
    if images.ndim == 4 and images.shape[-1] == 3:
        grid = tile(images, pad=1, fill=1.0)
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.imshow(grid, interpolation="nearest")
    else:
        n_out, n_in = images.shape[:2]
        if n_in == 1:  # grey input: the filters in a square grid
            grid = tile(images[:, 0], pad=1)
            fig, ax = plt.subplots(figsize=(5, 4.5))
        else:  # one row per filter, one column per input channel
            grid = tile(images.reshape(n_out * n_in, *images.shape[2:]), ncols=n_in, pad=1)
            fig, ax = plt.subplots(figsize=(min(12, 1 + 0.5 * n_in), min(16, 1 + 0.5 * n_out)))
            ax.set_xlabel("input channel")
            ax.set_ylabel("filter")
        cmap = plt.get_cmap("bwr").copy()
        cmap.set_bad("0.6")  # the gaps between filters, grey so that they differ from w = 0
        im = ax.imshow(grid, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.03, label="w / max|w|")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{type(model).__name__} {layer}: filters {tuple(weight.shape)}")
    return finish(fig, path)
