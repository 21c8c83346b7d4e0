"""The arithmetic operators: + - * / ** and unary minus, with their derivatives.

Broadcasting is free here: each backward returns the gradient at the broadcast shape and
the engine sums it back to the input's shape.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

from ..autograd import Function, Grads, Operand, Tensor, as_tensor_like, scalar_like, tensor_of
from ..backend import get_default_dtype, is_floating

# An operation's operand beside a tensor: a Tensor, or a number kept as a NumPy scalar
Value: TypeAlias = "Tensor | np.generic"


def operand_pair(a: Operand, b: Operand) -> tuple[Value, Value]:
    """The operands of a binary operation: at least one is a Tensor; a number beside it
    becomes a NumPy scalar of the tensor's dtype (an array module takes it as it is, so
    `x * 2` copies nothing to x's device); other data becomes a Tensor."""
    if isinstance(a, Tensor):
        return a, _beside(b, a)
    if isinstance(b, Tensor):
        return _beside(a, b), b
    raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")


def _beside(value: Operand, like: Tensor) -> Value:
    if isinstance(value, Tensor):
        return value
    scalar = scalar_like(value, like)
    return scalar if scalar is not None else as_tensor_like(value, like)


def data_of(v: Value) -> np.ndarray | np.generic:
    """The array of a Tensor operand, or the scalar itself."""
    return v.data if isinstance(v, Tensor) else v


def check_broadcast(name: str, a: np.ndarray | np.generic, b: np.ndarray | np.generic) -> None:
    """A ValueError naming `name` and both shapes unless `a` and `b` broadcast."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


class Add(Function):
    """a + b; each input's gradient is g (summed back over broadcast axes)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        check_broadcast("add", a, b)
        return a + b

    def backward(self, g: np.ndarray) -> Grads:  # d(a+b)/da = d(a+b)/db = 1
        return g, g


class Sub(Function):
    """a − b; gradients g and −g."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        check_broadcast("sub", a, b)
        return a - b

    def backward(self, g: np.ndarray) -> Grads:
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """a · b; gradients g·b and g·a."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        check_broadcast("mul", a, b)
        self.a, self.b = a, b
        return a * b

    def backward(self, g: np.ndarray) -> Grads:  # d(ab)/da = b, d(ab)/db = a
        ga = g * self.b if self.needs_input_grad[0] else None
        gb = g * self.a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """a / b; gradients g/b and −g·a/b²."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        check_broadcast("div", a, b)
        self.a, self.b = a, b
        return a / b

    def backward(self, g: np.ndarray) -> Grads:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b²
        ga = g / self.b if self.needs_input_grad[0] else None
        gb = -g * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """−a; gradient −g."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        return -a

    def backward(self, g: np.ndarray) -> Grads:
        return -g


class Pow(Function):
    """a ** b; gradients g·b·a^(b−1) and g·a^b·ln a."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        check_broadcast("pow", a, b)
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, g: np.ndarray) -> Grads:  # d(a^b)/da = b·a^(b-1), d(a^b)/db = a^b·ln a
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = g * self.b * np.power(self.a, self.b - 1)
        if self.needs_input_grad[1]:
            a = self.a
            with np.errstate(divide="ignore", invalid="ignore"):
                if isinstance(a, np.generic):  # a number: stay a number (no device copy)
                    log_a = np.log(a) if a > 0 else a.dtype.type(0)
                else:
                    log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            gb = g * self.out * log_a
        return ga, gb


def _true_divide_dtype(a: Value, b: Value) -> tuple[Value, Value]:
    """Integer / integer gives the default float dtype, as in PyTorch."""
    if not is_floating(a.dtype) and not is_floating(b.dtype):
        f = get_default_dtype()
        return _cast(a, f), _cast(b, f)
    return a, b


def _cast(v: Value, dtype: np.dtype) -> Value:
    # integer operands have no gradient to keep
    return tensor_of(v.data.astype(dtype)) if isinstance(v, Tensor) else v.astype(dtype)


def add(a: Operand, b: Operand) -> Tensor:
    """a + b, broadcasting."""
    return Add.apply(*operand_pair(a, b))


def sub(a: Operand, b: Operand) -> Tensor:
    """a − b, broadcasting."""
    return Sub.apply(*operand_pair(a, b))


def mul(a: Operand, b: Operand) -> Tensor:
    """a · b elementwise, broadcasting."""
    return Mul.apply(*operand_pair(a, b))


def div(a: Operand, b: Operand) -> Tensor:
    """a / b elementwise, broadcasting (true division)."""
    return Div.apply(*_true_divide_dtype(*operand_pair(a, b)))


def neg(a: Operand) -> Tensor:
    """−a."""
    return Neg.apply(a)


def pow(a: Operand, b: Operand) -> Tensor:  # noqa: A001 - the name users expect
    """a ** b elementwise, broadcasting."""
    return Pow.apply(*operand_pair(a, b))
