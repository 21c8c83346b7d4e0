"""The fully connected layer y = x·Wᵀ + b."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Tensor
from ..backend import Generator, get_default_dtype
from ..functional.linalg import linear
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x Wᵀ + b over the last dimension; W is (out_features, in_features) as in torch.

    Default initialisation is torch's: W ~ U(−1/√in, 1/√in) (kaiming_uniform with
    a = √5) and b ~ U(−1/√in, 1/√in). Pass `generator` for a repeatable init.

    Parameters
    ----------
    bias : bool
        Learn an additive bias (default True).
    dtype : dtype or None
        dtype of the parameters (the default dtype when None).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: DTypeLike | None = None,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        for nm, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"Linear: {nm} must be a non-negative int, got {v!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        self.register_parameter("bias", Parameter(np.empty(out_features, dtype)) if bias else None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Re-draw W and b with torch's default scheme."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        if not x.shape or x.shape[-1] != self.in_features:
            got = x.shape[-1] if x.shape else "no"
            raise ValueError(
                f"Linear({self.in_features}→{self.out_features}): input has {got} features, "
                f"expected {self.in_features} (input shape {tuple(x.shape)})"
            )
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
