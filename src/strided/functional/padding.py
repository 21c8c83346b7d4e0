"""`pad`: constant, reflect, replicate and circular padding, differentiable."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..kernels.pad import MODES, pad_backward, pad_forward


class Pad(Function):
    """params: pads ((lo, hi) per trailing axis, in axis order), mode, value."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.in_shape = x.shape
        return pad_forward(x, self.pads, self.mode, self.value)

    def backward(self, g: np.ndarray) -> Grads:
        return pad_backward(g, self.pads, self.mode, self.in_shape)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the trailing axes of `input`, PyTorch's convention: `pad` = (left, right) for the
    last axis, then (top, bottom) for the one before, and so on.

    mode 'constant' fills with `value`; 'reflect' mirrors without repeating the edge
    (widths < the axis length); 'replicate' repeats the edge; 'circular' wraps around
    (widths ≤ the length left after cropping). Negative widths crop, in every mode.

    Parameters
    ----------
    input : Tensor
        The tensor to pad.
    pad : tuple of int
        An even number of widths, last axis first.
    mode : str
        'constant', 'reflect', 'replicate' or 'circular'.
    value : float
        The fill of mode 'constant'.
    """
    x = input if isinstance(input, Tensor) else Tensor(input)
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, got {mode!r}")
    if (
        not isinstance(pad, (tuple, list))
        or len(pad) % 2
        or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad)
    ):
        raise TypeError(f"pad: pad must be a tuple of an even number of ints, got {pad!r}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(
            f"pad: pad {tuple(pad)} has {len(pad) // 2} pairs for a "
            f"{x.ndim}-D input of shape {tuple(x.shape)}"
        )
    pairs = [(int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)]
    pairs.reverse()  # now in axis order, for the last len(pairs) axes
    first = x.ndim - len(pairs)
    for k, (lo, hi) in enumerate(pairs):
        n = x.shape[first + k]
        kept = n - max(-lo, 0) - max(-hi, 0)  # what cropping leaves of the axis
        # reflect and replicate pad first and crop after, so only the result must be > 0
        if (n + lo + hi <= 0 and (lo or hi)) if mode in ("reflect", "replicate") else kept < 0:
            raise ValueError(
                f"pad: padding {(lo, hi)} crops more than axis {first + k} of "
                f"length {n} holds (input shape {tuple(x.shape)})"
            )
        if mode == "constant":
            continue
        limit = {"reflect": n - 1, "replicate": None if n > 0 else 0, "circular": kept}[mode]
        if limit is not None and max(lo, hi) > limit:
            raise ValueError(
                f"pad: {mode} padding {(lo, hi)} is too large for axis {first + k} of length"
                f" {n} (input shape {tuple(x.shape)}); it must be at most {limit}"
            )
    return Pad.apply(x, pads=tuple(pairs), mode=mode, value=value)


__all__ = ["pad"]
