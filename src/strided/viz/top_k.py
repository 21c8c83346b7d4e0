"""The images of a data set that most excite one channel (Zeiler & Fergus's way of seeing
what a unit deep in the network has learned to detect)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .feature_maps import _display_image
from .figure import finish, grid_axes
from .layers import activations

__all__ = ["channel_scores", "top_k_activating", "plot_top_k"]


def channel_scores(
    model: Any, images: Any, layer: str, channel: int, reduce: str = "max", batch_size: int = 256
) -> np.ndarray:
    """One score per image: the ``reduce`` ("max" or "mean") over positions of channel
    ``channel`` of ``layer`` (for a linear layer, unit ``channel``).

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    images : array-like
        Input images (N, C, H, W), as the model expects them.
    batch_size : int
        Images per forward pass (default 256).
    """
    if reduce not in ("max", "mean"):
        raise ValueError(f"channel_scores: reduce must be 'max' or 'mean', got {reduce!r}")
    images = np.asarray(images)
    scores = []
    for i in range(0, len(images), batch_size):
        a = activations(model, images[i : i + batch_size], layer)[layer]
        if not 0 <= channel < a.shape[1]:
            raise ValueError(
                f"layer {layer!r} has {a.shape[1]} channels; channel {channel} does not exist"
            )
        a = a[:, channel].reshape(len(a), -1)
        scores.append(a.max(axis=1) if reduce == "max" else a.mean(axis=1))
    if not scores:
        raise ValueError("channel_scores: no images given")
    return np.concatenate(scores)


def top_k_activating(
    model: Any,
    images: Any,
    layer: str,
    channel: int,
    k: int = 9,
    reduce: str = "max",
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, scores)`` of the ``k`` images that excite ``channel`` of ``layer`` most,
    best first (ties keep the data set's order).

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    reduce : str
        'max' (default) or 'mean': how a channel's map becomes one score per image.
    batch_size : int
        Images per forward pass (default 256).
    """
    if k < 1:
        raise ValueError(f"top_k_activating: k must be positive, got {k}")
    scores = channel_scores(model, images, layer, channel, reduce, batch_size)
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order]


def plot_top_k(
    model: Any,
    images: Any,
    layer: str,
    channel: int,
    k: int = 9,
    *,
    reduce: str = "max",
    labels: Any = None,
    classes: Any = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """The ``k`` images that most excite ``channel`` of ``layer``, with their scores
    (and labels, when given).

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    reduce : str
        'max' (default) or 'mean': how a channel's map becomes one score per image.
    classes : sequence of str or None
        Class names for the titles (indices when None).
    path : str or PathLike or None
        Also save the figure there (atomically) when given.
    """
    idx, scores = top_k_activating(model, images, layer, channel, k, reduce)
    fig, axes = grid_axes(len(idx), size=1.5)
    for ax, i, s in zip(axes, idx, scores, strict=False):
        ax.imshow(_display_image(np.asarray(images[i])), cmap="gray")
        title = f"#{i}: {s:.2f}"
        if labels is not None:
            y = int(labels[i])
            title += f"\n{classes[y] if classes is not None else y}"
        ax.set_title(title, fontsize=7)
    fig.suptitle(f"{layer} channel {channel}: top {len(idx)} images ({reduce} activation)")
    return finish(fig, path)
