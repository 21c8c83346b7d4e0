"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..device import array_module
from ..kernels.updates import sgd_update
from .optimizer import Optimizer, Params, check_range, for_blocks


class SGD(Optimizer):
    """θ ← θ − lr·v, PyTorch's formulation:

        g ← ∇L(θ) + λθ                      (weight_decay λ: L2 coupled into the gradient)
        b ← μ·b + (1 − τ)·g                 (momentum μ, dampening τ; b₁ = g)
        v ← g + μ·b  (nesterov)  or  b

    This momentum is Sutskever et al.'s form (velocity accumulates gradients, lr applied
    after), which equals the notes' v ← μv − α·g when lr is constant.

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
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        name = type(self).__name__
        check_range(name, "momentum", group["momentum"], 0.0, 1.0)
        check_range(name, "dampening", group["dampening"], 0.0, 1.0, high_open=False)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"{name}: Nesterov momentum requires a momentum > 0 and zero "
                f"dampening (got momentum={group['momentum']}, "
                f"dampening={group['dampening']})"
            )

    def _update(
        self, p: Tensor, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = array_module(p.data)
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        damp, nesterov, maximize = 1 - group["dampening"], group["nesterov"], group["maximize"]
        buf = state.get("momentum_buffer") if mu else None
        first = mu and buf is None
        if first:
            buf = state["momentum_buffer"] = xp.empty_like(p.data)
        if sgd_update(p.data, g, buf, first, lr, mu, group["dampening"], wd, nesterov, maximize):
            return

        def update(p: np.ndarray, g: np.ndarray, buf: np.ndarray) -> None:
            if maximize:
                g = -g
            if wd:
                g = g + wd * p
            if mu:
                if first:  # b₁ = g
                    buf[...] = g
                else:
                    buf *= mu
                    buf += g if damp == 1 else damp * g
                g = g + mu * buf if nesterov else buf
            p -= lr * g

        for_blocks(update, p.data, g, buf)
