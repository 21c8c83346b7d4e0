"""Callbacks: code the ``Trainer`` calls at fixed points of a run.

``EarlyStopping``   stop when the validation metric has not improved for ``patience``
                    epochs, and put back the best parameters (Algorithm 7.1 of the notes).
``Checkpoint``      write the whole training state every epoch, atomically, so that
                    ``Trainer.fit(..., resume=path)`` (``strided train --resume``)
                    continues exactly where the run stopped.
``LearningCurves``  write the history as CSV and JSON, and a PNG when matplotlib is
                    installed, after every epoch.

Hooks, each given the trainer: ``on_train_begin``, ``on_epoch_begin(epoch)``,
``on_batch_end(logs)``, ``on_epoch_end(logs)``, ``on_train_end``. A callback that carries
state across epochs implements ``state_dict``/``load_state_dict``, and the trainer stores
it in its checkpoints. Callbacks run in increasing ``order``: early stopping (0) decides
before the curves (50) and the checkpoint (100) are written, so a checkpoint records the
decision.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .text import plural

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "Checkpoint", "LearningCurves", "LambdaCallback"]


class Callback:
    """Base class; every hook does nothing."""

    #: Callbacks run in increasing order at each hook.
    order: int = 50

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, logs: dict) -> None: ...

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...

    def state_dict(self) -> dict | None:
        """State to keep in checkpoints (``None``: nothing)."""
        return None

    def load_state_dict(self, state: dict) -> None:
        pass


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_batch_end=lambda t, logs: ...)``.

    Parameters
    ----------
    order : int
        Position among the callbacks: lower runs earlier (default 50).
    """

    def __init__(self, order: int = 50, **hooks: Callable[..., Any]) -> None:
        known = {"on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end"}
        unknown = set(hooks) - known
        if unknown:
            raise TypeError(
                f"LambdaCallback: unknown hooks {sorted(unknown)}; known: {sorted(known)}"
            )
        self.order = order
        for name, fn in hooks.items():
            setattr(self, name, fn)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs in a row, and
    (``restore_best=True``) give the model back the parameters of its best epoch.

    This is the early-stopping meta-algorithm of the notes (Goodfellow et al., Algorithm
    7.1) with one evaluation per epoch: keep the best validation value ``v`` and a copy
    ``θ*`` of the parameters that reached it; after each epoch, if the new value is better
    (by more than ``min_delta``) record it and reset the counter ``j``, else increase
    ``j``; stop when ``j`` reaches the patience ``p``; return ``θ*``. The best parameters
    are restored at the end of training whether or not it stopped early.

    ``mode`` is "min" (losses), "max" (accuracies) or "auto" (from the name).
    """

    order = 0

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        mode: str = "auto",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive int, got {patience!r}")
        if mode == "auto":
            mode = (
                "max"
                if (
                    "acc" in monitor or monitor.startswith("top") or "top" in monitor.split("_")[-1]
                )
                else "min"
            )
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.min_delta, self.restore_best = float(min_delta), restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_state: dict | None = None

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        if self.monitor not in logs or logs[self.monitor] is None:
            raise ValueError(
                f"EarlyStopping: the monitored value {self.monitor!r} is not among this "
                f"epoch's logs ({', '.join(sorted(logs))}); give fit() a validation loader or "
                "monitor a training metric such as 'train_loss'"
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, int(logs["epoch"]), 0
            if self.restore_best:
                self.best_state = trainer.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = int(logs["epoch"])
                trainer.stop_training = True
                trainer.log(
                    f"early stopping: {self.monitor} has not improved for "
                    f"{plural(self.patience, 'epoch')} (best {self.best:.4f} at epoch "
                    f"{self.best_epoch})"
                )

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)
            trainer.log(
                f"early stopping: restored the parameters of epoch {self.best_epoch} "
                f"({self.monitor} {self.best:.4f})"
            )

    def state_dict(self) -> dict:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.best_epoch = state.get("best_epoch")
        self.wait = int(state.get("wait", 0))
        self.stopped_epoch = state.get("stopped_epoch")
        best_state = state.get("best_state")
        self.best_state = dict(best_state) if best_state is not None else None


class Checkpoint(Callback):
    """Write the trainer's complete state to ``directory/filename`` every ``every`` epochs
    (and after the last one), atomically: model, optimiser, scheduler, epoch, step,
    history, callback states and every random generator the run uses.

    ``every_steps=N`` also writes it every N optimiser steps, inside epochs: a run killed
    mid-epoch then resumes from its last step and still ends as an uninterrupted run would.
    ``keep_all=True`` also keeps ``epoch-NNN.safetensors`` for every epoch. ``monitor``
    (e.g. "val_accuracy") additionally writes the best epoch's model weights to
    ``best.safetensors`` (readable with ``strided.io.load_model``).

    Parameters
    ----------
    mode : str
        'min', 'max' or 'auto' (max when monitor names an accuracy, else min): which value of
        monitor is best.
    """

    order = 100

    def __init__(
        self,
        directory: str | os.PathLike,
        filename: str = "checkpoint.safetensors",
        every: int = 1,
        keep_all: bool = False,
        monitor: str | None = None,
        mode: str = "auto",
        every_steps: int | None = None,
    ):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"Checkpoint: every must be a positive int, got {every!r}")
        if every_steps is not None and (
            isinstance(every_steps, bool) or not isinstance(every_steps, int) or every_steps < 1
        ):
            raise ValueError(f"Checkpoint: every_steps must be a positive int, got {every_steps!r}")
        self.every_steps = every_steps
        self.directory = Path(directory)
        self.filename, self.every, self.keep_all = filename, every, keep_all
        self.monitor = monitor
        if mode == "auto" and monitor is not None:
            mode = "max" if "acc" in monitor else "min"
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf

    @property
    def path(self) -> Path:
        return self.directory / self.filename

    def on_batch_end(self, trainer: Trainer, logs: dict) -> None:
        # inside an epoch too, so that a run killed there loses at most every_steps steps
        if self.every_steps and trainer.global_step % self.every_steps == 0:
            trainer.save_checkpoint(self.path)

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        epoch = int(logs["epoch"])
        last = trainer.stop_training or epoch >= trainer.total_epochs
        if epoch % self.every == 0 or last:
            trainer.save_checkpoint(self.path)
            if self.keep_all:
                trainer.save_checkpoint(self.directory / f"epoch-{epoch:03d}.safetensors")
        if self.monitor is not None and logs.get(self.monitor) is not None:
            value = float(logs[self.monitor])
            better = value < self.best if self.mode == "min" else value > self.best
            if better:
                self.best = value
                from ..io import save_model

                save_model(
                    self.directory / "best.safetensors",
                    trainer.model,
                    {"epoch": epoch, self.monitor: value, "config": trainer.config},
                )

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state.get("best", self.best))


class LearningCurves(Callback):
    """After every epoch write ``history.csv`` and ``history.json`` to ``directory``, and
    ``curves.png`` when matplotlib is installed (``plot=False`` to skip it)."""

    order = 50

    def __init__(self, directory: str | os.PathLike, plot: bool = True):
        self.directory = Path(directory)
        self.plot = plot

    def write(self, trainer: Trainer) -> None:
        h = trainer.history
        h.to_csv(self.directory / "history.csv")
        h.to_json(self.directory / "history.json")
        if self.plot and len(h) and h.plot(self.directory / "curves.png") is None:
            self.plot = False  # said once, not every epoch
            trainer.log(
                "curves.png skipped: drawing it needs matplotlib "
                "(pip install 'strided[plot]'); history.csv and history.json are "
                "written"
            )

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        self.write(trainer)
