"""Argument checking shared by the functional ops and the layers that wrap them: inputs as
Tensors, ints-or-tuples, the padding rules, the shape and window checks, and the 1-D lifting
that lets 1-D convolution, pooling and upsampling run on the 2-D kernels.

Every check names the function (or layer) that was called, the argument and the shapes, so
that a bad call fails here with a clear message rather than deep inside NumPy.
"""

from __future__ import annotations

from typing import TypeGuard, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from ..autograd import Tensor
from ..backend import is_floating

__all__ = [
    "as_tensor",
    "ntuple",
    "positive_int",
    "layout",
    "check_input",
    "PADDING_MODES",
    "check_padding_mode",
    "check_conv_padding",
    "conv_pads",
    "check_pool_padding",
    "check_window_fits",
    "lift_1d",
    "drop_1d",
]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def as_tensor(x: Tensor | ArrayLike, fn: str, name: str = "input") -> Tensor:
    """`x` as a Tensor (arrays are wrapped, not copied)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, float, int)):
        return Tensor(x)
    raise TypeError(f"{fn}: {name} must be a Tensor or an array, got {type(x).__name__}")


def _is_int(v: object) -> TypeGuard[int | np.integer]:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def ntuple(
    value: object, n: int, fn: str, name: str, minimum: int | None = None
) -> tuple[int, ...]:
    """`value` (an int, or a sequence of n ints or of one to broadcast, as PyTorch) as an
    n-tuple, checked ≥ minimum."""
    if isinstance(value, (tuple, list)) and len(value) == 1 and n > 1:
        value = value[0]
    if _is_int(value):
        out = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(map(_is_int, value)):
        out = tuple(int(v) for v in value if _is_int(v))  # all are, checked above
    else:
        raise TypeError(f"{fn}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if minimum is not None and any(v < minimum for v in out):
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return out


def positive_int(value: object, fn: str, name: str) -> int:
    """`value` as an int ≥ 1 (channel counts, groups), or a ValueError naming it."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{fn}: {name} must be a positive int, got {value!r}")
    return int(value)


def layout(nd: int) -> str:
    """The batched layout of an `nd`-D spatial input, for error messages."""
    return "(N, C, L)" if nd == 1 else "(N, C, H, W)" if nd == 2 else "(N, C, D, H, W)"


def check_input(x: Tensor, ndim: int, fn: str, layout: str) -> None:
    """A floating `ndim`-D input, or an error naming `fn` and the shape."""
    if x.ndim != ndim:
        raise ValueError(
            f"{fn}: expected a {ndim}-D input {layout}, "
            f"got a {x.ndim}-D input of shape {tuple(x.shape)}"
        )
    if not is_floating(x.dtype):
        raise TypeError(f"{fn}: input must be floating point, got dtype {x.dtype}")


def check_padding_mode(padding_mode: str, fn: str) -> str:
    """One of PADDING_MODES (what a convolution's padding holds)."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"{fn}: padding_mode must be 'zeros', 'reflect', 'replicate' "
            f"or 'circular', got {padding_mode!r}"
        )
    return padding_mode


def check_conv_padding(
    padding: int | tuple[int, ...] | str, nd: int, stride: tuple, fn: str
) -> str | tuple:
    """A convolution's `padding` as given: 'same' (stride 1 only), 'valid', or an n-tuple
    of non-negative ints."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(
                f"{fn}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}"
            )
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError(f"{fn}: padding='same' needs stride 1, got stride {stride}")
        return padding
    return ntuple(padding, nd, fn, "padding", minimum=0)


def conv_pads(
    padding: int | tuple[int, ...] | str, kernel: tuple, dilation: tuple, stride: tuple, fn: str
) -> tuple:
    """int / tuple / 'same' / 'valid' → ((top, bottom), (left, right), ...) per spatial dim.

    'same' pads d·(k−1) in total, the odd one at the end, as PyTorch does.
    """
    padding = check_conv_padding(padding, len(kernel), stride, fn)
    if padding == "valid":
        return ((0, 0),) * len(kernel)
    if padding == "same":
        return tuple(
            (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
            for k, d in zip(kernel, dilation, strict=True)
        )
    return tuple((v, v) for v in padding)


def check_pool_padding(
    kernel: tuple, padding: tuple, dilation: tuple, fn: str, shape: tuple
) -> None:
    """Pooling pads at most half the (dilated) window on each side, as PyTorch requires."""
    for k, p, d in zip(kernel, padding, dilation, strict=True):
        if 2 * p > d * (k - 1) + 1:
            raise ValueError(
                f"{fn}: padding {padding} must be at most half the (dilated) "
                f"kernel size {kernel} (input shape {tuple(shape)})"
            )


def check_window_fits(
    spatial: tuple, kernel: tuple, pads: tuple, dilation: tuple, fn: str, shapes: str
) -> None:
    """The (dilated) kernel must fit in the padded input."""
    for size, k, (lo, hi), d in zip(spatial, kernel, pads, dilation, strict=True):
        if d * (k - 1) + 1 > size + lo + hi:
            raise ValueError(
                f"{fn}: kernel size {tuple(kernel)} (dilation {tuple(dilation)}) is larger "
                "than the padded input "
                f"{tuple(s + a + b for s, (a, b) in zip(spatial, pads, strict=True))}"
                f" ({shapes})"
            )


# an array or a Tensor (or None: an absent bias), lifted or dropped as it came
A = TypeVar("A", Tensor, np.ndarray, Tensor | None, np.ndarray | None)


def lift_1d(a: A, one_d: bool) -> A:
    """(N, C, L) → (N, C, 1, L) so 1-D ops run on the 2-D kernels."""
    return a[:, :, None, :] if (one_d and a is not None) else a


def drop_1d(a: A, one_d: bool) -> A:
    """The inverse of `lift_1d`: (N, C, 1, L) → (N, C, L)."""
    return a[:, :, 0, :] if (one_d and a is not None) else a
