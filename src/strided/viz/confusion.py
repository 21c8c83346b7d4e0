"""The confusion matrix as a picture: rows the true class, columns the predicted one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .figure import finish, pyplot

__all__ = ["plot_confusion_matrix"]


def plot_confusion_matrix(
    cm: Any,
    classes: Sequence[str] | None = None,
    *,
    normalize: bool = True,
    path: str | os.PathLike | None = None,
) -> Any:
    """Draw the (K, K) counts ``cm`` (``strided.train.confusion_matrix``), each row divided
    by its total when ``normalize`` (so the diagonal is the per-class accuracy), with the
    numbers written in the cells.

    Parameters
    ----------
    classes : sequence of str or None
        Class names for the titles (indices when None).
    path : str or PathLike or None
        Also save the figure there (atomically) when given.
    """
    plt = pyplot()
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {cm.shape}")
    k = cm.shape[0]
    classes = list(classes) if classes is not None else [str(i) for i in range(k)]
    if len(classes) != k:
        raise ValueError(f"plot_confusion_matrix: {len(classes)} class names for a {k}×{k} matrix")
    totals = cm.sum(axis=1, keepdims=True)
    shown = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0) if normalize else cm
    fig, ax = plt.subplots(figsize=(1 + 0.55 * k, 0.8 + 0.5 * k))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, fraction=0.046)
    top = shown.max() if shown.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(shown[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if shown[i, j] > 0.6 * top else "black",
            )
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"confusion matrix (accuracy {acc:.3f})")
    return finish(fig, path)
