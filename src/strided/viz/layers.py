"""Reading a network from the outside: its named layers and what they output for an input.

``activations(model, x, ["features.0", "features.3"])`` runs one forward pass in eval mode
under ``no_grad`` with forward hooks on the named modules and returns their outputs as
arrays; the model's mode is restored and the hooks removed, whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..autograd import Tensor, host_array, no_grad
from ..nn.module import Module

__all__ = [
    "layer_names",
    "get_layer",
    "conv_layer_names",
    "activations",
    "check_images",
    "as_batch",
]


def layer_names(model: Any) -> list[str]:
    """The dotted names of every submodule of ``model`` (the model itself excluded)."""
    return [name for name, _ in model.named_modules() if name]


def conv_layer_names(model: Any) -> list[str]:
    """The names of the convolution layers (those with a 4-D ``weight``), in order.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    """
    return [
        name
        for name, m in model.named_modules()
        if name
        and getattr(getattr(m, "weight", None), "ndim", 0) == 4
        and type(m).__name__.startswith("Conv")
    ]


def get_layer(model: Any, name: str) -> Any:
    """The submodule called ``name``; an unknown name raises a ValueError listing the
    valid ones.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    """
    modules = dict(model.named_modules())
    if not name or name not in modules:
        valid = layer_names(model)
        raise ValueError(
            f"{type(model).__name__} has no layer {name!r}; its layers are: " + ", ".join(valid)
        )
    return modules[name]


def check_images(x: Any, expected: Sequence[int], what: str = "images") -> np.ndarray:
    """``x`` as a float array (N, *expected); one image of shape ``expected`` gets a batch
    axis. Any other shape raises a ValueError that says the expected shape.

    Parameters
    ----------
    what : str
        Name of the argument, used in error messages.
    """
    x = host_array(x)
    expected = tuple(int(s) for s in expected)
    if x.shape == expected:
        x = x[None]
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        raise ValueError(
            f"{what} of shape {tuple(x.shape)} do not fit the model: expected "
            f"one image of shape {expected} or a batch (N, " + ", ".join(map(str, expected)) + ")"
        )
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{what}: expected numeric pixels, got dtype {x.dtype}")
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def as_batch(x: Any, model: Any = None) -> Tensor:
    """A float Tensor from an array or Tensor (integers become float32), on the device of
    `model`'s parameters when a model is given.

    Parameters
    ----------
    model : Module or None
        The model the batch is for.
    """
    if not isinstance(x, Tensor):
        x = np.asarray(x)
        x = Tensor(x if x.dtype.kind == "f" else x.astype(np.float32))
    where = getattr(model, "device", None)
    return x if where is None else x.to(where)


def activations(model: Any, x: Any, layers: str | Iterable[str]) -> dict[str, np.ndarray]:
    """The outputs of the layers named ``layers`` for the input batch ``x``, as arrays
    (N, C, H, W) for conv layers, (N, F) for linear ones. A layer called more than once in
    the pass keeps its last output; one that is not called raises a ValueError.

    Parameters
    ----------
    model : Module
        The model (a trained network in evaluation mode is usual).
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = {name: get_layer(model, name) for name in names}
    captured: dict[str, np.ndarray] = {}

    def hook_for(name: str) -> Any:
        def hook(module: Module, inputs: tuple, output: Any) -> None:
            out = output[0] if isinstance(output, (tuple, list)) else output
            captured[name] = np.array(host_array(out), copy=True)  # in-place layers may follow

        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in modules.items()]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(as_batch(x, model))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    missing = [n for n in names if n not in captured]
    if missing:
        raise ValueError(
            f"{type(model).__name__}: layers {missing} are not called by the "
            "forward pass, so they have no activations"
        )
    return {n: captured[n] for n in names}
