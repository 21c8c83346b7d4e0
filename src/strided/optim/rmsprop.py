"""RMSprop (Hinton's lecture 6e), with optional momentum and centring."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..device import array_module
from ..kernels.updates import rmsprop_update
from .optimizer import Optimizer, Params, check_range, for_blocks


class RMSprop(Optimizer):
    """Divide the gradient by a running root-mean-square of recent gradients:

        s ← αs + (1 − α)g²
        ḡ ← αḡ + (1 − α)g,  d = √(s − ḡ²) + ε   (centered)   or   d = √s + ε
        b ← μb + g/d,  θ ← θ − lr·b              (momentum μ > 0)   or   θ ← θ − lr·g/d

    Parameters
    ----------
    params : iterable of Parameter or of dict
        The parameters to optimise, or parameter groups (dicts with a 'params' key and per-group
        options).
    alpha : float
        Smoothing constant of the running average of squared gradients.
    eps : float
        Added to the root of the running average for numerical stability (default 1e-8).
    weight_decay : float
        L2 penalty coefficient added to the gradient (default 0).
    maximize : bool
        Maximise the objective instead of minimising it (step along +grad).
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check_range(type(self).__name__, "alpha", group["alpha"], 0.0, 1.0, high_open=False)
        check_range(type(self).__name__, "momentum", group["momentum"], 0.0, 1.0)

    def _update(
        self, p: Tensor, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = array_module(p.data)
        lr, a, eps, wd, mu = (group[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum"))
        maximize, centered = group["maximize"], group["centered"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            if centered:
                state["grad_avg"] = xp.zeros_like(p.data)
        if mu > 0 and "momentum_buffer" not in state:  # also when switched on later
            state["momentum_buffer"] = xp.zeros_like(p.data)
        state["step"] += 1
        buffers = (
            state["square_avg"],
            state.get("grad_avg") if centered else None,
            state["momentum_buffer"] if mu > 0 else None,
        )
        if rmsprop_update(p.data, g, *buffers, lr, a, eps, wd, mu, maximize):
            return

        def update(
            p: np.ndarray, g: np.ndarray, s: np.ndarray, ga: np.ndarray, buf: np.ndarray
        ) -> None:
            if maximize:
                g = -g
            if wd:
                g = g + wd * p
            tmp = xp.multiply(g, g)
            tmp *= 1 - a
            s *= a
            s += tmp
            if centered:
                xp.subtract(g, ga, out=tmp)
                tmp *= 1 - a
                ga += tmp
                xp.multiply(ga, ga, out=tmp)
                xp.subtract(s, tmp, out=tmp)
                xp.sqrt(tmp, out=tmp)
            else:
                xp.sqrt(s, out=tmp)
            tmp += eps
            xp.divide(g, tmp, out=tmp)
            if mu > 0:
                buf *= mu
                buf += tmp
                xp.multiply(buf, lr, out=tmp)
            else:
                tmp *= lr
            p -= tmp

        for_blocks(update, p.data, g, *buffers)
