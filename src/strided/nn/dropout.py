"""Dropout layers: active in training, the identity in eval (inverted scaling)."""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import Generator
from ..functional.dropout import check_dropout_p, dropout, dropout1d, dropout2d
from .module import Module


class _DropoutNd(Module):
    """Shared body of Dropout, Dropout1d and Dropout2d.

    Parameters
    ----------
    p : float
        Probability that an element (or, for Dropout1d/2d, a whole channel) is zeroed (default
        0.5).
    inplace : bool
        Accepted for PyTorch compatibility; the result is always a new tensor.
    generator : Generator or None
        Random stream of the masks (the global one when None).
    """

    _fn = staticmethod(dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False, generator: Generator | None = None):
        super().__init__()
        check_dropout_p(type(self).__name__, p)
        self.p, self.inplace, self.generator = float(p), inplace, generator

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._fn(x, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p in training and scale the rest by 1/(1−p);
    the identity in eval. `generator` makes the masks repeatable."""

    _fn = staticmethod(dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) inputs with probability p in training."""

    _fn = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels (feature maps) of (N, C, H, W) inputs with probability p in
    training; better than element dropout after convolutions, whose neighbouring outputs
    are strongly correlated."""

    _fn = staticmethod(dropout2d)
