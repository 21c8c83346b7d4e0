"""Proximal L1: a gradient step on the smooth loss, then the proximal operator of λ‖θ‖₁,

    prox(θ) = sign(θ)·max(|θ| − lr·λ, 0)      (soft-thresholding),

which is the exact minimiser of ½‖θ' − θ‖² + lr·λ‖θ'‖₁. Unlike the subgradient λ·sign(θ),
which makes small weights oscillate around zero, it sets them exactly to zero: a sparse
model (ISTA, as the notes derive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import Tensor
from ..device import array_module
from .optimizer import Params, check_range
from .sgd import SGD


def prox_l1_(parameters: Iterable[Tensor] | Tensor, threshold: float) -> None:
    """Soft-threshold every parameter in place: θ ← sign(θ)·max(|θ| − threshold, 0).

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Tensors shrunk in place.
    """
    if threshold < 0:
        raise ValueError(f"prox_l1_: threshold must be non-negative, got {threshold}")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    for p in parameters:
        a = p.data
        # shrink towards zero by `threshold`, clamping at zero: a − clip(a, −t, t)
        a -= array_module(a).clip(a, -threshold, threshold)
        p._version += 1


class ProximalSGD(SGD):
    """SGD (all of its options) followed by soft-thresholding with lr·l1 per group: the
    proximal gradient method for L1-regularised training. `l1` may differ per group
    (e.g. 0 for biases).

    Parameters
    ----------
    params : iterable of Parameter or of dict
        The parameters to optimise, or parameter groups (dicts with a 'params' key and per-group
        options).
    maximize : bool
        Maximise the objective instead of minimising it (step along +grad).
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        l1: float = 0.0,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        self._l1_default = l1
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov, maximize=maximize)

    def add_param_group(self, param_group: dict) -> None:
        self.defaults.setdefault("l1", getattr(self, "_l1_default", 0.0))
        super().add_param_group(param_group)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check_range(type(self).__name__, "l1", group["l1"], 0.0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = super().step(closure)
        for group in self.param_groups:
            if group["l1"]:
                prox_l1_(
                    [p for p in group["params"] if p.grad is not None], group["lr"] * group["l1"]
                )
        return loss
