"""``GradientStats``: watch gradients flow through the layers while a network trains.

Per layer with parameters and per recorded step: the gradient norm ‖∂L/∂θ‖, the weight
norm ‖θ‖, the update/weight ratio ‖Δθ‖/‖θ‖ of the optimiser step (about 1e-3 is the usual
rule of thumb), and the mean and standard deviation of the layer's output. Per activation
layer: the same output statistics and the fraction of dead ReLUs (units — channels of a
conv map, features of a linear layer — that are zero for the whole batch) or of saturated
sigmoids/tanhs (outputs within 0.01 of their bounds), where gradients stop.

A gradient norm below ``low`` (vanishing) or above ``high`` (exploding) prints and warns
(``GradientWarning``) once per layer and direction, naming the layer. After every epoch the
table is written to ``grad_stats.csv`` and ``grad_stats.json`` in ``directory``;
``strided.viz.plot_gradient_flow`` draws it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..device import to_numpy
from ..nn.module import Module
from .callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["GradientStats", "GradientWarning", "COLUMNS", "load_gradient_stats"]

COLUMNS = (
    "step",
    "epoch",
    "layer",
    "kind",
    "grad_norm",
    "weight_norm",
    "update_ratio",
    "act_mean",
    "act_std",
    "dead_fraction",
    "saturated_fraction",
)

_RELUS = {"ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU"}
# output bounds of the squashing activations: saturated within 0.01 of them
_SQUASHING = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0), "Hardtanh": (-1.0, 1.0)}


class GradientWarning(RuntimeWarning):
    """A layer's gradient norm left the bounds set on ``GradientStats``."""


def _norm(arrays: Any) -> float:
    return math.sqrt(sum(float(np.vdot(a, a)) for a in arrays))


def _output_stats(kind: str, y: np.ndarray) -> dict:
    y = to_numpy(y).astype(np.float64)  # a recorded step's statistics are read on the host
    row = {"act_mean": float(y.mean()), "act_std": float(y.std())}
    if kind in ("ReLU", "ReLU6"):
        # a unit is dead for this batch when it is zero for every example and position
        units = np.moveaxis(y, 1, 0).reshape(y.shape[1], -1) if y.ndim > 1 else y[None]
        row["dead_fraction"] = float(np.mean(~np.any(units > 0, axis=1)))
    elif kind in _SQUASHING:
        lo, hi = _SQUASHING[kind]
        margin = 0.01 * (hi - lo)
        row["saturated_fraction"] = float(np.mean((y < lo + margin) | (y > hi - margin)))
    return row


class GradientStats(Callback):
    """Record per-layer gradient, weight, update and activation statistics.

    Parameters
    ----------
    directory : folder for ``grad_stats.csv`` / ``grad_stats.json`` (None: keep in memory).
    every : record every ``every``-th optimiser step (1: all of them).
    low, high : bounds on a layer's gradient norm; outside them a ``GradientWarning``
        names the layer (vanishing below ``low``, exploding above ``high``).
    max_steps : stop recording after this many optimiser steps (None: never).
    """

    order = 40  # before the learning curves and checkpoints write their files

    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        every: int = 1,
        low: float = 1e-7,
        high: float = 1e3,
        max_steps: int | None = None,
    ):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"GradientStats: every must be a positive int, got {every!r}")
        if not 0 <= low < high:
            raise ValueError(f"GradientStats: need 0 <= low < high, got low={low}, high={high}")
        self.directory = Path(directory) if directory is not None else None
        self.every, self.low, self.high, self.max_steps = every, float(low), float(high), max_steps
        self.records: list[dict] = []
        self.warnings: list[str] = []
        self._warned: set = set()
        self._layers: dict[str, Any] = {}
        self._activations: dict[str, Any] = {}
        self._outputs: dict[str, dict] = {}
        self._before: dict[str, list[np.ndarray]] = {}
        self._handles: list = []
        self._trainer: Any = None

    # -- which steps ---------------------------------------------------------------------
    def _records(self, step: int) -> bool:
        return step % self.every == 0 and (self.max_steps is None or step <= self.max_steps)

    def _snapshot(self) -> None:
        # the weights before the next recorded step, for its update ratio
        self._before = {
            name: [np.array(to_numpy(p.data), copy=True) for p in m.parameters(recurse=False)]
            for name, m in self._layers.items()
        }

    # -- hooks ---------------------------------------------------------------------------
    def on_train_begin(self, trainer: Trainer) -> None:
        """Find the layers, hook them, and (on resume) pick up the table written so far."""
        self._trainer = trainer
        saved = self.directory / "grad_stats.json" if self.directory is not None else None
        if trainer.global_step > 0 and not self.records and saved is not None and saved.is_file():
            # a resumed run continues its table (checkpoints do not carry it: it can be big)
            old = json.loads(saved.read_text())
            self.records = [r for r in old.get("records", []) if r["step"] <= trainer.global_step]
            self.warnings = list(old.get("warnings", []))
        self._layers, self._activations = {}, {}
        for name, m in trainer.model.named_modules():
            kind = type(m).__name__
            if any(True for _ in m.parameters(recurse=False)):
                self._layers[name or kind] = m
            elif kind in _RELUS or kind in _SQUASHING:
                self._activations[name or kind] = m
        self._handles = [
            m.register_forward_hook(self._hook(name))
            for name, m in {**self._layers, **self._activations}.items()
        ]
        if self._records(trainer.global_step + 1):
            self._snapshot()

    def _hook(self, name: str) -> Any:
        def hook(module: Module, inputs: tuple, output: Any) -> None:
            trainer = self._trainer
            if trainer is None or not module.training or not self._records(trainer.global_step + 1):
                return None
            out = output[0] if isinstance(output, (tuple, list)) else output
            self._outputs[name] = _output_stats(type(module).__name__, out.data)
            return None

        return hook

    def on_batch_end(self, trainer: Trainer, logs: dict) -> None:
        """Record the step just taken when it is one to record."""
        step = trainer.global_step
        if self._records(step):
            self._record(trainer, step, int(logs.get("epoch", trainer.epoch + 1)))
        self._outputs = {}
        if self._records(step + 1):
            self._snapshot()

    def _record(self, trainer: Trainer, step: int, epoch: int) -> None:
        for name, m in self._layers.items():
            params = list(m.parameters(recurse=False))
            grads = [to_numpy(p.grad.data) for p in params if p.grad is not None]
            weights = [to_numpy(p.data) for p in params]
            w_norm = _norm(weights)
            before = self._before.get(name)
            update = (
                _norm(w - b for w, b in zip(weights, before, strict=True)) / w_norm
                if before is not None and w_norm > 0
                else None
            )
            row = {
                "step": step,
                "epoch": epoch,
                "layer": name,
                "kind": type(m).__name__,
                "grad_norm": _norm(grads) if grads else None,
                "weight_norm": w_norm,
                "update_ratio": update,
                **self._outputs.get(name, {}),
            }
            self.records.append(row)
            self._check(trainer, name, step, row["grad_norm"])
        for name, m in self._activations.items():
            if name in self._outputs:
                self.records.append(
                    {
                        "step": step,
                        "epoch": epoch,
                        "layer": name,
                        "kind": type(m).__name__,
                        **self._outputs[name],
                    }
                )

    def _check(self, trainer: Trainer, name: str, step: int, g: float | None) -> None:
        if g is None:
            return
        if g < self.low:
            what, bound = "vanishing", f"below {self.low:g}"
        elif g > self.high or not math.isfinite(g):
            what, bound = "exploding", f"above {self.high:g}"
        else:
            return
        if (name, what) in self._warned:
            return
        self._warned.add((name, what))
        message = (
            f"GradientStats: layer {name}: gradient norm {g:.3g} at step {step} is "
            f"{bound} ({what} gradients)"
        )
        self.warnings.append(message)
        trainer.log(message)
        warnings.warn(message, GradientWarning, stacklevel=2)

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        """Write the table so far."""
        self.write()

    def on_train_end(self, trainer: Trainer) -> None:
        """Remove the hooks and write the table."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self._trainer = None
        self.write()

    # -- the table -----------------------------------------------------------------------
    def layer_names(self) -> list[str]:
        """The layers with parameters, in the model's order."""
        return list(self._layers) or list(
            dict.fromkeys(r["layer"] for r in self.records if r.get("grad_norm") is not None)
        )

    def series(self, layer: str, column: str = "grad_norm") -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one column for one layer."""
        rows = [r for r in self.records if r["layer"] == layer and r.get(column) is not None]
        if not rows:
            known = sorted({r["layer"] for r in self.records})
            raise ValueError(
                f"GradientStats: no {column} recorded for layer {layer!r}; "
                f"recorded layers: {', '.join(known)}"
            )
        return (
            np.array([r["step"] for r in rows]),
            np.array([r[column] for r in rows], dtype=np.float64),
        )

    def to_dict(self) -> dict:
        """The bounds, the layers, the warnings and every record, as JSON-able data."""
        return {
            "every": self.every,
            "low": self.low,
            "high": self.high,
            "layers": self.layer_names(),
            "warnings": self.warnings,
            "records": self.records,
        }

    def write(self, directory: str | os.PathLike | None = None) -> list[Path]:
        """Write ``grad_stats.csv`` and ``grad_stats.json`` (atomically); returns the paths."""
        from ..io import atomic_write_text

        directory = Path(directory) if directory is not None else self.directory
        if directory is None:
            return []
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in self.records:
            writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS})
        return [
            atomic_write_text(directory / "grad_stats.csv", buf.getvalue()),
            atomic_write_text(
                directory / "grad_stats.json", json.dumps(self.to_dict(), indent=0) + "\n"
            ),
        ]


def load_gradient_stats(path: str | os.PathLike) -> dict:
    """The contents of a ``grad_stats.json`` (a run folder or the file)."""
    p = Path(path)
    if p.is_dir():
        p = p / "grad_stats.json"
    if not p.is_file():
        raise FileNotFoundError(f"no gradient statistics at {p} (train with --grad-stats)")
    return json.loads(p.read_text())
