"""Regularisers: parameter-norm penalties (L2, L1, elastic net), an L1 penalty on
activations for sparse representations, and (re-exported) gradient clipping.

Penalties return a scalar Tensor to add to the loss; their gradients are exact, fused in
one Function over all parameters rather than a graph of abs/square/sum per tensor:

    l2_penalty     = (λ/2)·Σ‖w‖²     ∂/∂w = λ·w       (= coupled weight decay λ in SGD)
    l1_penalty     = λ·Σ|w|          ∂/∂w = λ·sign(w) (the subgradient, 0 at w = 0)
    elastic_net    = λ₁·Σ|w| + (λ₂/2)·Σ‖w‖²

The subgradient of L1 makes weights oscillate around zero instead of reaching it; the
proximal step (`strided.optim.prox_l1_`, `strided.optim.ProximalSGD`) sets them exactly
to zero, as the notes derive.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..autograd import Function, Tensor
from ..device import array_module
from .module import Module, Parameter
from .utils import clip_grad_norm_, clip_grad_value_  # noqa: F401  (part of the toolbox)

__all__ = [
    "l1_penalty",
    "l2_penalty",
    "elastic_net_penalty",
    "activation_l1_penalty",
    "ActivationL1",
    "decay_parameters",
    "clip_grad_norm_",
    "clip_grad_value_",
]


class _NormPenalty(Function):
    """λ₁·Σ|w| + (λ₂/2)·Σw² over any number of tensors."""

    def forward(self, *ws: np.ndarray) -> np.ndarray:
        # the sums stay where the weights are (a float() of each would wait for a device)
        xp = array_module(*ws)
        total = 0.0
        for w in ws:
            if self.l1:
                total = total + self.l1 * abs(w).sum(dtype=np.float64)
            if self.l2:
                total = total + 0.5 * self.l2 * xp.vdot(w, w).astype(np.float64)
        self.ws = ws
        return xp.asarray(total, dtype=ws[0].dtype if ws else np.float32)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        out: list[np.ndarray | None] = []
        for w, need in zip(self.ws, self.needs_input_grad, strict=True):
            if not need:
                out.append(None)
                continue
            gw = array_module(w).zeros_like(w)
            if self.l1:
                gw += self.l1 * array_module(w).sign(w)
            if self.l2:
                gw += self.l2 * w
            out.append(gw * g)
        return tuple(out)


# what the penalties accept: a model (its decayed weights), one tensor, or several
Params = Module | Tensor | Iterable[Tensor]


def _params(parameters: Params) -> list[Tensor]:
    if isinstance(parameters, Module):
        return list(decay_parameters(parameters))
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def decay_parameters(module: Module) -> list[Parameter]:
    """The parameters that are usually regularised: weights with 2 or more dimensions
    (linear and conv weights), not biases or normalisation scales.

    Parameters
    ----------
    module : Module
        The model whose parameters are sorted.
    """
    return [p for p in module.parameters() if p.ndim >= 2]


def elastic_net_penalty(parameters: Params, l1: float = 0.0, l2: float = 0.0) -> Tensor:
    """λ₁·Σ|w| + (λ₂/2)·Σ‖w‖² over `parameters` (an iterable, or a Module: then its
    `decay_parameters`). Add it to the loss before backward.

    Parameters
    ----------
    l1 : float
        Coefficient of the L1 term Σ|w|.
    l2 : float
        Coefficient of the L2 term Σw².
    """
    if l1 < 0 or l2 < 0:
        raise ValueError(
            f"elastic_net_penalty: l1 and l2 must be non-negative, got l1={l1}, l2={l2}"
        )
    ps = _params(parameters)
    if not ps:
        raise ValueError("penalty: given no parameters")
    return _NormPenalty.apply(*ps, l1=float(l1), l2=float(l2))


def l1_penalty(parameters: Params, weight: float) -> Tensor:
    """λ·Σ|w| (lasso): pushes weights to exactly zero when used with a proximal step.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        The weights to penalise.
    weight : float
        λ: the coefficient of the penalty.
    """
    return elastic_net_penalty(parameters, l1=weight)


def l2_penalty(parameters: Params, weight: float) -> Tensor:
    """(λ/2)·Σ‖w‖² (ridge / weight decay); its gradient λ·w is SGD's weight_decay=λ.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        The weights to penalise.
    """
    return elastic_net_penalty(parameters, l2=weight)


class _ActivationL1(Function):
    """λ·Σ|h| / N: the L1 norm of a batch of activations, averaged over the batch."""

    def forward(self, h: np.ndarray) -> np.ndarray:
        self.h = h
        n = h.shape[0] if h.ndim else 1
        self.scale = self.weight / max(n, 1)
        xp = array_module(h)
        return xp.asarray(self.scale * abs(h).sum(dtype=np.float64), dtype=h.dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return (self.scale * g) * array_module(self.h).sign(self.h)


def activation_l1_penalty(activations: Tensor, weight: float) -> Tensor:
    """λ·(1/N)·Σ_i ‖h_i‖₁ for a batch of hidden activations h (N, ...): the sparsity
    penalty Ω(h) of sparse representations (Goodfellow et al. §7.10).

    Parameters
    ----------
    weight : float
        λ: the coefficient of the penalty.
    """
    if weight < 0:
        raise ValueError(f"activation_l1_penalty: weight must be non-negative, got {weight}")
    return _ActivationL1.apply(activations, weight=float(weight))


class ActivationL1:
    """Collect the outputs of some modules during forward (via forward hooks) and give
    their L1 penalty:

        reg = ActivationL1([model.fc1, model.fc2], weight=1e-4)
        loss = criterion(model(x), y) + reg.penalty()   # penalty() also clears

    `remove()` detaches the hooks.
    """

    def __init__(self, modules: Iterable[Module] | Module, weight: float):
        if weight < 0:
            raise ValueError(f"ActivationL1: weight must be non-negative, got {weight}")
        self.weight = float(weight)
        mods = [modules] if isinstance(modules, Module) else list(modules)
        self._outputs: list[Tensor] = []
        self._handles = [m.register_forward_hook(self._hook) for m in mods]

    def _hook(self, module: Module, inputs: tuple, output: Tensor) -> None:
        self._outputs.append(output)

    def penalty(self) -> Tensor:
        """The summed penalty of the activations seen since the last call."""
        if not self._outputs:
            raise RuntimeError(
                "ActivationL1.penalty: no activations recorded; run a forward pass first"
            )
        total = activation_l1_penalty(self._outputs[0], self.weight)
        for h in self._outputs[1:]:
            total = total + activation_l1_penalty(h, self.weight)
        self._outputs = []
        return total

    def clear(self) -> None:
        self._outputs = []

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
