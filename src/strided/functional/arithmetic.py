"""The arithmetic operators: + - * / ** and unary minus, with their derivatives.

Broadcasting is free here: each backward returns the gradient at the broadcast shape and
the engine sums it back to the input's shape.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, Grads, Operand, Tensor, as_tensor_like
from ..backend import get_default_dtype, is_floating


def tensor_pair(a: Operand, b: Operand) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors, scalars taking the tensor operand's dtype."""
    if isinstance(a, Tensor):
        return a, as_tensor_like(b, a)
    if isinstance(b, Tensor):
        return as_tensor_like(a, b), b
    raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")


def check_broadcast(name: str, a: np.ndarray, b: np.ndarray) -> None:
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
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(self.a > 0, np.log(np.where(self.a > 0, self.a, 1)), 0)
            gb = g * self.out * log_a
        return ga, gb


def _true_divide_dtype(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Integer / integer gives the default float dtype, as in PyTorch."""
    if not is_floating(a.dtype) and not is_floating(b.dtype):
        f = get_default_dtype()
        return Tensor(a.data.astype(f)), Tensor(b.data.astype(f))
    return a, b


def add(a: Operand, b: Operand) -> Tensor:
    """a + b, broadcasting."""
    return Add.apply(*tensor_pair(a, b))


def sub(a: Operand, b: Operand) -> Tensor:
    """a − b, broadcasting."""
    return Sub.apply(*tensor_pair(a, b))


def mul(a: Operand, b: Operand) -> Tensor:
    """a · b elementwise, broadcasting."""
    return Mul.apply(*tensor_pair(a, b))


def div(a: Operand, b: Operand) -> Tensor:
    """a / b elementwise, broadcasting (true division)."""
    return Div.apply(*_true_divide_dtype(*tensor_pair(a, b)))


def neg(a: Operand) -> Tensor:
    """−a."""
    return Neg.apply(a)


def pow(a: Operand, b: Operand) -> Tensor:  # noqa: A001 - the name users expect
    """a ** b elementwise, broadcasting."""
    return Pow.apply(*tensor_pair(a, b))
