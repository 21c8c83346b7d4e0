"""The arithmetic operators: + - * / ** and unary minus, with their derivatives.

Broadcasting is free here: each backward returns the gradient at the broadcast shape and
the engine sums it back to the input's shape.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor, as_tensor_like
from ..backend import get_default_dtype, is_floating


def tensor_pair(a, b) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors, scalars taking the tensor operand's dtype."""
    if isinstance(a, Tensor):
        return a, as_tensor_like(b, a)
    return as_tensor_like(a, b), b


def check_broadcast(name: str, a: np.ndarray, b: np.ndarray) -> None:
    """A ValueError naming `name` and both shapes unless `a` and `b` broadcast."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


class Add(Function):
    def forward(self, a, b):
        check_broadcast("add", a, b)
        return a + b

    def backward(self, g):  # d(a+b)/da = d(a+b)/db = 1
        return g, g


class Sub(Function):
    def forward(self, a, b):
        check_broadcast("sub", a, b)
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        check_broadcast("mul", a, b)
        self.a, self.b = a, b
        return a * b

    def backward(self, g):  # d(ab)/da = b, d(ab)/db = a
        ga = g * self.b if self.needs_input_grad[0] else None
        gb = g * self.a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        check_broadcast("div", a, b)
        self.a, self.b = a, b
        return a / b

    def backward(self, g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b²
        ga = g / self.b if self.needs_input_grad[0] else None
        gb = -g * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    def forward(self, a, b):
        check_broadcast("pow", a, b)
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, g):  # d(a^b)/da = b·a^(b-1), d(a^b)/db = a^b·ln a
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


def add(a, b) -> Tensor:
    """a + b, broadcasting."""
    return Add.apply(*tensor_pair(a, b))


def sub(a, b) -> Tensor:
    """a − b, broadcasting."""
    return Sub.apply(*tensor_pair(a, b))


def mul(a, b) -> Tensor:
    """a · b elementwise, broadcasting."""
    return Mul.apply(*tensor_pair(a, b))


def div(a, b) -> Tensor:
    """a / b elementwise, broadcasting (true division)."""
    return Div.apply(*_true_divide_dtype(*tensor_pair(a, b)))


def neg(a) -> Tensor:
    """−a."""
    return Neg.apply(a)


def pow(a, b) -> Tensor:  # noqa: A001 - the name users expect
    """a ** b elementwise, broadcasting."""
    return Pow.apply(*tensor_pair(a, b))
