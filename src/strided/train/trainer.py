"""The training loop: ``Trainer`` and the one-call ``fit``.

One epoch is the loop every course writes on the board,

    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step()

plus what makes a run usable: ``model.train()`` for the epoch and ``model.eval()`` with
``no_grad`` for validation, a tqdm progress bar with the running loss, accuracy and
images per second, per-epoch metrics in a ``History``, a learning-rate schedule stepped
per epoch (or per batch for one-cycle), callbacks (early stopping, checkpoints, learning
curves), and checkpoints from which ``fit(..., resume=path)`` continues bit for bit.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence, Sized
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..autograd import Tensor, no_grad
from ..device import CPU, Device, array_module, to_numpy
from ..device import device as as_device
from . import checkpoint as ckpt
from .callbacks import Callback
from .history import History
from .metrics import DeviceMetrics, RunningMetrics

__all__ = ["Trainer", "fit"]


def _default_loss(output: Tensor, target: Tensor) -> Tensor:
    from ..functional.loss import cross_entropy

    return cross_entropy(output, target)


def _as_input(x: Any, where: Device) -> Tensor:
    """The batch's inputs as a Tensor on `where` (one host-to-device copy per batch)."""
    if isinstance(x, Tensor):
        return x.to(where)
    if not hasattr(x, "dtype") or isinstance(x, np.generic):
        x = np.asarray(x)
    if x.dtype.kind in "ui":
        raise TypeError(
            f"Trainer: the loader yields {x.dtype} inputs of shape {x.shape}; "
            "convert them to float first (e.g. transform=transforms.ToFloat())"
        )
    return Tensor(x, device=where)


def _as_target(y: Any, where: Device) -> Any:
    """The batch's targets: as given on the CPU (the losses take arrays), a Tensor on
    `where` on another device."""
    if where.type == "cpu":
        return y.to(where) if isinstance(y, Tensor) else y
    if isinstance(y, Tensor):
        return y.to(where)
    return Tensor(y if hasattr(y, "dtype") else np.asarray(y), device=where)


class Trainer:
    """Train ``model`` with ``optimizer`` on batches ``(inputs, targets)``.

    Parameters
    ----------
    model, optimizer
        A ``strided.nn.Module`` and a ``strided.optim`` optimiser over its parameters
        (``None`` for a trainer that only evaluates and predicts).
    loss_fn : callable, default ``cross_entropy``
        ``loss_fn(output, targets) -> scalar Tensor`` (the mean over the batch).
    scheduler : optional
        A ``strided.optim.lr_scheduler`` schedule, stepped as its ``interval`` says (after
        every epoch, or every batch for ``OneCycleLR``; ``scheduler_interval`` overrides
        it), with the validation loss when it ``needs_metric`` (``ReduceLROnPlateau``).
    callbacks : callbacks from ``strided.train.callbacks``.
    top_k : extra top-k accuracies to report, e.g. ``(5,)``.
    grad_clip : clip the global gradient norm to this value before each step.
    progress : show a tqdm progress bar per epoch (on stderr); a dict passes options to
        tqdm (e.g. ``{"mininterval": 1.0}``).
    verbose : print one summary line per epoch (and the callbacks' messages).
    generators : extra random generators (name -> Generator) to save in checkpoints.
    config : a JSON-able dict stored in every checkpoint (the CLI keeps its options there).
    classification : the outputs are class scores, so accuracy is measured; set False for
        other tasks (regression, autoencoders): then only the loss is reported.
    file : file-like or None
        Where the progress and epoch lines go (sys.stderr when None).
    device : str, Device or None
        Where to train: the model is moved there (in place; the optimiser's state
        follows) and each batch is copied there once per step. None: the model's device.
    sync_every : int
        On a device other than the CPU, the loss and accuracy are summed on the device
        and read back every ``sync_every`` steps (for the progress bar) and at the end of
        each epoch, so a step copies nothing back; a non-finite loss is caught at that
        read, up to ``sync_every`` steps late. On the CPU they are read every step.

    Notes
    -----
    ``fit`` returns the ``History``; ``trainer.epoch`` counts completed epochs and
    ``trainer.global_step`` optimiser steps. The ``loss`` passed to callbacks'
    ``on_batch_end`` is a float on the CPU and a 0-d Tensor on another device (reading
    it, e.g. ``float(logs["loss"])``, waits for the device).
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        loss_fn: Callable | None = None,
        *,
        scheduler: Any = None,
        scheduler_interval: str | None = None,
        callbacks: Iterable[Callback] = (),
        top_k: Sequence[int] = (),
        grad_clip: float | None = None,
        progress: bool | dict = True,
        verbose: bool = True,
        generators: dict[str, Any] | None = None,
        config: dict | None = None,
        classification: bool = True,
        file: TextIO | None = None,
        device: str | Device | None = None,
        sync_every: int = 20,
    ) -> None:
        if not hasattr(model, "parameters") or not callable(model):
            raise TypeError(f"Trainer: model must be a strided Module, got {type(model).__name__}")
        if optimizer is not None and not (
            hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")
        ):
            raise TypeError(
                f"Trainer: optimizer must be a strided optimiser, got {type(optimizer).__name__}"
            )
        if scheduler_interval not in (None, "epoch", "batch"):
            raise ValueError(
                "Trainer: scheduler_interval must be 'epoch' or 'batch', got "
                f"{scheduler_interval!r}"
            )
        if isinstance(sync_every, bool) or not isinstance(sync_every, int) or sync_every < 1:
            raise ValueError(f"Trainer: sync_every must be a positive int, got {sync_every!r}")
        if device is not None:
            model.to(as_device(device))
        self._device = None if device is None else as_device(device)
        self.sync_every = sync_every
        self.model, self.optimizer = model, optimizer
        self.loss_fn = loss_fn or _default_loss
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval or (
            getattr(scheduler, "interval", "epoch") if scheduler is not None else "epoch"
        )
        self.callbacks = sorted(callbacks, key=lambda c: getattr(c, "order", 50))
        self.top_k = tuple(top_k)
        self.grad_clip = grad_clip
        self.progress, self.verbose = progress, verbose
        self.generators = dict(generators or {})
        self.config = dict(config or {})
        self.classification = classification
        self.file = file
        self.history = History()
        self.epoch = 0  # completed epochs
        self.global_step = 0  # optimiser steps
        self.batch_in_epoch = 0  # batches of the current epoch done (mid-epoch checkpoints)
        self._epoch_metrics: RunningMetrics | None = None  # that epoch's sums so far
        self.total_epochs = 0
        self.stop_training = False
        self.train_loader: Any = None
        self.val_loader: Any = None
        self._pending_rng: dict | None = None
        self._device_sums: DeviceMetrics | None = None  # an epoch's unread device sums

    @property
    def device(self) -> Device:
        """Where the model trains: the `device=` given, else the model's device."""
        if self._device is not None:
            return self._device
        return as_device(self.model.device) if hasattr(self.model, "device") else CPU

    # -- output -----------------------------------------------------------------------
    def log(self, message: str) -> None:
        """Print a line (through tqdm, so that it does not break a progress bar)."""
        if not self.verbose:
            return
        from tqdm import tqdm

        tqdm.write(message, file=self.file or sys.stderr)

    # -- one epoch --------------------------------------------------------------------
    def _callbacks(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def train_epoch(self, loader: Iterable, epoch: int | None = None) -> dict:
        """One pass over ``loader`` in training mode; returns the mean loss and accuracy."""
        from tqdm import tqdm

        epoch = self.epoch if epoch is None else epoch
        first = self.batch_in_epoch  # > 0 when resuming from a checkpoint inside the epoch
        if hasattr(loader, "set_epoch"):
            # the shuffling order of an epoch depends on (seed, epoch) only, which is what
            # lets a resumed run draw the same batches
            loader.set_epoch(epoch, first) if first else loader.set_epoch(epoch)
        elif first:
            raise ValueError(
                "Trainer: resuming inside an epoch needs a DataLoader (one that "
                "can start at a batch)"
            )
        self.model.train()
        metrics = (
            self._epoch_metrics
            if first and self._epoch_metrics is not None
            else RunningMetrics(self.top_k)
        )
        self._epoch_metrics = metrics
        total = len(loader) if isinstance(loader, Sized) else None
        desc = (
            f"epoch {epoch + 1}/{self.total_epochs}" if self.total_epochs else f"epoch {epoch + 1}"
        )
        options = dict(
            total=total,
            desc=desc,
            unit="batch",
            disable=not self.progress,
            file=self.file or sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )
        if isinstance(self.progress, dict):
            options.update(self.progress)
        bar = tqdm(**options)
        from ..nn.utils import clip_grad_norm_

        where = self.device
        on_device = where.type != "cpu"
        sums = self._device_sums = DeviceMetrics(metrics) if on_device else None
        start = time.perf_counter()
        seen = 0

        def show(post_metrics: RunningMetrics) -> None:
            elapsed = time.perf_counter() - start
            post = {"loss": f"{post_metrics.loss:.4f}"}
            if self.classification:
                post["acc"] = f"{post_metrics.accuracy:.4f}"
            post["img/s"] = f"{seen / elapsed:.0f}" if elapsed > 0 else "-"
            bar.set_postfix(post, refresh=False)

        try:
            for batch in loader:
                x, y = _as_input(batch[0], where), _as_target(batch[1], where)
                output = self.model(x)
                loss = self.loss_fn(output, y)
                loss_logged: Any
                if sums is None:
                    loss_logged = loss_value = float(loss.item())
                    if not math.isfinite(loss_value):
                        # stop before the step spreads NaN/inf into the parameters
                        raise FloatingPointError(
                            f"Trainer: the loss became {loss_value} at epoch {epoch + 1}, "
                            f"step {self.global_step + 1}; lower the learning rate or clip "
                            "gradients"
                        )
                else:
                    loss_logged = loss.detach()
                self.optimizer.zero_grad()
                loss.backward()
                if self.grad_clip is not None:
                    clip_grad_norm_(self.model.parameters(), self.grad_clip)
                self.optimizer.step()
                if self.scheduler is not None and self.scheduler_interval == "batch":
                    self.scheduler.step()
                self.global_step += 1
                self.batch_in_epoch += 1
                n = len(y)
                seen += n
                if sums is not None:
                    if self.classification:
                        sums.update(loss.data, output.data, y.data)
                    else:
                        sums.update(loss.data, count=n)
                    if self.global_step % self.sync_every == 0:
                        self._flush(sums, epoch)
                        show(metrics)
                else:
                    metrics.update(
                        loss_value,
                        output.data if self.classification else np.zeros((n, 1)),
                        y if self.classification else np.zeros(n, np.int64),
                    )
                    show(metrics)
                bar.update(1)
                if self.callbacks:
                    self._callbacks(
                        "on_batch_end",
                        {
                            "epoch": epoch + 1,
                            "step": self.global_step,
                            "loss": loss_logged,
                            "batch_size": n,
                        },
                    )
            if sums is not None:
                self._flush(sums, epoch)
                show(metrics)  # the epoch's last values on the bar
                bar.refresh()
        finally:
            bar.close()
        self.batch_in_epoch, self._epoch_metrics, self._device_sums = 0, None, None
        seconds = time.perf_counter() - start
        out: dict[str, Any] = {
            "loss": metrics.loss,
            "seconds": seconds,
            "images_per_s": seen / seconds if seconds > 0 else float("nan"),
        }
        if self.classification:
            out.update({k: v for k, v in metrics.compute().items() if k != "loss"})
        return out

    def _flush(self, sums: DeviceMetrics, epoch: int) -> None:
        """Read the device's sums back into the epoch's metrics."""
        try:
            sums.flush()
        except FloatingPointError as exc:
            raise FloatingPointError(
                f"Trainer: {exc} in epoch {epoch + 1} by step {self.global_step}; lower the "
                "learning rate or clip gradients"
            ) from None

    def evaluate(
        self,
        loader: Iterable,
        *,
        top_k: Sequence[int] | None = None,
        confusion: bool = False,
        num_classes: int | None = None,
    ) -> dict:
        """Mean loss and accuracy (and top-k, and the confusion matrix if asked) of the
        model on ``loader``, in eval mode under ``no_grad``; the model's mode is kept."""
        top_k = self.top_k if top_k is None else tuple(top_k)
        metrics = RunningMetrics(top_k, num_classes=num_classes, confusion=confusion)
        where = self.device
        sums = DeviceMetrics(metrics) if where.type != "cpu" else None  # read once, at the end
        was_training = self.model.training
        self.model.eval()
        start = time.perf_counter()
        try:
            with no_grad():
                for batch in loader:
                    x, y = _as_input(batch[0], where), _as_target(batch[1], where)
                    output = self.model(x)
                    loss_t = self.loss_fn(output, y)
                    if sums is not None:
                        if self.classification:
                            sums.update(loss_t.data, output.data, y.data)
                        else:
                            sums.update(loss_t.data, count=len(y))
                        continue
                    loss = float(loss_t.item())
                    if self.classification:
                        metrics.update(loss, output.data, y)
                    else:
                        metrics.update(loss, np.zeros((len(y), 1)), np.zeros(len(y), np.int64))
            if sums is not None:
                sums.flush(check_finite=False)
        finally:
            self.model.train(was_training)
        out = metrics.compute()
        if not self.classification:
            out = {"loss": out["loss"]}
        out["seconds"] = time.perf_counter() - start
        return out

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The model's outputs on the array ``x`` (eval mode, ``no_grad``), in batches."""
        x = x if hasattr(x, "shape") else np.asarray(x)
        where = self.device
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                outs = [
                    self.model(_as_input(x[i : i + batch_size], where)).data
                    for i in range(0, len(x), batch_size)
                ]
        finally:
            self.model.train(was_training)
        if not outs:
            return np.zeros((0,))
        # joined where they were computed, then one copy to the host
        return to_numpy(array_module(outs[0]).concatenate(outs))

    # -- the run ----------------------------------------------------------------------
    def fit(
        self,
        train_loader: Iterable,
        val_loader: Iterable | None = None,
        epochs: int = 1,
        resume: str | os.PathLike | None = None,
    ) -> History:
        """Train for ``epochs`` epochs in total (counting those of a resumed checkpoint),
        validating on ``val_loader`` after each; returns the ``History``.

        ``resume``: a checkpoint written by ``save_checkpoint`` / the ``Checkpoint``
        callback. Training continues at the epoch after the one it records, with the
        model, optimiser, schedule, history, callbacks and random generators as they were,
        so the result equals that of an uninterrupted run.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"Trainer.fit: epochs must be a non-negative int, got {epochs!r}")
        if self.optimizer is None:
            raise ValueError(
                "Trainer.fit: this trainer has no optimizer (it was built for evaluation only)"
            )
        self.train_loader, self.val_loader = train_loader, val_loader
        self.total_epochs = epochs
        if resume is not None:
            self.load_checkpoint(resume)
        if self._pending_rng is not None:
            ckpt.set_rng_state(self._pending_rng, self.model, self._loaders(), self.generators)
            self._pending_rng = None
        self._callbacks("on_train_begin")
        while self.epoch < epochs and not self.stop_training:
            e = self.epoch
            self._callbacks("on_epoch_begin", e)
            train = self.train_epoch(train_loader, e)
            record: dict = {"epoch": e + 1, "step": self.global_step}
            record.update(
                {f"train_{k}": v for k, v in train.items() if k not in ("seconds", "images_per_s")}
            )
            if val_loader is not None:
                val = self.evaluate(val_loader)
                record.update({f"val_{k}": v for k, v in val.items() if k != "seconds"})
            record["lr"] = float(self.optimizer.param_groups[0]["lr"])
            record["seconds"] = train["seconds"]
            record["images_per_s"] = train["images_per_s"]
            if self.scheduler is not None and self.scheduler_interval == "epoch":
                if getattr(self.scheduler, "needs_metric", False):
                    self.scheduler.step(record.get("val_loss", record["train_loss"]))
                else:
                    self.scheduler.step()
            self.epoch = e + 1
            self.history.append(record)
            self.log(self._summary(record))
            self._callbacks("on_epoch_end", record)
        self._callbacks("on_train_end")
        return self.history

    def _summary(self, r: dict) -> str:
        parts = [f"epoch {r['epoch']}/{self.total_epochs}", f"loss {r['train_loss']:.4f}"]
        if "train_accuracy" in r:
            parts.append(f"acc {r['train_accuracy']:.4f}")
        if "val_loss" in r:
            parts.append(f"val_loss {r['val_loss']:.4f}")
        if "val_accuracy" in r:
            parts.append(f"val_acc {r['val_accuracy']:.4f}")
        parts.append(f"lr {r['lr']:.3g}")
        parts.append(f"{r['seconds']:.1f}s ({r['images_per_s']:.0f} img/s)")
        return "  ".join(parts)

    # -- checkpoints ------------------------------------------------------------------
    def _loaders(self) -> dict:
        return {"train": self.train_loader, "val": self.val_loader}

    def _callback_keys(self) -> list[tuple[str, Callback]]:
        counts: dict[str, int] = {}
        keys = []
        for cb in self.callbacks:
            name = type(cb).__name__
            counts[name] = counts.get(name, 0) + 1
            keys.append((name if counts[name] == 1 else f"{name}{counts[name]}", cb))
        return keys

    def state_dict(self) -> dict:
        """Everything needed to continue the run (see ``strided.train.checkpoint``)."""
        if self._device_sums is not None:  # a checkpoint inside an epoch on a device
            self._flush(self._device_sums, self.epoch)
        return {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "batch_in_epoch": self.batch_in_epoch,
            "epoch_metrics": _metric_sums(self._epoch_metrics) if self.batch_in_epoch else None,
            "stop_training": self.stop_training,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "history": self.history.state_dict(),
            "callbacks": {
                k: cb.state_dict() for k, cb in self._callback_keys() if cb.state_dict() is not None
            },
            "rng": ckpt.rng_state(self.model, self._loaders(), self.generators),
            "config": self.config,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; the data loaders' generators are restored when
        ``fit`` knows the loaders (immediately, if it is running)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            if state.get("scheduler") is None:
                raise ValueError(
                    "Trainer.load_state_dict: the checkpoint has no scheduler "
                    f"state but this run uses {type(self.scheduler).__name__}"
                )
            self.scheduler.load_state_dict(state["scheduler"])
        self.history.load_state_dict(state.get("history", {}))
        saved_cbs = state.get("callbacks", {})
        for key, cb in self._callback_keys():
            if key in saved_cbs:
                cb.load_state_dict(saved_cbs[key])
        self.epoch = int(state["epoch"])
        self.global_step = int(state.get("global_step", 0))
        self.batch_in_epoch = int(state.get("batch_in_epoch") or 0)
        self._epoch_metrics = None
        if self.batch_in_epoch and state.get("epoch_metrics"):
            self._epoch_metrics = RunningMetrics(self.top_k)
            sums = state["epoch_metrics"]
            m = self._epoch_metrics
            m.count, m.loss_sum, m.correct = (
                int(sums["count"]),
                float(sums["loss_sum"]),
                int(sums["correct"]),
            )
            m.correct_k = {int(k): int(v) for k, v in sums["correct_k"].items()}
        self.stop_training = bool(state.get("stop_training", False))
        if "rng" in state:
            self._pending_rng = state["rng"]
            if self.train_loader is not None:
                ckpt.set_rng_state(self._pending_rng, self.model, self._loaders(), self.generators)
                self._pending_rng = None

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write ``state_dict()`` to ``path`` atomically (safetensors + JSON)."""
        return ckpt.save_checkpoint(path, self.state_dict())

    def load_checkpoint(self, path: str | os.PathLike) -> dict:
        """Read a checkpoint and restore it (``load_state_dict``); returns the raw state."""
        state = ckpt.load_checkpoint(path)
        try:
            self.load_state_dict(state)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"resuming from {path}: {exc}") from None
        return state


def _metric_sums(m: RunningMetrics | None) -> dict | None:
    """An epoch's running sums, for a checkpoint taken inside it."""
    if m is None:
        return None
    return {
        "count": m.count,
        "loss_sum": m.loss_sum,
        "correct": m.correct,
        "correct_k": {str(k): v for k, v in m.correct_k.items()},
    }


def fit(
    model: Any,
    train_loader: Iterable,
    optimizer: Any = None,
    epochs: int = 1,
    val_loader: Iterable | None = None,
    **kwargs: Any,
) -> History:
    """Train in one call: ``Trainer(model, optimizer, **kwargs).fit(train_loader,
    val_loader, epochs)``. Without an optimiser, Adam with lr 1e-3."""
    if optimizer is None:
        from ..optim import Adam

        optimizer = Adam(model.parameters(), lr=1e-3)
    resume = kwargs.pop("resume", None)
    return Trainer(model, optimizer, **kwargs).fit(train_loader, val_loader, epochs, resume=resume)
