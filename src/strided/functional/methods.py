"""Tensor's operators and methods, attached here so that autograd.py stays at the bottom.

Each method is the functional op of the same name; `x.exp()` is `F.exp(x)`.
"""
from __future__ import annotations

from ..autograd import Tensor
from . import arithmetic as A


def _reflected(op):
    return lambda self, other: op(other, self)


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
Tensor.add, Tensor.sub, Tensor.mul, Tensor.div, Tensor.pow, Tensor.neg = (
    A.add, A.sub, A.mul, A.div, A.pow, A.neg)
