"""Adam (Kingma & Ba 2015), with AMSGrad (Reddi et al. 2018), and AdamW's decoupled weight
decay (Loshchilov & Hutter 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..device import array_module
from ..kernels.updates import adam_update
from .optimizer import Optimizer, Params, check_range, for_blocks


class Adam(Optimizer):
    """Adaptive moments, PyTorch's formulation:

        g ← ∇L(θ) + λθ                       (weight_decay: L2 coupled, as in torch's Adam)
        m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
        m̂ = m / (1 − β₁ᵗ),     v̂ = v / (1 − β₂ᵗ)     (v replaced by max(v_max, v): amsgrad)
        θ ← θ − lr·m̂ / (√v̂ + ε)

    With coupled decay the penalty is rescaled by 1/√v̂ like the gradient, so weights with
    large gradients are barely regularised; AdamW decouples it.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        The parameters to optimise, or parameter groups (dicts with a 'params' key and per-group
        options).
    betas : tuple of float
        (β1, β2): decay rates of the running averages of the gradient and its square.
    eps : float
        Added to the root of the second moment for numerical stability (default 1e-8).
    maximize : bool
        Maximise the objective instead of minimising it (step along +grad).
    """

    _decoupled = False

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
            ),
        )

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        name = type(self).__name__
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        check_range(name, "beta1 (betas[0])", betas[0], 0.0, 1.0)
        check_range(name, "beta2 (betas[1])", betas[1], 0.0, 1.0)

    def _update(
        self, p: Tensor, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = array_module(p.data)
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        maximize, amsgrad, decoupled = group["maximize"], group["amsgrad"], self._decoupled
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
        if amsgrad and "max_exp_avg_sq" not in state:  # also when switched on later
            state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        bc1, bc2_sqrt = 1 - b1**t, (1 - b2**t) ** 0.5
        vmax = state.get("max_exp_avg_sq") if amsgrad else None
        if adam_update(
            p.data,
            g,
            state["exp_avg"],
            state["exp_avg_sq"],
            vmax,
            lr,
            (b1, b2),
            eps,
            wd,
            bc1,
            bc2_sqrt,
            maximize,
            decoupled,
        ):
            return

        def update(
            p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, vmax: np.ndarray
        ) -> None:
            if maximize:
                g = -g
            if wd:
                if decoupled:  # θ ← θ(1 − lr·λ), outside the adaptive scaling
                    p *= 1 - lr * wd
                else:
                    g = g + wd * p
            tmp = xp.subtract(g, m)  # m ← m + (1 − β₁)(g − m), torch's lerp
            tmp *= 1 - b1
            m += tmp
            xp.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v *= b2
            v += tmp
            if amsgrad:
                xp.maximum(vmax, v, out=vmax)
                v = vmax
            xp.sqrt(v, out=tmp)  # denom = √v / √(1 − β₂ᵗ) + ε
            tmp /= bc2_sqrt
            tmp += eps
            xp.divide(m, tmp, out=tmp)
            tmp *= lr / bc1
            p -= tmp

        for_blocks(update, p.data, g, state["exp_avg"], state["exp_avg_sq"], vmax)


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − lr·λ) before the Adam step, so every
    weight decays at the same rate regardless of its gradient history. Default λ = 0.01.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        The parameters to optimise, or parameter groups (dicts with a 'params' key and per-group
        options).
    betas : tuple of float
        (β1, β2): decay rates of the running averages of the gradient and its square.
    eps : float
        Added to the root of the second moment for numerical stability (default 1e-8).
    maximize : bool
        Maximise the objective instead of minimising it (step along +grad).
    """

    _decoupled = True

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
