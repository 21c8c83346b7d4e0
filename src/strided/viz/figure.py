"""What every picture of ``strided.viz`` shares: matplotlib on the Agg backend (no display
needed), atomic saving as PNG or SVG, and image tiles laid out in a grid."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["pyplot", "save_figure", "finish", "tile", "normalize01", "grid_axes"]

FORMATS = ("png", "svg", "pdf")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or an ImportError naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("strided.viz needs matplotlib: pip install 'strided[plot]'") from None
    matplotlib.use("Agg")  # files only: works without a display, on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` (PNG, SVG or PDF, from the suffix) atomically.

    Parameters
    ----------
    dpi : int
        Resolution of raster files, in dots per inch (default 100).
    """
    from ..io import atomic_write_bytes

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(
            f"save_figure: {path} must end in one of {', '.join('.' + f for f in FORMATS)}"
        )
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    return atomic_write_bytes(path, buf.getvalue())


def finish(fig: Any, path: str | os.PathLike | None) -> Any:
    """Lay out ``fig``, save it when a ``path`` is given, and return it."""
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def normalize01(a: np.ndarray, axis: tuple | None = None) -> np.ndarray:
    """``a`` scaled to [0, 1] by its min and max (over ``axis``, kept per the other axes);
    a constant array becomes 0.5."""
    a = np.asarray(a, dtype=np.float64)
    lo = a.min(axis=axis, keepdims=axis is not None)
    hi = a.max(axis=axis, keepdims=axis is not None)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(hi > lo, (a - lo) / span, 0.5)


def tile(
    images: np.ndarray, ncols: int | None = None, pad: int = 1, fill: float = np.nan
) -> np.ndarray:
    """Images (n, h, w) or (n, h, w, 3) laid out row by row in one (H, W[, 3]) array,
    ``pad`` pixels of ``fill`` between them (NaN shows as the background in ``imshow``).

    Parameters
    ----------
    images : ndarray
        Images (N, H, W) or (N, H, W, 3) to lay out in a grid.
    ncols : int or None
        Images per row (about √N when None).
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(
            f"tile: expected images (n, h, w) or (n, h, w, 3), got shape {images.shape}"
        )
    n, h, w = images.shape[:3]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad) + images.shape[3:], fill)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return out


def grid_axes(n: int, ncols: int | None = None, size: float = 1.2) -> tuple[Any, np.ndarray]:
    """A figure with ``n`` small image axes in a grid (spare axes hidden, ticks off)."""
    plt = pyplot()
    ncols = max(1, min(n, ncols or math.ceil(math.sqrt(n))))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols + 0.5, size * nrows + 0.5), squeeze=False
    )
    axes = axes.ravel()
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]
