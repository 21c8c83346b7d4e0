"""Classification metrics on NumPy arrays: accuracy, top-k accuracy, confusion matrix,
per-class accuracy, and ``RunningMetrics``, which accumulates them over the batches of an
epoch without keeping the predictions.

Every function takes logits or probabilities ``(N, C)`` (anything whose arg-max is the
predicted class) or, where it says so, predicted class indices ``(N,)``, and integer
targets ``(N,)``. Tensors are accepted too (their ``.data`` is used).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..autograd import Tensor, host_array
from ..device import array_module, to_numpy

__all__ = [
    "accuracy",
    "top_k_accuracy",
    "top_k_correct",
    "confusion_matrix",
    "per_class_accuracy",
    "RunningMetrics",
    "DeviceMetrics",
    "format_confusion",
]


# scores, targets, predictions: a Tensor or anything np.asarray takes
Values = Tensor | ArrayLike


def _array(x: Values, name: str, where: str) -> np.ndarray:
    a = host_array(x)
    if a.dtype == object:
        raise TypeError(f"{where}: {name} must be numeric, got dtype object")
    return a


def _check(scores: np.ndarray, targets: np.ndarray, where: str) -> None:
    if scores.ndim != 2:
        raise ValueError(f"{where}: expected scores of shape (N, C), got {scores.shape}")
    if targets.shape != (scores.shape[0],):
        raise ValueError(
            f"{where}: targets of shape {targets.shape} do not match scores of "
            f"shape {scores.shape} (expected ({scores.shape[0]},))"
        )


def top_k_correct(scores: Values, targets: Values, k: int = 1) -> int:
    """How many rows of ``scores`` have their target among the ``k`` largest entries.

    Parameters
    ----------
    targets : array-like
        True class indices (N,).
    """
    where = "top_k_correct"
    scores, targets = _array(scores, "scores", where), _array(targets, "targets", where)
    _check(scores, targets, where)
    c = scores.shape[1]
    if not 1 <= k <= c:
        raise ValueError(f"{where}: k must be in [1, {c}] for {c} classes, got {k}")
    if k == 1:
        return int(np.count_nonzero(scores.argmax(axis=1) == targets))
    # argpartition finds the k largest in O(C) per row without sorting them
    top = np.argpartition(scores, c - k, axis=1)[:, c - k :]
    return int(np.count_nonzero((top == targets[:, None]).any(axis=1)))


def accuracy(scores: Values, targets: Values) -> float:
    """Fraction of rows whose arg-max is the target (0.0 for an empty batch).

    ``scores`` may also be predicted class indices ``(N,)``.

    Parameters
    ----------
    targets : array-like
        True class indices (N,).
    """
    where = "accuracy"
    s, t = _array(scores, "scores", where), _array(targets, "targets", where)
    if s.ndim == 1:
        if s.shape != t.shape:
            raise ValueError(
                f"{where}: predictions {s.shape} and targets {t.shape} differ in shape"
            )
        return float(np.mean(s == t)) if s.size else 0.0
    _check(s, t, where)
    return top_k_correct(s, t, 1) / len(t) if len(t) else 0.0


def top_k_accuracy(scores: Values, targets: Values, k: int = 5) -> float:
    """Fraction of rows whose target is among the ``k`` highest scores.

    Parameters
    ----------
    targets : array-like
        True class indices (N,).
    """
    t = _array(targets, "targets", "top_k_accuracy")
    return top_k_correct(scores, t, k) / len(t) if len(t) else 0.0


def confusion_matrix(
    predictions: Values, targets: Values, num_classes: int | None = None
) -> np.ndarray:
    """``M[i, j]`` = how many samples of true class ``i`` were predicted as ``j`` (int64).

    ``predictions`` are class indices ``(N,)`` or scores ``(N, C)`` (then their arg-max, and
    ``num_classes`` defaults to ``C``).

    Parameters
    ----------
    targets : array-like
        True class indices (N,).
    """
    where = "confusion_matrix"
    p, t = _array(predictions, "predictions", where), _array(targets, "targets", where)
    if p.ndim == 2:
        _check(p, t, where)
        num_classes = num_classes or p.shape[1]
        p = p.argmax(axis=1)
    elif p.shape != t.shape:
        raise ValueError(f"{where}: predictions {p.shape} and targets {t.shape} differ in shape")
    if num_classes is None:
        num_classes = int(max(p.max(initial=-1), t.max(initial=-1))) + 1
    p, t = p.astype(np.int64), t.astype(np.int64)
    for name, a in (("predictions", p), ("targets", t)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(
                f"{where}: {name} range over [{a.min()}, {a.max()}], outside [0, {num_classes - 1}]"
            )
    # one bincount over the flattened (true, predicted) pair index
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix: ``M[i, i] / sum_j M[i, j]`` (NaN for a
    class with no samples).

    Parameters
    ----------
    cm : ndarray
        Confusion matrix (C, C): rows are true classes, columns predicted ones.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"per_class_accuracy: expected a square confusion matrix, got {cm.shape}")
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


class RunningMetrics:
    """Sums over the batches of an epoch: mean loss, accuracy, top-k accuracies and
    (optionally) the confusion matrix.

    >>> m = RunningMetrics(top_k=(5,))
    >>> m.update(loss=0.7, scores=logits, targets=labels)     # doctest: +SKIP
    >>> m.compute()                                           # doctest: +SKIP
    {'loss': 0.7, 'accuracy': 0.81, 'top5': 0.99}

    Parameters
    ----------
    num_classes : int or None
        Number of classes for the confusion matrix (from the data when None).
    """

    def __init__(
        self, top_k: Sequence[int] = (), num_classes: int | None = None, confusion: bool = False
    ):
        self.top_k = tuple(int(k) for k in top_k if int(k) != 1)
        self.num_classes = num_classes
        self.confusion = confusion
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.loss_sum = 0.0
        self.correct = 0
        self.correct_k = {k: 0 for k in self.top_k}
        self.matrix: np.ndarray | None = None

    def update(self, loss: float | None, scores: Values, targets: Values) -> None:
        """Add one batch: its *mean* loss (weighted by the batch size), scores and targets."""
        s = _array(scores, "scores", "RunningMetrics.update")
        t = _array(targets, "targets", "RunningMetrics.update")
        n = len(t)
        self.count += n
        if loss is not None:
            self.loss_sum += float(loss) * n
        self.correct += top_k_correct(s, t, 1)
        for k in self.top_k:
            if k <= s.shape[1]:
                self.correct_k[k] += top_k_correct(s, t, k)
        if self.confusion:
            cm = confusion_matrix(s, t, self.num_classes or s.shape[1])
            self.matrix = cm if self.matrix is None else self.matrix + cm

    @property
    def loss(self) -> float:
        return self.loss_sum / self.count if self.count else float("nan")

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else float("nan")

    def compute(self) -> dict[str, float | np.ndarray]:
        """``{"loss", "accuracy", "top<k>"...}`` (and ``"confusion_matrix"``,
        ``"per_class_accuracy"`` when asked for)."""
        out: dict[str, float | np.ndarray] = {"loss": self.loss, "accuracy": self.accuracy}
        for k in self.top_k:
            out[f"top{k}"] = self.correct_k[k] / self.count if self.count else float("nan")
        if self.confusion and self.matrix is not None:
            out["confusion_matrix"] = self.matrix
            out["per_class_accuracy"] = per_class_accuracy(self.matrix)
        return out


class DeviceMetrics:
    """`RunningMetrics`' sums kept on the device that computes the outputs, so that a
    training step reads nothing back: `update` adds a batch with a few device kernels,
    `flush` copies the sums to the host (one transfer) and adds them into a
    `RunningMetrics`. The Trainer flushes every few steps and at the end of an epoch.

    Parameters
    ----------
    metrics : RunningMetrics
        Where `flush` adds the sums (its top-k list and confusion setting are used).
    """

    def __init__(self, metrics: RunningMetrics) -> None:
        self.metrics = metrics
        self._sums: Any = None  # [loss·n, correct, correct@k...] since the last flush
        self._matrix: Any = None
        self._count = 0

    def update(
        self, loss: Any, scores: Any = None, targets: Any = None, count: int | None = None
    ) -> None:
        """Add one batch: its mean loss (a 0-d device array, or None), scores (N, C) and
        integer targets (N,), all on one device; without scores (not a classifier), the
        loss of `count` samples only."""
        if scores is None:
            if loss is None or count is None:
                raise ValueError("DeviceMetrics.update: give scores and targets, or count")
            n, c, xp = count, 0, array_module(loss)
        else:
            n, c, xp = targets.shape[0], scores.shape[1], array_module(scores)
        zero = xp.zeros((), np.float64)
        parts = [zero if loss is None else (loss * n).astype(np.float64)]
        parts.append(
            zero
            if scores is None
            else xp.count_nonzero(scores.argmax(axis=1) == targets).astype(np.float64)
        )
        for k in self.metrics.top_k:
            if scores is not None and k <= c:
                top = xp.argpartition(scores, c - k, axis=1)[:, c - k :]
                hit = (top == targets[:, None]).any(axis=1)
                parts.append(xp.count_nonzero(hit).astype(np.float64))
            else:
                parts.append(zero)
        batch = xp.stack(parts)
        self._sums = batch if self._sums is None else self._sums + batch
        if self.metrics.confusion and scores is not None:
            classes = self.metrics.num_classes or c
            codes = targets.astype(np.int64) * classes + scores.argmax(axis=1)
            cm = xp.bincount(codes, minlength=classes * classes).reshape(classes, classes)
            self._matrix = cm if self._matrix is None else self._matrix + cm
        self._count += n

    def flush(self, check_finite: bool = True) -> None:
        """Read the sums back (one device-to-host copy each) and add them into `metrics`.

        Parameters
        ----------
        check_finite : bool
            Raise FloatingPointError when the loss summed since the last flush is NaN or
            infinite (training stops there).
        """
        if self._sums is None:
            return
        sums = to_numpy(self._sums)
        m = self.metrics
        if check_finite and not np.isfinite(sums[0]):
            raise FloatingPointError(f"the loss became {sums[0] / max(self._count, 1)}")
        m.count += self._count
        m.loss_sum += float(sums[0])
        m.correct += int(sums[1])
        for i, k in enumerate(m.top_k):
            m.correct_k[k] += int(sums[2 + i])
        if self._matrix is not None:
            cm = to_numpy(self._matrix).astype(np.int64)
            m.matrix = cm if m.matrix is None else m.matrix + cm
        self._sums, self._matrix, self._count = None, None, 0


def format_confusion(cm: np.ndarray, classes: Iterable[str] | None = None) -> str:
    """A text table of a confusion matrix, rows true classes, columns predictions.

    Parameters
    ----------
    cm : ndarray
        Confusion matrix (C, C): rows are true classes, columns predicted ones.
    """
    cm = np.asarray(cm)
    n = cm.shape[0]
    names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(n)]
    short = [f"{i}" for i in range(n)]
    width = max(len(str(int(cm.max(initial=0)))), max(len(s) for s in short)) + 1
    label_w = max(len(f"{i} {nm}") for i, nm in enumerate(names))
    lines = [" " * (label_w + 2) + "".join(s.rjust(width) for s in short) + "   (predicted)"]
    for i in range(n):
        lines.append(
            f"{i} {names[i]}".ljust(label_w)
            + "  "
            + "".join(str(int(v)).rjust(width) for v in cm[i])
        )
    return "\n".join(lines)
