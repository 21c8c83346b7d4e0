"""Every activation function as a module, so it can sit in a Sequential.

Each forwards to the function of the same name in `strided.functional.activation`.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..functional import activation as FA
from .module import Module


class ReLU(Module):
    """max(0, x). `inplace` is accepted for torch compatibility and ignored."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return FA.relu(x)


class LeakyReLU(Module):
    """x for x ≥ 0, negative_slope·x otherwise (keeps a gradient for negative inputs).

    Parameters
    ----------
    inplace : bool
        Accepted for PyTorch compatibility; the result is always a new tensor.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        return FA.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^{−x})."""

    def forward(self, x: Tensor) -> Tensor:
        return FA.sigmoid(x)


class Tanh(Module):
    """tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return FA.tanh(x)


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise (Clevert et al. 2015).

    Parameters
    ----------
    alpha : float
        α: the value the negative side approaches (default 1.0).
    inplace : bool
        Accepted for PyTorch compatibility; the result is always a new tensor.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return FA.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """x·Φ(x) (Hendrycks & Gimpel 2016); approximate="tanh" uses the tanh formula."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return FA.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """(1/β)·log(1 + e^{βx}), linear above `threshold` (for stability).

    Parameters
    ----------
    beta : float
        β of softplus(x) = log(1 + exp(βx)) / β (default 1).
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return FA.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


def _legacy_dim(ndim: int) -> int:
    # torch's rule when dim is not given: 0 for 0-, 1- and 3-D inputs, else 1
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """e^{x_i} / Σ_j e^{x_j} along `dim`. Give `dim` explicitly: when it is None, torch's
    legacy rule applies (dim 0 for 0/1/3-D inputs, else 1)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return FA.softmax(x, self.dim if self.dim is not None else _legacy_dim(x.ndim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax along `dim` (computed stably, not as log of softmax)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return FA.log_softmax(x, self.dim if self.dim is not None else _legacy_dim(x.ndim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
