"""Elementwise functions (exp, log, sqrt, abs, ...), selections (maximum, minimum, where,
clip) and comparisons.

Binary ops broadcast; as in arithmetic.py, each backward returns gradients at the
broadcast shape and the engine sums them back. Comparisons have no gradient and return
bool tensors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import Function, Grads, Operand, Tensor, as_tensor_like, scalar_like, tensor_of
from ..device import Device, common_device
from .arithmetic import check_broadcast, data_of, operand_pair


class Exp(Function):
    """exp(x); gradient g·exp(x), from the saved output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.exp(x)
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d eˣ = eˣ
        return g * self.out


def exp(x: Tensor) -> Tensor:
    """eˣ elementwise.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    return Exp.apply(x)


class Log(Function):
    """ln x; gradient g / x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log(x)

    def backward(self, g: np.ndarray) -> Grads:  # d ln x = 1/x
        return g / self.x


def log(x: Tensor) -> Tensor:
    """Natural logarithm (−inf at 0, NaN below, as NumPy).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    return Log.apply(x)


class Sqrt(Function):
    """√x; gradient g / (2√x), from the saved output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.sqrt(x)
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d √x = 1/(2√x)
        return g / (2 * self.out)


def sqrt(x: Tensor) -> Tensor:
    """√x elementwise."""
    return Sqrt.apply(x)


class Abs(Function):
    """|x|; gradient g·sign(x) (0 at 0, as torch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.abs(x)

    def backward(self, g: np.ndarray) -> Grads:  # d |x| = sign x (0 at 0, as torch)
        return g * np.sign(self.x)


def abs(x: Tensor) -> Tensor:  # noqa: A001 - the name users expect
    """|x| elementwise; the gradient at 0 is 0."""
    return Abs.apply(x)


def sign(x: Tensor) -> Tensor:
    """−1, 0 or 1; piecewise constant, so it has no gradient (a constant tensor).

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    return tensor_of(np.sign(x.data))


class Sin(Function):
    """sin x; gradient g·cos x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.sin(x)

    def backward(self, g: np.ndarray) -> Grads:  # d sin = cos
        return g * np.cos(self.x)


def sin(x: Tensor) -> Tensor:
    """sin x elementwise."""
    return Sin.apply(x)


class Cos(Function):
    """cos x; gradient −g·sin x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.cos(x)

    def backward(self, g: np.ndarray) -> Grads:  # d cos = −sin
        return -g * np.sin(self.x)


def cos(x: Tensor) -> Tensor:
    """cos x elementwise."""
    return Cos.apply(x)


class Clone(Function):
    """A copy of x; gradient g."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def backward(self, g: np.ndarray) -> Grads:
        return g


def clone(x: Tensor) -> Tensor:
    """A copy with its own memory, still connected to the graph.

    Parameters
    ----------
    x : Tensor
        The input tensor.
    """
    return Clone.apply(x)


# ---------------------------------------------------------------------------------------
# Selections
# ---------------------------------------------------------------------------------------


class Where(Function):
    """cond ? a : b, elementwise; the gradient goes to the side each element came from."""

    def forward(self, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        try:
            np.broadcast_shapes(cond.shape, a.shape, b.shape)
        except ValueError:
            raise ValueError(
                f"where: shapes {cond.shape} (condition), {a.shape} and "
                f"{b.shape} cannot be broadcast together"
            ) from None
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, g: np.ndarray) -> Grads:  # the gradient goes to whichever operand was picked
        zero = g.dtype.type(0)
        return (
            None,
            np.where(self.cond, g, zero) if self.needs_input_grad[1] else None,
            np.where(self.cond, zero, g) if self.needs_input_grad[2] else None,
        )


def where(cond: Tensor | np.ndarray, a: Operand, b: Operand) -> Tensor:
    """a where `cond` is true, b elsewhere (broadcasting all three).

    Parameters
    ----------
    cond : Tensor or array of bool
        The condition (other dtypes count nonzero as true).
    a, b : Tensor or number
        The values; numbers take the other operand's dtype (two numbers: the first one's,
        floats the default dtype).
    """
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        cond = cond if isinstance(cond, Tensor) else Tensor(cond)
        a = _first_value(a, cond.device)
    va, vb = operand_pair(a, b)
    like = va if isinstance(va, Tensor) else vb
    assert isinstance(like, Tensor)  # operand_pair returns one Tensor at least
    cond = as_tensor_like(cond, like)
    if cond.dtype != np.bool_:
        cond = tensor_of(cond.data.astype(bool))
    return Where.apply(cond, va, vb)


def _first_value(a: Operand, where: Device) -> Tensor:
    """`where`'s first value when neither value is a tensor: it sets the dtype (a Python
    float the default one); a number is filled in on the device, not copied there."""
    host = Tensor(a, device="cpu")
    if host.ndim:
        return host.to(where)
    return tensor_of(where.new("full", (), host.item(), host.dtype))


class _Pick(Function):
    """maximum/minimum: the gradient goes to the operand that won; a tie splits it in
    half (as torch), so that the two halves add up to the gradient."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        check_broadcast(self.name, a, b)
        self.a, self.b = a, b
        return self.pick(a, b)

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # d max(a, b)/da = 1 where a wins, ½ on a tie, 0 elsewhere
        wins_a = self.better(self.a, self.b).astype(g.dtype)
        tie = (self.a == self.b).astype(g.dtype)
        share_a = wins_a + tie * g.dtype.type(0.5)
        ga = g * share_a if self.needs_input_grad[0] else None
        gb = g * (1 - share_a) if self.needs_input_grad[1] else None
        return ga, gb


class Maximum(_Pick):
    """The elementwise maximum of a and b (ties split the gradient, as torch)."""

    name, pick, better = "maximum", staticmethod(np.maximum), staticmethod(np.greater)


class Minimum(_Pick):
    """The elementwise minimum of a and b (ties split the gradient, as torch)."""

    name, pick, better = "minimum", staticmethod(np.minimum), staticmethod(np.less)


def maximum(a: Operand, b: Operand) -> Tensor:
    """Elementwise larger of a and b (broadcasting); a tie shares the gradient evenly."""
    return Maximum.apply(*operand_pair(a, b))


def minimum(a: Operand, b: Operand) -> Tensor:
    """Elementwise smaller of a and b (broadcasting); a tie shares the gradient evenly."""
    return Minimum.apply(*operand_pair(a, b))


class Clip(Function):
    """x clipped to [lo, hi]; the gradient flows where x was inside the range."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self.lo, self.hi
        if self.needs_input_grad[0]:
            above, below = (
                (x >= lo if lo is not None else None),
                (x <= hi if hi is not None else None),
            )
            self.inside = below if above is None else above if below is None else above & below
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(
        self, g: np.ndarray
    ) -> Grads:  # d clip = 1 inside [min, max] (bounds included, as torch), 0 out
        return g * self.inside


def clip(x: Tensor, min: Operand | None = None, max: Operand | None = None) -> Tensor:  # noqa: A002 - torch's argument names
    """Limit x to [min, max] (either may be None). Bounds may be numbers or tensors."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if any(v is not None and scalar_like(v, x) is None for v in (min, max)):  # not numbers
        out = x if min is None else maximum(x, min)
        return out if max is None else minimum(out, max)
    return Clip.apply(x, lo=min, hi=max)


clamp = clip


# ---------------------------------------------------------------------------------------
# Comparisons (no gradient)
# ---------------------------------------------------------------------------------------


def _compare(name: str, op: Callable[..., np.ndarray]) -> Callable[[Operand, Operand], Tensor]:
    def compare(a: Operand, b: Operand) -> Tensor:
        da, db = (data_of(v) for v in operand_pair(a, b))
        if type(da) is not np.ndarray or type(db) is not np.ndarray:
            common_device((da, db), name)
        check_broadcast(name, da, db)
        return tensor_of(op(da, db))

    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = f"Elementwise a {op.__name__} b as a bool tensor (broadcasting; no gradient)."
    return compare


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)
