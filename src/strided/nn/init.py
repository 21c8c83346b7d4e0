"""Weight initialisation: fill a parameter in place from a distribution chosen so that
signals neither explode nor vanish as they pass through many layers.

Names and formulas follow `torch.nn.init`. Every function takes the tensor (a Parameter,
Tensor or ndarray), writes into it, and returns it; randomness comes from `generator`
(a `strided.Generator`) or the default one. Samples are drawn in float64 and cast to the
tensor's dtype, so a float32 and a float64 model seeded alike start from the same values
(up to rounding).

    fan_in  = in_features  · receptive field (kh·kw for a conv kernel)
    fan_out = out_features · receptive field
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np

from ..autograd import Tensor
from ..backend import Generator, rng_of
from ..device import array_module, device_of, move, on_cpu

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "glorot_uniform_",
    "glorot_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "he_uniform_",
    "he_normal_",
    "lecun_uniform_",
    "lecun_normal_",
    "orthogonal_",
    "calculate_fan_in_and_fan_out",
]

# what the initialisers fill in place and return: a Tensor (or Parameter) or an ndarray
T = TypeVar("T", bound=Tensor | np.ndarray)


def _array(tensor: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray) or not on_cpu(tensor):  # a NumPy or a device array
        return tensor
    raise TypeError(f"init: expected a Tensor, Parameter or ndarray, got {type(tensor).__name__}")


def _write(tensor: T, values: np.ndarray | float) -> T:
    """Copy `values` into `tensor` in place; an in-place write bumps the version counter.

    The values are drawn on the host and copied to a tensor on a device (one copy per
    tensor, when a model is built): the same seed gives the same weights on every device.
    """
    arr = _array(tensor)
    if type(arr) is np.ndarray:
        np.copyto(arr, values, casting="unsafe")
    else:
        values = move(np.asarray(values), device_of(arr))
        array_module(arr).copyto(arr, values, casting="unsafe")
    if isinstance(tensor, Tensor):
        tensor._version += 1
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain g that keeps activations' variance steady through `nonlinearity`.

    linear/conv/sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu: √(2/(1+a²)) with slope a
    (default 0.01); selu: 3/4.
    """
    linear = {
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    }
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Tensor | np.ndarray) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in·k and out·k."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError(
            f"init: fan in and fan out can not be computed for a tensor with fewer than 2 "
            f"dimensions (shape {shape})"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # torch's private name


def _fan(tensor: Tensor | np.ndarray, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: T, a: float = 0.0, b: float = 1.0, generator: Generator | None = None) -> T:
    """Fill with U(a, b)."""
    arr = _array(tensor)
    return _write(tensor, rng_of(generator).uniform(a, b, arr.shape))


def normal_(
    tensor: T, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> T:
    """Fill with N(mean, std²)."""
    arr = _array(tensor)
    return _write(tensor, rng_of(generator).normal(mean, std, arr.shape))


def trunc_normal_(
    tensor: T,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> T:
    """Fill with N(mean, std²) restricted to [a, b] (absolute bounds, as in torch);
    values outside are redrawn until every one lies inside."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    arr = _array(tensor)
    rng = rng_of(generator)
    out = rng.normal(mean, std, arr.shape)
    bad = (out < a) | (out > b)
    for _ in range(1000):
        n = int(bad.sum())
        if n == 0:
            break
        out[bad] = rng.normal(mean, std, n)
        bad = (out < a) | (out > b)
    else:  # the interval holds almost no mass: clip what is left
        np.clip(out, a, b, out=out)
    return _write(tensor, out)


def constant_(tensor: T, val: float) -> T:
    """Fill with `val` (e.g. 0.1 for biases in front of ReLUs, against dead units)."""
    return _write(tensor, val)


def ones_(tensor: T) -> T:
    """Fill with 1."""
    return _write(tensor, 1)


def zeros_(tensor: T) -> T:
    """Fill with 0."""
    return _write(tensor, 0)


def eye_(tensor: T) -> T:
    """Fill a 2-D tensor with the identity (ones on the diagonal)."""
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {arr.shape}")
    return _write(tensor, np.eye(*arr.shape))


def dirac_(tensor: T, groups: int = 1) -> T:
    """Fill a conv kernel (out, in, *k) so that the convolution is the identity on as many
    channels as possible (per group)."""
    arr = _array(tensor)
    if arr.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3, 4 or 5-D tensors are supported, got {arr.shape}")
    if arr.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({arr.shape[0]}) must be divisible by groups={groups}")
    out_per = arr.shape[0] // groups
    vals = np.zeros(arr.shape)
    centre = tuple(k // 2 for k in arr.shape[2:])
    for g in range(groups):
        for d in range(min(out_per, arr.shape[1])):
            vals[(g * out_per + d, d) + centre] = 1
    return _write(tensor, vals)


def xavier_uniform_(tensor: T, gain: float = 1.0, generator: Generator | None = None) -> T:
    """Glorot & Bengio (2010): U(−a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: T, gain: float = 1.0, generator: Generator | None = None) -> T:
    """Glorot & Bengio (2010): N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(
    tensor: T,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> T:
    """He et al. (2015): U(−b, b) with b = gain·√(3 / fan), gain = calculate_gain(
    nonlinearity, a). The defaults (leaky_relu with a=0) give gain √2, i.e. ReLU."""
    if 0 in _array(tensor).shape:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: T,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> T:
    """He et al. (2015): N(0, σ²) with σ = gain / √fan."""
    if 0 in _array(tensor).shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def lecun_normal_(tensor: T, generator: Generator | None = None) -> T:
    """LeCun et al. (1998): N(0, 1/fan_in), the linear-gain case of He's rule
    (the init SELU networks assume)."""
    return kaiming_normal_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


def lecun_uniform_(tensor: T, generator: Generator | None = None) -> T:
    """LeCun: U(−b, b) with b = √(3 / fan_in), i.e. variance 1/fan_in."""
    return kaiming_uniform_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


# the other names people know them by
glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_
he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_


def orthogonal_(tensor: T, gain: float = 1.0, generator: Generator | None = None) -> T:
    """Saxe et al. (2013): a (semi-)orthogonal matrix from the QR decomposition of a
    Gaussian matrix, scaled by `gain`; dimensions after the first are flattened."""
    arr = _array(tensor)
    if arr.ndim < 2:
        raise ValueError(
            f"orthogonal_: only tensors with 2 or more dimensions are "
            f"supported, got shape {arr.shape}"
        )
    if arr.size == 0:
        return tensor
    rows = arr.shape[0]
    cols = arr.size // rows
    flat = rng_of(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # sign fix makes Q uniformly (Haar) distributed rather than biased by QR's convention
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(arr.shape))
