"""Ensembles: several trained models voting as one, and snapshot ensembles from one run.

The notes' recipe for the last points of accuracy is to train several models and combine
their predictions. Three ways of combining the members' class probabilities
``p_i = softmax(z_i)`` with weights ``w_i`` (normalised to sum to 1):

``average``    p = Σ w_i p_i                          (averaging of probabilities)
``geometric``  p ∝ Π p_i^w_i = softmax(Σ w_i log p_i)  (a product of experts)
``vote``       p = fraction of the (weighted) votes argmax p_i each class received
               (majority vote; ties go to the class with the larger average probability)

``Ensemble(models, method, weights)`` is a ``Module`` whose output is the log of the
combined probabilities, so ``argmax`` of it is the ensemble's prediction and
``cross_entropy`` of it its negative log-likelihood. ``SnapshotEnsemble`` is a ``Trainer``
callback that collects the members along one run instead (Huang et al. 2017, "Snapshot
ensembles: train 1, get M for free"): the learning rate follows M cycles of cosine annealing
with warm restarts, and the model is saved at the end of each cycle, where the rate is near
zero and the model sits in a minimum.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .autograd import Tensor, host_array, no_grad
from .functional.stable import stable_log_softmax
from .nn.containers import ModuleList
from .nn.module import Module
from .train.callbacks import Callback

__all__ = ["Ensemble", "SnapshotEnsemble", "METHODS", "combine", "evaluate_outputs", "snapshot_lr"]

METHODS = ("average", "vote", "geometric")

Weights = Sequence[float] | np.ndarray | None

# Share of the averaged probabilities mixed into a vote: it orders tied classes and keeps
# every log-probability finite, while never overturning a difference in votes.
_VOTE_TIE_BREAK = 1e-6


def _check_method(method: str, where: str) -> str:
    if method not in METHODS:
        raise ValueError(f"{where}: unknown method {method!r}; choose from {', '.join(METHODS)}")
    return method


def _normalised_weights(weights: Weights, n: int, where: str) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(
            f"{where}: {n} members need {n} weights, got {w.size} ({list(np.ravel(w))})"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            f"{where}: weights must be finite, non-negative and not all zero, got {w.tolist()}"
        )
    return w / w.sum()


def combine(outputs: Sequence[Any], method: str = "average", weights: Weights = None) -> np.ndarray:
    """The ensemble's log-probabilities ``(N, C)`` from its members' outputs.

    Parameters
    ----------
    outputs : sequence of arrays or Tensors
        Each member's logits (or log-probabilities) for the same ``N`` examples, ``(N, C)``.
    method : {"average", "vote", "geometric"}
        How to combine them (see the module docstring).
    weights : sequence of float, optional
        One non-negative weight per member (normalised to sum to 1); equal by default.
    """
    where = "ensemble.combine"
    _check_method(method, where)
    arrays = [host_array(o).astype(np.float64, copy=False) for o in outputs]
    if not arrays:
        raise ValueError(f"{where}: no member outputs to combine")
    for i, a in enumerate(arrays):
        if a.ndim != 2:
            raise ValueError(
                f"{where}: member {i} gave outputs of shape {a.shape}; expected class scores (N, C)"
            )
        if a.shape != arrays[0].shape:
            raise ValueError(
                f"{where}: member {i} gave outputs of shape {a.shape} but member "
                f"0 gave {arrays[0].shape}; members must predict the same classes"
            )
    w = _normalised_weights(weights, len(arrays), where)
    logp = [stable_log_softmax(a) for a in arrays]
    if method == "geometric":
        return stable_log_softmax(sum(wi * lp for wi, lp in zip(w, logp, strict=True)))
    average = sum(wi * np.exp(lp) for wi, lp in zip(w, logp, strict=True))
    if method == "average":
        return np.log(average)
    votes = np.zeros_like(average)
    rows = np.arange(len(average))
    for wi, lp in zip(w, logp, strict=True):
        np.add.at(votes, (rows, lp.argmax(axis=1)), wi)
    return np.log((1 - _VOTE_TIE_BREAK) * votes + _VOTE_TIE_BREAK * average)


def evaluate_outputs(
    outputs: Sequence[Any],
    targets: Any,
    methods: Sequence[str] = ("average",),
    weights: Weights = None,
) -> dict:
    """Accuracy and loss of each member and of the ensemble under each of ``methods``.

    Returns ``{"members": [{"accuracy", "loss"}, ...], method: {"accuracy", "loss"}, ...}``;
    the loss is the mean negative log-likelihood of the targets (``None`` for a vote, whose
    fractions of votes are no likelihood).

    Parameters
    ----------
    outputs : sequence of array-like
        Each member's outputs (N, classes) on the same samples.
    targets : array-like
        True class indices (N,).
    methods : sequence of str
        Ways of combining the members to evaluate ('average', 'vote', 'geometric').
    weights : sequence of float or None
        Weight of each member in the combination (equal when None).
    """
    y = host_array(targets).astype(np.int64).ravel()

    def scores(logp: np.ndarray) -> dict:
        if logp.shape[0] != len(y):
            raise ValueError(
                f"ensemble.evaluate_outputs: {logp.shape[0]} predictions for {len(y)} targets"
            )
        return {
            "accuracy": float(np.mean(logp.argmax(axis=1) == y)) if len(y) else math.nan,
            "loss": float(-logp[np.arange(len(y)), y].mean()) if len(y) else math.nan,
        }

    result: dict = {
        "members": [
            scores(stable_log_softmax(host_array(o).astype(np.float64, copy=False)))
            for o in outputs
        ]
    }
    for method in methods:
        r = scores(combine(outputs, method, weights))
        if method == "vote":
            r["loss"] = None
        result[method] = r
    return result


def _output_size(model: Module) -> int | None:
    """The number of outputs of a classifier's last linear layer, when it has one."""
    last = None
    for m in model.modules():
        if hasattr(m, "out_features"):
            last = m
    return int(last.out_features) if last is not None else None


class Ensemble(Module):
    """Several models predicting as one.

    Parameters
    ----------
    models : sequence of Module
        The members: classifiers that take the same input and give scores ``(N, C)`` for
        the same ``C`` classes. They are registered as submodules (``members``), so
        ``state_dict``, ``eval`` and ``parameters`` cover all of them.
    method : {"average", "vote", "geometric"}, default "average"
        How their probabilities are combined (see ``strided.ensemble``).
    weights : sequence of float, optional
        One non-negative weight per member (normalised to sum to 1); equal by default.

    Notes
    -----
    Calling the ensemble returns the log of the combined probabilities ``(N, C)``: its
    ``argmax`` is the prediction, and ``cross_entropy`` of it the ensemble's negative
    log-likelihood. The combination is not differentiable (train the members, then
    combine them).
    """

    def __init__(
        self,
        models: Iterable[Module],
        method: str = "average",
        weights: Weights = None,
    ):
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("Ensemble: needs at least one model, got none")
        for i, m in enumerate(models):
            if not isinstance(m, Module):
                raise TypeError(
                    f"Ensemble: member {i} must be a strided Module, got {type(m).__name__}"
                )
        sizes = [_output_size(m) for m in models]
        known = [(i, s) for i, s in enumerate(sizes) if s is not None]
        for i, s in known[1:]:
            if s != known[0][1]:
                j, s0 = known[0]
                raise ValueError(
                    f"Ensemble: member {i} ({type(models[i]).__name__}) has {s} "
                    f"outputs but member {j} ({type(models[j]).__name__}) has "
                    f"{s0}; members must predict the same classes"
                )
        self.members = ModuleList(models)
        self.method = _check_method(method, "Ensemble")
        self.weights = _normalised_weights(weights, len(models), "Ensemble")

    def member_outputs(self, x: Any) -> list[np.ndarray]:
        """Each member's output on the batch ``x``, as arrays (under ``no_grad``)."""
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        with no_grad():  # each member on its own device; the outputs come back as host arrays
            return [host_array(m(x.to(m.device))) for m in self.members]

    def forward(self, x: Any) -> Tensor:
        """The log of the combined probabilities ``(N, C)`` of the batch ``x``."""
        outs = self.member_outputs(x)
        dtype = outs[0].dtype if outs[0].dtype.kind == "f" else np.float32
        combined = combine(outs, self.method, self.weights).astype(dtype, copy=False)
        return Tensor(combined, device=self.device)

    def _batches(self, x: Any, batch_size: int) -> Iterable[list[np.ndarray]]:
        x = host_array(x)
        was_training = self.training
        self.eval()
        try:
            for i in range(0, len(x), batch_size):
                yield self.member_outputs(x[i : i + batch_size])
        finally:
            self.train(was_training)

    def predict_proba(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The combined class probabilities ``(N, C)`` of the inputs ``x`` (eval mode)."""
        parts = [
            np.exp(combine(outs, self.method, self.weights))
            for outs in self._batches(x, batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 0))

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The predicted class of each input ``(N,)`` (eval mode)."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def evaluate(self, loader: Iterable, methods: Sequence[str] | None = None) -> dict:
        """Accuracy and loss of the ensemble and of each member on ``loader``'s batches
        ``(inputs, targets)``, in one pass (eval mode, ``no_grad``).

        Returns ``{"accuracy", "loss", "members": [...]}`` for the ensemble's own method,
        plus an entry per method named in ``methods`` (e.g. ``("average", "vote")``).
        """
        methods = tuple(methods or ())
        for m in methods:
            _check_method(m, "Ensemble.evaluate")
        outputs: list[list[np.ndarray]] = [[] for _ in self.members]
        targets = []
        was_training = self.training
        self.eval()
        try:
            for batch in loader:
                for acc, out in zip(outputs, self.member_outputs(batch[0]), strict=True):
                    acc.append(out)
                targets.append(host_array(batch[1]))
        finally:
            self.train(was_training)
        if not targets:
            raise ValueError("Ensemble.evaluate: the loader gave no batches")
        wanted = tuple(dict.fromkeys((self.method, *methods)))
        r = evaluate_outputs(
            [np.concatenate(o) for o in outputs], np.concatenate(targets), wanted, self.weights
        )
        return {**r[self.method], **r}

    def summary(self) -> str:
        """A table of the members: class, parameters, outputs and weight."""
        rows = [
            (
                str(i),
                type(m).__name__,
                f"{m.num_parameters():,}",
                str(_output_size(m) or "?"),
                f"{w:.3f}",
            )
            for i, (m, w) in enumerate(zip(self.members, self.weights, strict=True))
        ]
        head = ("member", "model", "parameters", "outputs", "weight")
        total = ("total", f"{self.method}", f"{self.num_parameters():,}", "", "1.000")
        widths = [max(len(r[k]) for r in (head, total, *rows)) for k in range(5)]

        def line(r: Sequence[str]) -> str:
            return "  ".join(
                c.ljust(wd) if k < 2 else c.rjust(wd)
                for k, (c, wd) in enumerate(zip(r, widths, strict=True))
            )

        rule = "-" * len(line(head))
        return "\n".join([line(head), rule, *map(line, rows), rule, line(total)])

    def extra_repr(self) -> str:
        """The method and the normalised weights, for ``repr``."""
        return f"method={self.method!r}, weights={np.round(self.weights, 4).tolist()}"

    @classmethod
    def from_files(
        cls,
        paths: Sequence[str | os.PathLike],
        model_fn: Callable[[], Module],
        method: str = "average",
        weights: Weights = None,
    ) -> Ensemble:
        """An ensemble of ``model_fn()`` models with the weights of the files ``paths``
        (written by ``save_model``, e.g. a ``SnapshotEnsemble``'s snapshots)."""
        from .io import load_model

        members = []
        for p in paths:
            m = model_fn()
            load_model(p, m)
            members.append(m.eval())
        return cls(members, method, weights)


def snapshot_lr(base_lr: float, step: int, total_steps: int, cycles: int) -> float:
    """The learning rate of optimiser step ``step`` (1-based) of a snapshot ensemble.

    Huang et al. 2017, eq. (2): α(t) = α0/2 · (cos(π · mod(t−1, ⌈T/M⌉) / ⌈T/M⌉) + 1).

    Parameters
    ----------
    base_lr : float
        α0: the learning rate at the start of each cycle.
    step : int
        t: the optimiser step, counted from 1.
    total_steps : int
        T: the optimiser steps of the whole run.
    cycles : int
        M: the number of cycles (snapshots).
    """
    length = math.ceil(total_steps / cycles)
    return base_lr / 2 * (math.cos(math.pi * ((step - 1) % length) / length) + 1)


class SnapshotEnsemble(Callback):
    """Cosine annealing with warm restarts, saving a snapshot at the end of each cycle.

    The ``T`` optimiser steps of the run (epochs × batches per epoch) are split into
    ``cycles`` cycles of ``⌈T/M⌉`` steps; within each, the learning rate falls from the
    optimiser's initial rate to near zero along a half cosine (``snapshot_lr``), then
    restarts. At the end of cycle ``k`` the model is written to
    ``directory/snapshot-k.safetensors`` (``save_model``, with the trainer's ``config``, so
    ``strided evaluate`` and ``strided ensemble`` read it like a run). Combine the
    snapshots with ``Ensemble.from_files(callback.snapshots, ...)``.

    Parameters
    ----------
    directory : path
        Where the snapshots go.
    cycles : int
        The number of cycles M, and so of snapshots.

    Notes
    -----
    The callback sets the learning rate itself: give the ``Trainer`` no scheduler. It keeps
    the initial rates and the snapshots written in checkpoints, so a resumed run follows
    the same schedule.
    """

    order = 40  # before the checkpoint (100) records our state

    def __init__(self, directory: str | os.PathLike, cycles: int):
        if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1:
            raise ValueError(f"SnapshotEnsemble: cycles must be a positive int, got {cycles!r}")
        self.directory = Path(directory)
        self.cycles = cycles
        self.base_lrs: list[float] | None = None
        self.snapshots: list[Path] = []
        self._total_steps = 0

    def on_train_begin(self, trainer: Any) -> None:
        """Plan the cycles over the run's steps and set the first step's rate."""
        if trainer.scheduler is not None:
            raise ValueError(
                f"SnapshotEnsemble: the trainer already has a schedule "
                f"({type(trainer.scheduler).__name__}); the snapshot ensemble "
                "sets the learning rate itself, so give the Trainer none"
            )
        try:
            per_epoch = len(trainer.train_loader)
        except TypeError:
            raise ValueError(
                "SnapshotEnsemble: the training loader has no len(), so the "
                "length of the cycles is unknown"
            ) from None
        total = trainer.total_epochs * per_epoch
        if self._total_steps and total != self._total_steps:
            raise ValueError(
                f"SnapshotEnsemble: the cycles of this run were planned for "
                f"{self._total_steps} steps; it now has {total} (resume it with "
                "the epochs it started with)"
            )
        self._total_steps = total
        if self._total_steps < self.cycles:
            raise ValueError(
                f"SnapshotEnsemble: {self.cycles} cycles need at least as many "
                f"steps; this run has {self._total_steps}"
            )
        if self.base_lrs is None:
            self.base_lrs = [float(g["lr"]) for g in trainer.optimizer.param_groups]
        self._set_lr(trainer, trainer.global_step + 1)

    def _set_lr(self, trainer: Any, step: int) -> None:
        for g, base in zip(trainer.optimizer.param_groups, self.base_lrs or [], strict=True):
            g["lr"] = snapshot_lr(
                base, min(step, self._total_steps), self._total_steps, self.cycles
            )

    def on_batch_end(self, trainer: Any, logs: dict) -> None:
        """Save a snapshot at the end of a cycle; set the next step's rate."""
        step = int(logs["step"])
        length = math.ceil(self._total_steps / self.cycles)
        if step % length == 0 or step == self._total_steps:
            self._save(trainer, len(self.snapshots) + 1, step, int(logs["epoch"]))
        self._set_lr(trainer, step + 1)

    def _save(self, trainer: Any, k: int, step: int, epoch: int) -> None:
        from .io import save_model

        path = self.directory / f"snapshot-{k}.safetensors"
        save_model(
            path,
            trainer.model,
            {"config": trainer.config, "snapshot": k, "step": step, "epoch": epoch},
        )
        self.snapshots.append(path)
        trainer.log(f"snapshot ensemble: saved snapshot {k}/{self.cycles} (step {step}) to {path}")

    def state_dict(self) -> dict:
        """The initial rates, the planned steps and the snapshots written so far."""
        return {
            "base_lrs": self.base_lrs,
            "total_steps": self._total_steps,
            "snapshots": [str(p) for p in self.snapshots],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` (when a run resumes)."""
        lrs = state.get("base_lrs")
        self.base_lrs = [float(v) for v in lrs] if lrs is not None else None
        self._total_steps = int(state.get("total_steps", 0))
        self.snapshots = [Path(p) for p in state.get("snapshots", [])]
