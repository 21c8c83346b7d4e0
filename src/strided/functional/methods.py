"""Tensor's operators and methods, attached here so that autograd.py stays at the bottom.

Each method is the functional op of the same name; `x.exp()` is `F.exp(x)`. Names and
argument conventions follow PyTorch (`x.sum(dim=1, keepdim=True)`, `x.view(-1, 4)`).

In-place operations (`x += y`, `x[i] = v`, `x.zero_()`, ...) change `x.data` and bump
`x._version`, so that a backward through an op that saved `x` notices and refuses. They
are allowed only where no gradient can be affected: on tensors that do not require grad,
or under `no_grad()` (parameter updates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Function, Grads, Operand, Tensor, array_of, is_grad_enabled, tensor_of
from ..backend import is_floating
from ..device import Device, array_module, common_device, device, move
from . import activation as Act
from . import arithmetic as A
from . import elementwise as E
from . import linalg as L
from . import reduce as R
from . import shape as S
from . import sorting as Sorting


def _reflected(op: Callable[[Operand, Operand], Tensor]) -> Callable[[Tensor, Operand], Tensor]:
    return lambda self, other: op(other, self)


# -- arithmetic --------------------------------------------------------------------------
Tensor.__add__ = A.add
Tensor.__radd__ = _reflected(A.add)
Tensor.__sub__ = A.sub
Tensor.__rsub__ = _reflected(A.sub)
Tensor.__mul__ = A.mul
Tensor.__rmul__ = _reflected(A.mul)
Tensor.__truediv__ = A.div
Tensor.__rtruediv__ = _reflected(A.div)
Tensor.__pow__ = A.pow
Tensor.__rpow__ = _reflected(A.pow)
Tensor.__neg__ = A.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = E.abs
Tensor.clone = E.clone
Tensor.__matmul__ = L.matmul
Tensor.__rmatmul__ = _reflected(L.matmul)
Tensor.add, Tensor.sub, Tensor.mul, Tensor.div, Tensor.pow, Tensor.neg = (
    A.add,
    A.sub,
    A.mul,
    A.div,
    A.pow,
    A.neg,
)
Tensor.matmul = L.matmul


# -- comparisons: bool tensors, no gradient ----------------------------------------------
def _comparison(op: Callable[[Operand, Operand], Tensor]) -> Callable[[Tensor, object], Any]:
    def compare(self: Tensor, other: Any) -> Any:
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented  # `t == None` is False, not an error
        return op(self, other)

    return compare


Tensor.__eq__ = _comparison(E.eq)
Tensor.__ne__ = _comparison(E.ne)
Tensor.__lt__ = _comparison(E.lt)
Tensor.__le__ = _comparison(E.le)
Tensor.__gt__ = _comparison(E.gt)
Tensor.__ge__ = _comparison(E.ge)
Tensor.__hash__ = lambda self: id(self)  # defining __eq__ must not make tensors unhashable
Tensor.eq, Tensor.ne, Tensor.lt, Tensor.le, Tensor.gt, Tensor.ge = (
    E.eq,
    E.ne,
    E.lt,
    E.le,
    E.gt,
    E.ge,
)


# -- elementwise and activations ---------------------------------------------------------
for _name in (
    "exp",
    "log",
    "sqrt",
    "abs",
    "sign",
    "sin",
    "cos",
    "clip",
    "clamp",
    "maximum",
    "minimum",
):
    setattr(Tensor, _name, getattr(E, _name))
for _name in ("relu", "sigmoid", "tanh", "softmax", "log_softmax"):
    setattr(Tensor, _name, getattr(Act, _name))

# -- reductions --------------------------------------------------------------------------
for _name in (
    "sum",
    "mean",
    "var",
    "std",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "logsumexp",
    "any",
    "all",
):
    setattr(Tensor, _name, getattr(R, _name))
for _name in ("sort", "argsort", "topk"):
    setattr(Tensor, _name, getattr(Sorting, _name))

# -- shapes ------------------------------------------------------------------------------
Tensor.reshape = S.reshape
Tensor.view = S.reshape
Tensor.flatten = S.flatten
Tensor.transpose = S.transpose
Tensor.permute = S.permute
Tensor.squeeze = S.squeeze
Tensor.unsqueeze = S.unsqueeze
Tensor.expand = S.expand
Tensor.broadcast_to = S.broadcast_to
Tensor.split = S.split
Tensor.chunk = S.chunk
Tensor.T = property(S.T)
Tensor.mT = property(lambda self: S.transpose(self, -2, -1))
Tensor.__getitem__ = S.getitem
Tensor.reshape_as = lambda self, other: S.reshape(self, other.shape)
Tensor.view_as = Tensor.reshape_as
Tensor.expand_as = lambda self, other: S.expand(self, *other.shape)


# -- dtype casts (differentiable) --------------------------------------------------------
class Cast(Function):
    """x in another floating dtype; the gradient is cast back (params dtype, src)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)

    def backward(self, g: np.ndarray) -> Grads:  # the identity, cast back to the input's dtype
        return g.astype(self.src)


def astype(self: Tensor, dtype: DTypeLike) -> Tensor:
    """This tensor in another dtype; the gradient flows back (cast to the original dtype).
    Casting to an integer or bool dtype gives a constant tensor."""
    dtype = np.dtype(dtype)
    if dtype == self.dtype:
        return self
    if not is_floating(dtype):
        return tensor_of(self.data.astype(dtype))
    return Cast.apply(self, dtype=dtype, src=self.dtype)


class ToDevice(Function):
    """x copied to another device; the gradient is copied back (params: to, src)."""

    moves_device = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        return move(x, self.to)

    def backward(self, g: np.ndarray) -> Grads:
        return move(g, self.src)


def to_device(self: Tensor, to: Any) -> Tensor:
    """This tensor on device `to` (itself when already there); differentiable."""
    to = device(to)
    if to == self.device:
        return self
    return ToDevice.apply(self, to=to, src=self.device)


def to(self: Tensor, *args: Any, dtype: DTypeLike | None = None, **kwargs: Any) -> Tensor:
    """`x.to(device)`, `x.to(dtype)`, `x.to(device, dtype)` or `x.to(other_tensor)` (its
    device and dtype), as in PyTorch. Returns `x` itself when nothing changes.

    Parameters
    ----------
    dtype : dtype or None
        The dtype of the result.
    """
    where = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    if kwargs:
        raise TypeError(f"Tensor.to: unexpected keyword argument(s) {', '.join(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype, where = a.dtype, a.device
        elif isinstance(a, Device) or (isinstance(a, str) and _names_device(a)):
            where = a
        else:
            dtype = a
    out = self if where is None else to_device(self, where)
    out = out if dtype is None else astype(out, dtype)
    return out.clone() if copy and out is self else out


def _names_device(name: str) -> bool:
    try:
        device(name)
    except ValueError:
        return False
    return True


Tensor.astype = astype
Tensor.to = to
Tensor.cpu = lambda self: to_device(self, "cpu")
Tensor.cuda = lambda self, device=None: to_device(
    self, "cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device
)
Tensor.type = lambda self, dtype=None: str(self.dtype) if dtype is None else astype(self, dtype)
Tensor.float = lambda self: astype(self, np.float32)
Tensor.double = lambda self: astype(self, np.float64)
Tensor.long = lambda self: astype(self, np.int64)
Tensor.int = lambda self: astype(self, np.int32)
Tensor.bool = lambda self: astype(self, np.bool_)


# -- in-place operations -----------------------------------------------------------------
def _check_inplace(t: Tensor, what: str, value: object = None) -> None:
    if not is_grad_enabled():
        return
    if t.requires_grad:
        raise RuntimeError(
            f"{what}: in-place operation on a tensor that requires grad (shape {t.shape}); "
            "use the out-of-place form (e.g. `x = x + y`), or wrap the update in "
            "`with strided.no_grad():`"
        )
    if isinstance(value, Tensor) and value.requires_grad:
        # writing it into a plain array would silently cut it from the graph
        raise RuntimeError(
            f"{what}: the value (shape {value.shape}) requires grad, and an in-place write "
            "would drop its gradient; build the result out of place (cat, stack, where)"
        )


def _operand(value: Operand, like: Tensor, what: str) -> np.ndarray | np.generic:
    """`value` for an in-place operation on `like`: a number as a NumPy scalar, an array
    on `like`'s device (or the one-device error)."""
    v = A.data_of(A.operand_pair(like, value)[1])
    if type(v) is not np.ndarray or type(like.data) is not np.ndarray:
        common_device((like.data, v), what)
    return v


def _inplace(ufunc: np.ufunc, what: str) -> Callable[[Tensor, Operand], Tensor]:
    def op(self: Tensor, other: Operand) -> Tensor:
        _check_inplace(self, what, other)
        other = _operand(other, self, what)
        try:
            ufunc(self.data, other, out=self.data, casting="same_kind")
        except ValueError:
            raise ValueError(
                f"{what}: operand of shape {np.shape(other)} cannot be "
                f"broadcast to the tensor's shape {self.shape}"
            ) from None
        self._version += 1
        return self

    op.__name__ = what
    op.__doc__ = f"In place: self {what.strip('_')} other; returns self."
    return op


Tensor.__iadd__ = Tensor.add_ = _inplace(np.add, "add_")
Tensor.__isub__ = Tensor.sub_ = _inplace(np.subtract, "sub_")
Tensor.__imul__ = Tensor.mul_ = _inplace(np.multiply, "mul_")
Tensor.__itruediv__ = Tensor.div_ = _inplace(np.true_divide, "div_")


def fill_(self: Tensor, value: Operand) -> Tensor:
    """Set every element to `value`, in place."""
    _check_inplace(self, "fill_", value)
    self.data[...] = _operand(value, self, "fill_")
    self._version += 1
    return self


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0, in place."""
    return fill_(self, 0)


def copy_(self: Tensor, src: Operand) -> Tensor:
    """Copy `src`'s values into this tensor (broadcasting, casting to its dtype)."""
    _check_inplace(self, "copy_", src)
    # the one operation that copies between devices, as PyTorch's copy_
    values = move(array_of(src), self.device)
    try:
        array_module(self.data).copyto(self.data, values, casting="unsafe")
    except ValueError:
        raise ValueError(
            f"copy_: source of shape {values.shape} cannot be broadcast to the "
            f"tensor's shape {self.shape}"
        ) from None
    self._version += 1
    return self


def setitem(self: Tensor, index: Any, value: Operand) -> None:
    """`x[index] = value` in place (NumPy indexing rules)."""
    _check_inplace(self, "__setitem__", value)
    self.data[S.index_arrays(index, self.data)] = _operand(value, self, "__setitem__")
    self._version += 1


Tensor.fill_ = fill_
Tensor.zero_ = zero_
Tensor.copy_ = copy_
Tensor.__setitem__ = setitem
