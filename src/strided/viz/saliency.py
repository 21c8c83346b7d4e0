"""Saliency maps (Simonyan et al. 2014): which pixels the class score is most sensitive to,
|∂ score_c / ∂ x|, the largest over the colour channels."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..autograd import Tensor, host_array
from .feature_maps import _display_image
from .figure import finish, pyplot
from .layers import as_batch

__all__ = ["input_gradient", "saliency_map", "plot_saliency"]


def input_gradient(model: Any, images: Any, target: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(grad, target)``: ∂ score / ∂ x for each image, shape of ``images``, with score the
    logit of class ``target`` (an int or one per image; default: the predicted class).

    The model runs in eval mode; its parameters' gradients are left as they were.
    """
    x = Tensor(np.array(host_array(as_batch(images)), copy=True), requires_grad=True)
    x = x.to(model.device).detach().requires_grad_() if hasattr(model, "device") else x
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        for p in params:
            p.requires_grad = False
        scores = model(x)
        if scores.ndim != 2:
            raise ValueError(
                f"input_gradient: the model's output has shape {scores.shape}; "
                "a saliency map needs class scores (N, classes)"
            )
        n, k = scores.shape
        t = (
            host_array(scores).argmax(axis=1)
            if target is None
            else np.broadcast_to(np.asarray(target, dtype=np.int64), (n,))
        )
        if np.any((t < 0) | (t >= k)):
            raise ValueError(
                f"input_gradient: target {target} is not a class of a model with {k} outputs"
            )
        mask = np.zeros(scores.shape, dtype=scores.dtype)
        mask[np.arange(n), t] = 1
        scores.backward(mask)  # the gradient of Σ_n score[n, t_n]
    finally:
        for p, f in zip(params, flags, strict=True):
            p.requires_grad = f
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    return host_array(x.grad), np.asarray(t)


def saliency_map(model: Any, images: Any, target: Any = None) -> np.ndarray:
    """(N, H, W): max over channels of |∂ score_target / ∂ x| for images (N, C, H, W).

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    target : int, array-like or None
        Class whose logit is differentiated: one for all images or one per image (the predicted
        class when None).
    """
    grad, _ = input_gradient(model, images, target)
    if grad.ndim != 4:
        raise ValueError(f"saliency_map: expected images (N, C, H, W), got shape {grad.shape}")
    return np.abs(grad).max(axis=1)


def plot_saliency(
    model: Any,
    images: Any,
    target: Any = None,
    *,
    classes: Any = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Each image above its saliency map for ``target`` (default: the predicted class).

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    images : array-like
        Input images (N, C, H, W), as the model expects them.
    classes : sequence of str or None
        Class names for the titles (indices when None).
    path : str or PathLike or None
        Also save the figure there (atomically) when given.
    """
    plt = pyplot()
    images = host_array(images)
    images = images[None] if images.ndim == 3 else images
    grad, t = input_gradient(model, images, target)
    sal = np.abs(grad).max(axis=1)
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n + 0.4, 3.6), squeeze=False)
    for j in range(n):
        axes[0, j].imshow(_display_image(images[j]), cmap="gray")
        name = classes[int(t[j])] if classes is not None else int(t[j])
        axes[0, j].set_title(f"{name}", fontsize=8)
        axes[1, j].imshow(sal[j], cmap="hot")
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("|∂score/∂x|")
    return finish(fig, path)
