"""The notes' picture of a first layer: each hidden unit's incoming weights as an image.

A unit of the first fully connected layer of an MNIST network has one weight per pixel, so
its 784 weights drawn as a 28×28 image show the pattern that excites it most. Works for
scikit-learn's layout (``MLPClassifier.coefs_[0]``, (n_inputs, n_units)) and for a
strided ``nn.Linear`` (weight (n_units, n_inputs)).
"""

from __future__ import annotations

import io
import math
import os
from typing import Any

import numpy as np

from ..autograd import host_array
from ..io.atomic import atomic_write_bytes

__all__ = ["unit_weight_images", "plot_weights"]


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files, no display), or a one-line error."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("strided.viz needs matplotlib: pip install 'strided[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _units_by_inputs(weights: Any) -> np.ndarray:
    """(n_units, n_inputs) from a Linear, a fitted estimator with ``coefs_`` or an array
    in scikit-learn's (n_inputs, n_units) layout."""
    weight = getattr(weights, "weight", None)
    if weight is not None and hasattr(weights, "in_features"):  # strided nn.Linear
        return host_array(weight).astype(np.float64)
    if hasattr(weights, "coefs_"):  # a fitted MLPClassifier / MLPRegressor
        weights = weights.coefs_[0]
    a = host_array(weights).astype(np.float64)
    if a.ndim != 2:
        raise ValueError(
            f"plot_weights: expected a weight matrix (n_inputs, n_units), an nn.Linear or "
            f"an estimator with coefs_, got an array of shape {a.shape}"
        )
    return a.T


def unit_weight_images(weights: Any, shape: tuple[int, ...] = (28, 28)) -> np.ndarray:
    """The incoming weights of each unit reshaped to an image: (n_units, *shape).

    Parameters
    ----------
    weights : ndarray (n_inputs, n_units), nn.Linear, or a fitted MLP estimator
        The first layer: scikit-learn's ``coefs_[0]`` layout, or a Linear layer whose
        weight is (n_units, n_inputs).
    shape : tuple of int, default=(28, 28)
        The image shape of one unit's inputs; its product must equal n_inputs.

    Returns
    -------
    images : ndarray of shape (n_units, *shape)
    """
    w = _units_by_inputs(weights)
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != w.shape[1]:
        raise ValueError(
            f"plot_weights: shape {shape} holds {math.prod(shape)} values but each unit has "
            f"{w.shape[1]} input weights ({w.shape[0]} units)"
        )
    return w.reshape((w.shape[0],) + shape)


def plot_weights(
    weights: Any,
    shape: tuple[int, ...] = (28, 28),
    max_units: int | None = None,
    ncols: int | None = None,
    cmap: str = "gray",
    path: str | os.PathLike | None = None,
    title: str | None = None,
) -> Any:
    """A grid of the first layer's weight images, one per hidden unit, as in the notes.

    All images share one colour scale, half the weights' range (as the notes' plot:
    vmin = 0.5·min, vmax = 0.5·max), so strong and weak units compare at a glance.

    Parameters
    ----------
    weights : ndarray (n_inputs, n_units), nn.Linear, or a fitted MLP estimator
        E.g. ``mlp.coefs_[0]`` or ``model[0]`` of a strided Sequential.
    shape : tuple of int, default=(28, 28)
        The image shape of one unit's inputs.
    max_units : int, optional
        Draw only the first ``max_units`` units (the notes show 16 in a 4×4 grid).
    ncols : int, optional
        Columns of the grid (default: about the square root of the number of units).
    cmap : str, default="gray"
        The matplotlib colour map.
    path : str or PathLike, optional
        Also save the figure there (PNG or SVG, from the suffix), atomically.
    title : str, optional
        A title above the grid.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = unit_weight_images(weights, shape)
    if max_units is not None:
        if max_units < 1:
            raise ValueError(f"plot_weights: max_units must be at least 1, got {max_units}")
        images = images[:max_units]
    if images.ndim != 3:
        raise ValueError(f"plot_weights: shape must be 2-D (height, width), got {shape}")
    plt = _pyplot()
    n = len(images)
    ncols = max(1, min(n, ncols or math.ceil(math.sqrt(n))))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.2 * ncols + 0.5, 1.2 * nrows + 0.5), squeeze=False
    )
    vmin, vmax = 0.5 * images.min(), 0.5 * images.max()
    for i, ax in enumerate(axes.ravel()):
        if i < n:
            ax.matshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
        else:
            ax.set_visible(False)
        ax.set_xticks([])  # after matshow, which sets its own ticks
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
        if suffix not in ("png", "svg", "pdf"):
            raise ValueError(f"plot_weights: {path} must end in .png, .svg or .pdf")
        buf = io.BytesIO()
        fig.savefig(buf, format=suffix, bbox_inches="tight")
        atomic_write_bytes(path, buf.getvalue())
    return fig
