"""Optimisers by name, for configs and the command line: ``optim.create("sgd", params,
lr=0.1, momentum=0.9)``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .proximal import ProximalSGD
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["OPTIMIZERS", "create", "list_optimizers"]

# name → (class, keyword arguments the name implies)
OPTIMIZERS: dict[str, tuple[type, dict[str, Any]]] = {
    "sgd": (SGD, {}),
    "nesterov": (SGD, {"nesterov": True}),
    "adam": (Adam, {}),
    "adamw": (AdamW, {}),
    "rmsprop": (RMSprop, {}),
    "adagrad": (Adagrad, {}),
    "proximal_sgd": (ProximalSGD, {}),
}


def list_optimizers() -> list[str]:
    """The names ``create`` knows."""
    return list(OPTIMIZERS)


def create(name: str, params: Iterable, **kwargs: Any) -> Optimizer:
    """The optimiser registered as ``name`` over ``params``.

    Parameters
    ----------
    name : str
        One of ``list_optimizers()`` (case-insensitive); ``"nesterov"`` is SGD with
        ``nesterov=True``.
    params : iterable
        Parameters or parameter groups, as for the class itself.
    **kwargs
        The class's own arguments (``lr``, ``momentum``, ``weight_decay``, ...).
    """
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    cls, implied = OPTIMIZERS[key]
    return cls(params, **{**implied, **kwargs})
