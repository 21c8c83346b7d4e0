"""A module's forward pass as the list of operations it ran: ``trace(model, inputs)``.

``autograd.tracing`` reports every operation (a ``Function`` with its inputs, parameters
and output), whether or not it is recorded for backward; forward hooks tell which module
was running it. The ONNX exporter turns the operations into ONNX nodes, the TensorBoard
callback into the nodes of the Graphs tab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..autograd import Function, Tensor, no_grad, tracing
from .module import Module

__all__ = ["Call", "trace"]


@dataclass
class Call:
    """One traced operation."""

    fn: Function
    inputs: tuple
    params: dict
    outputs: tuple
    layer: str  # the dotted path of the innermost module running, '' at top level

    @property
    def op(self) -> str:
        """The operation's name: its Function's class name."""
        return type(self.fn).__name__


def trace(model: Module, inputs: Sequence[Tensor]) -> tuple[list[Call], Any]:
    """Run ``model(*inputs)`` once under ``no_grad``, recording every operation in the
    order it ran and the module that ran it; returns the calls and the model's result.
    The model's mode is the caller's choice (eval, to export)."""
    calls: list[Call] = []
    layers: list[str] = []
    names = {id(m): n for n, m in model.named_modules()}

    def enter(module: Module, args: Any) -> None:
        layers.append(names.get(id(module), ""))

    def leave(module: Module, args: Any, out: Any) -> None:
        layers.pop()  # a hook's return value would replace the output: return None

    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(enter))
        handles.append(m.register_forward_hook(leave))

    def record(fn: Function, ins: tuple, params: dict, out: Any) -> None:
        outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        calls.append(Call(fn, tuple(ins), dict(params), outs, layers[-1] if layers else ""))

    try:
        with no_grad(), tracing(record):
            result = model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return calls, result
