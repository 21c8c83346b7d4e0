"""Autoencoders seen through their outputs: reconstructions next to their inputs, and new
images decoded from codes drawn around those the encoder produces."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import Tensor, host_array, no_grad
from .feature_maps import _display_image
from .figure import finish, pyplot
from .layers import as_batch

__all__ = ["reconstructions", "decoder_samples", "plot_reconstructions", "plot_decoder_samples"]


def _in_eval(model: Any, fn: Any) -> Any:
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            return fn()
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)


def reconstructions(model: Any, images: Any) -> np.ndarray:
    """``model(images)`` as an array of the inputs' shape (eval mode, no_grad)."""
    x = as_batch(images, model)
    out = host_array(_in_eval(model, lambda: model(x)))
    if out.shape != x.shape:
        raise ValueError(
            f"reconstructions: {type(model).__name__} maps inputs {x.shape} to "
            f"{out.shape}; an autoencoder gives back its input's shape"
        )
    return out


def _codes(model: Any, x: Tensor) -> np.ndarray:
    if not (hasattr(model, "encode") and hasattr(model, "decode")):
        raise ValueError(
            f"decoder_samples: {type(model).__name__} has no encode/decode; "
            "give an autoencoder from strided.models"
        )
    z = model.encode(x)
    if isinstance(z, (tuple, list)):
        raise ValueError(
            f"decoder_samples: {type(model).__name__}'s decoder needs more than "
            "a code (e.g. the encoder's pooling indices), so codes cannot be "
            "drawn on their own"
        )
    return host_array(z)


def decoder_samples(
    model: Any, images: Any, n: int = 16, seed: int | np.random.Generator | None = 0
) -> np.ndarray:
    """``n`` images decoded from codes z ~ N(μ, diag σ²), with μ and σ the mean and
    standard deviation of the codes of ``images``: what the decoder makes of the region
    of code space the data occupies (a plain autoencoder has no prior to sample from).

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    seed : int or numpy.random.Generator or None
        Seed or generator of the random codes (default 0, repeatable).
    """
    if n < 1:
        raise ValueError(f"decoder_samples: n must be positive, got {n}")
    x = as_batch(images, model)
    rng = np.random.default_rng(seed)

    def run() -> Any:
        z = _codes(model, x)
        mu, sigma = z.mean(axis=0), z.std(axis=0)
        draw = mu + sigma * rng.standard_normal((n,) + z.shape[1:])
        return host_array(model.decode(Tensor(draw.astype(z.dtype)).to(model.device)))

    return _in_eval(model, run)


def _as_images(a: np.ndarray, image_shape: Sequence[int] | None) -> np.ndarray:
    if image_shape is not None:
        return a.reshape((len(a),) + tuple(image_shape))
    if a.ndim == 2:  # flat vectors: square grey images when they can be
        side = int(round(np.sqrt(a.shape[1])))
        if side * side == a.shape[1]:
            return a.reshape(len(a), 1, side, side)
        raise ValueError(f"cannot show vectors of length {a.shape[1]} as images; give image_shape")
    return a


def plot_reconstructions(
    model: Any,
    images: Any,
    *,
    image_shape: Sequence[int] | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Inputs (top row) above their reconstructions (bottom row), with each one's mean
    squared error.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    images : array-like
        Input images (N, C, H, W), as the model expects them.
    image_shape : sequence of int or None
        (C, H, W) to reshape flat outputs to for display (square grey images when None).
    path : str or PathLike or None
        Also save the figure there (atomically) when given.
    """
    plt = pyplot()
    x = host_array(images)
    y = reconstructions(model, x)
    err = ((y.reshape(len(y), -1) - x.reshape(len(x), -1)) ** 2).mean(axis=1)
    xi, yi = _as_images(x, image_shape), _as_images(y, image_shape)
    n = len(x)
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n + 0.4, 3), squeeze=False)
    for j in range(n):
        axes[0, j].imshow(_display_image(xi[j]), cmap="gray")
        axes[1, j].imshow(_display_image(yi[j]), cmap="gray")
        axes[1, j].set_title(f"{err[j]:.3f}", fontsize=7)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    fig.suptitle(f"{type(model).__name__}: reconstructions (titles: mean squared error)")
    return finish(fig, path)


def plot_decoder_samples(
    model: Any,
    images: Any,
    n: int = 16,
    *,
    seed: int = 0,
    image_shape: Sequence[int] | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """A grid of ``decoder_samples``.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    images : array-like
        Input images (N, C, H, W), as the model expects them.
    n : int
        How many samples to draw (default 16).
    seed : int
        Seed of the random codes (default 0, repeatable).
    image_shape : sequence of int or None
        (C, H, W) to reshape flat outputs to for display (square grey images when None).
    path : str or PathLike or None
        Also save the figure there (atomically) when given.
    """
    from .figure import grid_axes

    samples = _as_images(decoder_samples(model, images, n, seed), image_shape)
    fig, axes = grid_axes(len(samples))
    for ax, s in zip(axes, samples, strict=False):
        ax.imshow(_display_image(s), cmap="gray")
    fig.suptitle("decoded from codes drawn around the data's codes")
    return finish(fig, path)
