"""Dropout (Srivastava et al. 2014) with inverted scaling: in training each unit is kept
with probability 1 − p and the kept ones are multiplied by 1/(1 − p), so the expected
activation is unchanged and evaluation is the identity, with no rescaling at test time.

The mask is drawn on the input's device, from that device's stream of the generator
(`Generator.on`): nothing is copied from the host in a training step. The same seed gives
the same masks on each device, but a GPU's masks differ from the CPU's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..backend import Generator, rng_on
from ..device import Device

__all__ = ["dropout", "dropout1d", "dropout2d"]


class Dropout(Function):
    """y = x·m with m ∈ {0, 1/(1−p)}; ∂L/∂x = g·m."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * self.mask

    def backward(self, g: np.ndarray) -> Grads:
        return g * self.mask


def check_dropout_p(name: str, p: float) -> float:
    """`p` as a float in [0, 1], or a ValueError naming `name`."""
    if not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _mask(
    shape: tuple[int, ...], p: float, dtype: np.dtype, where: Device, generator: Generator | None
) -> np.ndarray:
    """m ∈ {0, 1/(1−p)} of `shape`, drawn on device `where`."""
    if p == 1.0:
        return where.new("zeros", shape, dtype)
    keep = rng_on(generator, where).random(shape, dtype=np.float32) >= p
    # the scale is computed in the tensor's dtype so that float32 stays float32
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _apply(
    name: str,
    x: Tensor,
    p: float,
    training: bool,
    mask_shape: Callable[[tuple[int, ...]], tuple[int, ...]],
    generator: Generator | None,
) -> Tensor:
    p = check_dropout_p(name, p)
    if not isinstance(x, Tensor):
        x = Tensor(np.asarray(x))
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, mask=_mask(mask_shape(x.shape), p, x.dtype, x.device, generator))


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero each element independently with probability `p` (training only), scaling the
    rest by 1/(1 − p). `inplace` is accepted for torch compatibility and ignored.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    generator : Generator or None
        Random stream of the mask (the global one when None).
    """
    return _apply("dropout", input, p, training, lambda s: s, generator)


def dropout2d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero whole channels of (N, C, H, W) (or unbatched (C, H, W)) with probability `p`:
    neighbouring pixels are correlated, so dropping single pixels regularises little
    (Tompson et al. 2015).

    Parameters
    ----------
    input : Tensor
        The input tensor.
    training : bool
        Apply dropout (True, default); in evaluation the input is returned unchanged.
    inplace : bool
        Accepted for PyTorch compatibility; the result is always a new tensor.
    generator : Generator or None
        Random stream of the mask (the global one when None).
    """
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if x.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}"
        )
    return _apply("dropout2d", x, p, training, lambda s: s[:-2] + (1, 1), generator)


def dropout1d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero whole channels of (N, C, L) (or unbatched (C, L)) with probability `p`.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    training : bool
        Apply dropout (True, default); in evaluation the input is returned unchanged.
    inplace : bool
        Accepted for PyTorch compatibility; the result is always a new tensor.
    generator : Generator or None
        Random stream of the mask (the global one when None).
    """
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if x.ndim not in (2, 3):
        raise ValueError(
            f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {x.shape}"
        )
    return _apply("dropout1d", x, p, training, lambda s: s[:-1] + (1,), generator)
