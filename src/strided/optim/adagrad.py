"""Adagrad (Duchi et al. 2011): per-coordinate steps shrinking with the gradient history."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..device import array_module
from ..kernels.updates import adagrad_update
from .optimizer import Optimizer, Params, check_range, for_blocks


class Adagrad(Optimizer):
    """s ← s + g²,  θ ← θ − lr_t·g / (√s + ε),  lr_t = lr / (1 + (t − 1)·lr_decay).

    Rarely updated coordinates keep large steps; the sum only grows, so the step size
    decays for good (which RMSprop and Adam fix with running averages).

    Parameters
    ----------
    params : iterable of Parameter or of dict
        The parameters to optimise, or parameter groups (dicts with a 'params' key and per-group
        options).
    weight_decay : float
        L2 penalty coefficient added to the gradient (default 0).
    initial_accumulator_value : float
        Starting value of the sum of squared gradients.
    eps : float
        Added to the root of the accumulated squares for numerical stability.
    maximize : bool
        Maximise the objective instead of minimising it (step along +grad).
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
                maximize=maximize,
            ),
        )

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check_range(type(self).__name__, "lr_decay", group["lr_decay"], 0.0)
        check_range(
            type(self).__name__,
            "initial_accumulator_value",
            group["initial_accumulator_value"],
            0.0,
        )

    def _update(
        self, p: Tensor, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = array_module(p.data)
        maximize, wd, eps = group["maximize"], group["weight_decay"], group["eps"]
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        if adagrad_update(p.data, g, state["sum"], clr, eps, wd, maximize):
            return

        def update(p: np.ndarray, g: np.ndarray, s: np.ndarray) -> None:
            if maximize:
                g = -g
            if wd:
                g = g + wd * p
            tmp = xp.multiply(g, g)
            s += tmp
            xp.sqrt(s, out=tmp)
            tmp += eps
            xp.divide(g, tmp, out=tmp)
            tmp *= clr
            p -= tmp

        for_blocks(update, p.data, g, state["sum"])
