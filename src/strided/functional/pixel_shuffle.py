"""Sub-pixel rearrangement (Shi et al. 2016): `pixel_shuffle` moves r² channels into an
r×r block of pixels, `pixel_unshuffle` undoes it. Both are reshapes and a transpose, so
their gradients are the inverse rearrangement."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from .arguments import as_tensor


def _factor(fn: str, r: object) -> int:
    if not isinstance(r, (int, np.integer)) or isinstance(r, bool) or r < 1:
        raise ValueError(f"{fn}: the factor must be a positive int, got {r!r}")
    return int(r)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w].

    Parameters
    ----------
    input : Tensor
        At least 3-D; any leading axes are kept.
    upscale_factor : int
        r.
    """
    fn = "pixel_shuffle"
    x, r = as_tensor(input, fn), _factor(fn, upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(
            f"{fn}: expected (*, C·{r * r}, H, W) with channels divisible by "
            f"upscale_factor² = {r * r}, got shape {tuple(x.shape)}"
        )
    *lead, C, H, W = x.shape
    k = len(lead)
    y = x.reshape(*lead, C // (r * r), r, r, H, W)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (…, c, H, i, W, j)
    return y.reshape(*lead, C // (r * r), H * r, W * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of `pixel_shuffle`.

    Parameters
    ----------
    input : Tensor
        At least 3-D with height and width divisible by r.
    downscale_factor : int
        r.
    """
    fn = "pixel_unshuffle"
    x, r = as_tensor(input, fn), _factor(fn, downscale_factor)
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ValueError(
            f"{fn}: expected (*, C, H, W) with H and W divisible by "
            f"downscale_factor = {r}, got shape {tuple(x.shape)}"
        )
    *lead, C, H, W = x.shape
    k = len(lead)
    y = x.reshape(*lead, C, H // r, r, W // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (…, c, i, j, H, W)
    return y.reshape(*lead, C * r * r, H // r, W // r)


__all__ = ["pixel_shuffle", "pixel_unshuffle"]
