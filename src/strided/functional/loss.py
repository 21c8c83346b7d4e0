"""Loss functions, each a fused Function: the forward computes the per-element loss and the
reduction in one pass over raw arrays, and the backward is the closed-form derivative.

Names and arguments follow `torch.nn.functional`; `reduction` is "none", "mean" or "sum"
everywhere (plus "batchmean" for `kl_div`). Classes sit on dimension 1: logits are
(N, C) or (N, C, d1, d2, ...) with targets (N,) or (N, d1, d2, ...).

Stability: log-probabilities come from the log-sum-exp with the maximum subtracted, and the
logit forms of binary cross-entropy use log(1 + e^{−|x|}), so logits of ±1000 give finite
losses and gradients.

Devices: every loss runs on its input's device with that device's array module. Checks of
values (class indices in range, probabilities in [0, 1]) would wait for a device, so they
are made on the CPU only; on a device an out-of-range class index gives a NaN loss (and NaN
gradients) instead of an error, and a probability outside [0, 1] a NaN loss, as the log
of a negative number does. Shapes and dtypes are checked everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..backend import is_floating
from ..device import array_module, move
from ..kernels import loss as compiled_ce
from .shape import reshape
from .stable import stable_log_softmax, stable_sigmoid, stable_softplus

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "squared_error_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
]

_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _check_reduction(name: str, reduction: str, allowed: tuple[str, ...] = _REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")


def _tensor(name: str, arg: str, x: Tensor, like: Tensor | None = None) -> Tensor:
    """`x` as a Tensor; data that is not a Tensor (targets given as arrays or lists) goes
    to the device of `like` (the input), or to the default device."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, np.number)):
        return Tensor(np.asarray(x), device=None if like is None else like.device)
    raise TypeError(f"{name}: {arg} must be a Tensor or array, got {type(x).__name__}")


def _float_like(name: str, arg: str, x: Tensor, like: Tensor) -> Tensor:
    """`x` as a Tensor of `like`'s floating dtype (targets given as int arrays or lists)."""
    t = _tensor(name, arg, x, like)
    if t.dtype != like.dtype:
        if t.requires_grad:
            raise TypeError(f"{name}: {arg} has dtype {t.dtype}, input has {like.dtype}")
        t = Tensor(t.data.astype(like.dtype))
    return t


def _same_shape(name: str, a: Tensor, b: Tensor, what: str = "target") -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name}: {what} shape {b.shape} does not match input shape {a.shape} "
            "(broadcasting here is almost always a bug; reshape one of them)"
        )


def _scalar(total: Any, dtype: np.dtype) -> np.ndarray:
    """A reduction's result as a 0-d array of `dtype` on its own device (NumPy's sums give
    scalars, CuPy's 0-d arrays)."""
    return array_module(total).asarray(total, dtype=dtype)


def _on_device_of(v: Tensor | np.ndarray, x: Tensor) -> np.ndarray:
    """The array of `v`: a Tensor's own (a Tensor on another device is refused by the op),
    other data put on x's device."""
    return v.data if isinstance(v, Tensor) else move(np.asarray(v), x.device)


def _difference_grads(
    needs: tuple[bool, ...], ga: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Gradients of a loss of (a − b) given ∂/∂a: ∂/∂b is its negative."""
    return (ga if needs[0] else None, -ga if needs[1] else None)


class _PointwiseLoss(Function):
    """Base of the losses whose per-element loss has the inputs' shape.

    Subclasses implement `pointwise(*arrays) -> loss array` (saving what they need) and
    `grads(gl) -> tuple of input gradients`, given gl = dL/d(loss element).
    """

    reduction: str

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        loss = self.pointwise(*arrays)
        self.loss_shape, self.loss_dtype = loss.shape, loss.dtype
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return _scalar(loss.sum(), loss.dtype)
        if self.reduction == "batchmean":
            return _scalar(loss.sum() / max(loss.shape[0] if loss.ndim else 1, 1), loss.dtype)
        return _scalar(loss.mean(), loss.dtype)

    def backward(self, g: np.ndarray) -> Grads:
        if self.reduction == "none":
            gl = g
        else:
            n = {
                "sum": 1,
                "mean": max(int(np.prod(self.loss_shape)), 1),
                "batchmean": max(self.loss_shape[0] if self.loss_shape else 1, 1),
            }[self.reduction]
            gl = array_module(g).broadcast_to(_scalar(g / n, self.loss_dtype), self.loss_shape)
        return self.grads(gl)

    def pointwise(self, *arrays: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def grads(self, gl: np.ndarray) -> Grads:  # pragma: no cover - abstract
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# cross-entropy and negative log-likelihood
# ---------------------------------------------------------------------------------------


def _class_targets(
    name: str, x: np.ndarray, target: np.ndarray, ignore_index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate index targets against (N, C, ...) scores; return (target, valid mask, the
    out-of-range mask). On the CPU an out-of-range target raises (the mask is then None);
    on a device it is not looked at, which would wait for the device: the losses make
    those samples NaN instead."""
    expected = (x.shape[0],) + x.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{name}: target shape {target.shape} does not match input shape {x.shape} "
            f"(expected class indices of shape {expected})"
        )
    valid = target != ignore_index
    n_classes = x.shape[1]
    bad = valid & ((target < 0) | (target >= n_classes))
    if type(bad) is not np.ndarray:
        return target, valid & ~bad, bad
    if bad.any():
        raise ValueError(
            f"{name}: target {int(target[bad].flat[0])} is out of bounds for {n_classes} "
            f"classes (input shape {x.shape}; ignore_index={ignore_index})"
        )
    return target, valid, None


def _target_weights(
    tgt: np.ndarray,
    weight: np.ndarray | None,
    valid: np.ndarray,
    bad: np.ndarray | None,
    dtype: np.dtype,
) -> np.ndarray:
    """w[y_i] for the valid samples, 0 for the ignored ones, NaN for out-of-range ones (a
    device's unchecked targets: the NaN reaches the loss and the gradients)."""
    xp = array_module(tgt)
    wy = (xp.ones(tgt.shape, dtype) if weight is None else weight[tgt]) * valid
    return wy if bad is None else xp.where(bad, np.dtype(dtype).type(np.nan), wy)


def _class_weight(name: str, weight: Tensor | None, x: Tensor) -> np.ndarray | None:
    """The (C,) class weights as an array of the input's dtype, or None."""
    if weight is None:
        return None
    C = x.shape[1]
    w = _on_device_of(weight, x).astype(x.dtype, copy=False)
    if w.shape != (C,):
        raise ValueError(f"{name}: weight must have shape ({C},) for {C} classes, got {w.shape}")
    return w


def _gather(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[n, idx[n, ...], ...] along axis 1."""
    return array_module(a).take_along_axis(a, idx[:, None], axis=1)[:, 0]


def _weight_shape(ndim: int) -> tuple:
    return (1, -1) + (1,) * (ndim - 2)


class CrossEntropyIndex(Function):
    """Cross-entropy from logits with class-index targets, class weights, ignore_index and
    label smoothing, in torch's exact form:

        l_i = (1−ε)·(−w[y_i]·log p_i[y_i]) + (ε/C)·(−Σ_c w_c·log p_i[c]),  0 if ignored,
        mean = Σ_i l_i / Σ_{i not ignored} w[y_i].

    Every l_i is −Σ_c q_ic log p_ic for the per-sample target weights q, so
    ∂l_i/∂z_ic = p_ic·Σ_c q_ic − q_ic.
    """

    def forward(self, x: np.ndarray, target: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
        C = x.shape[1]
        xp = array_module(x)
        tgt = xp.where(self.valid, target, 0)
        if compiled_ce.applies(x, tgt, self.valid, weight):
            self.logp, loss, self.wy = compiled_ce.cross_entropy_forward(
                x, tgt, self.valid, weight, self.label_smoothing
            )
            self.tgt, self.w, self.compiled = tgt, weight, True
            return self._reduce(loss, x.dtype)
        self.compiled = False
        logp = stable_log_softmax(x, axis=1)
        eps = self.label_smoothing
        w = None if weight is None else weight.reshape(_weight_shape(x.ndim))
        # the nll part: (1−ε)·w[y]·(−log p[y])
        picked = -_gather(logp, tgt)
        wy = _target_weights(tgt, weight, self.valid, self.bad, x.dtype)
        loss = (1 - eps) * wy * picked
        if eps > 0:
            smooth = -(logp if w is None else logp * w).sum(axis=1)
            loss = loss + (eps / C) * smooth * self.valid
        self.logp, self.tgt, self.wy, self.w = logp, tgt, wy, w
        return self._reduce(loss, x.dtype)

    def _reduce(self, loss: np.ndarray, dtype: np.dtype) -> np.ndarray:
        red = self.reduction
        if red == "none":
            return loss.astype(dtype, copy=False)
        total = loss.sum()
        if red == "mean":
            self.denom = self.wy.sum()
            total = total / self.denom  # 0/0 = nan when every target is ignored, as torch
        return _scalar(total, dtype)

    def backward(self, g: np.ndarray) -> Grads:
        if not self.needs_input_grad[0]:
            return None, None, None
        if self.compiled:
            scale = g / self.denom if self.reduction == "mean" else g
            return (
                compiled_ce.cross_entropy_backward(
                    self.logp, self.tgt, self.valid, self.wy, self.w, self.label_smoothing, scale
                ),
                None,
                None,
            )
        logp, tgt, eps = self.logp, self.tgt, self.label_smoothing
        xp = array_module(logp)
        C = logp.shape[1]
        valid = self.valid
        # q = (1−ε)·w[y]·onehot(y) + (ε/C)·w   (zero rows where ignored)
        p = xp.exp(logp)
        if eps > 0:
            w = xp.ones((1, C) + (1,) * (logp.ndim - 2), logp.dtype) if self.w is None else self.w
            q = ((eps / C) * w * valid[:, None]).astype(logp.dtype)
            q = q * xp.ones_like(logp)  # a writable array of logp's shape
        else:
            q = xp.zeros_like(logp)
        xp.put_along_axis(
            q, tgt[:, None], _gather(q, tgt)[:, None] + ((1 - eps) * self.wy)[:, None], axis=1
        )
        grad = p * q.sum(axis=1, keepdims=True) - q
        if self.reduction == "none":
            grad *= xp.expand_dims(g, 1)
        elif self.reduction == "mean":
            grad *= g / self.denom
        else:
            grad *= g
        return grad, None, None


class CrossEntropySoft(Function):
    """Cross-entropy against probability targets: l_i = −Σ_c w_c·t_ic·log p_ic, the mean
    taken over the N·d1·... positions (torch's rule); t is smoothed as (1−ε)t + ε/C."""

    def forward(self, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
        C = x.shape[1]
        eps = self.label_smoothing
        logp = stable_log_softmax(x, axis=1)
        if eps > 0:
            t = t * (1 - eps) + eps / C
        q = t if weight is None else t * weight.reshape(_weight_shape(x.ndim))
        loss = -(q * logp).sum(axis=1)
        self.logp, self.q = logp, q
        self.w = None if weight is None else weight.reshape(_weight_shape(x.ndim))
        self.count = loss.size
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction == "mean":
            total = total / max(self.count, 1)
        return _scalar(total, x.dtype)

    def backward(self, g: np.ndarray) -> Grads:
        if self.reduction == "none":
            gs = array_module(g).expand_dims(g, 1)
        else:
            gs = g / max(self.count, 1) if self.reduction == "mean" else g
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = (
                array_module(self.logp).exp(self.logp) * self.q.sum(axis=1, keepdims=True) - self.q
            ) * gs
        if self.needs_input_grad[1]:  # ∂l/∂t_c = −(1−ε)·w_c·log p_c
            gt = -(1 - self.label_smoothing) * self.logp * gs
            if self.w is not None:
                gt = gt * self.w
        return gx, gt, None


def _as_batched(x: Tensor, target: Tensor, soft: bool) -> tuple[Tensor, Tensor, bool]:
    """Unbatched (C,) input with a scalar target (or (C,) probabilities) as a batch of 1."""
    if x.ndim == 1:
        x = reshape(x, (1, -1))
        target = reshape(target, (1, -1)) if soft else Tensor(target.data.reshape(1))
        return x, target, True
    return x, target, False


def _squeeze_unbatched(out: Tensor, reduction: str, unbatched: bool) -> Tensor:
    return reshape(out, ()) if unbatched and reduction == "none" else out


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between softmax(`input`) and `target`, computed from logits.

    `input`: logits (N, C) or (N, C, d1, ...) (or (C,) for one sample).
    `target`: class indices (N,) / (N, d1, ...) of an integer dtype, or class
    probabilities of `input`'s shape (soft labels, e.g. mixup). `weight`: (C,) rescales
    each class. `ignore_index`: targets equal to it contribute nothing (index targets only).
    `label_smoothing` ε ∈ [0, 1] mixes the target with the uniform distribution:
    (1−ε)·onehot + ε/C.

    Parameters
    ----------
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    x = _tensor(name, "input", input)
    if not is_floating(x.dtype):
        raise TypeError(f"{name}: input must be floating-point logits, got dtype {x.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = _tensor(name, "target", target, x)
    soft = is_floating(t.dtype)
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")
    x, t, unbatched = _as_batched(x, t, soft)
    w = _class_weight(name, weight, x)
    if soft:
        if t.shape != x.shape:
            raise ValueError(
                f"{name}: probability targets must have the input's shape {x.shape}, "
                f"got {t.shape} (for class indices use an integer dtype)"
            )
        t = _float_like(name, "target", t, x)
        out = CrossEntropySoft.apply(x, t, w, reduction=reduction, label_smoothing=label_smoothing)
    else:
        tgt, valid, bad = _class_targets(name, x.data, t.data, ignore_index)
        out = CrossEntropyIndex.apply(
            x, tgt, w, reduction=reduction, valid=valid, bad=bad, label_smoothing=label_smoothing
        )
    return _squeeze_unbatched(out, reduction, unbatched)


class NLLLoss(Function):
    """l_i = −w[y_i]·x_i[y_i]; mean = Σ l_i / Σ_{not ignored} w[y_i]."""

    def forward(self, x: np.ndarray, target: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
        tgt = array_module(x).where(self.valid, target, 0)
        wy = _target_weights(tgt, weight, self.valid, self.bad, x.dtype)
        loss = -wy * _gather(x, tgt)
        self.tgt, self.wy, self.shape, self.dtype = tgt, wy, x.shape, x.dtype
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction == "mean":
            self.denom = wy.sum()
            total = total / self.denom
        return _scalar(total, x.dtype)

    def backward(self, g: np.ndarray) -> Grads:
        if not self.needs_input_grad[0]:
            return None, None, None
        scale = {"none": g, "sum": g}.get(self.reduction)
        if scale is None:
            scale = g / self.denom
        xp = array_module(self.wy)
        grad = xp.zeros(self.shape, self.dtype)
        xp.put_along_axis(grad, self.tgt[:, None], (-self.wy * scale)[:, None], axis=1)
        return grad, None, None


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class-index `target` under log-probabilities `input`
    (N, C, ...), e.g. the output of `log_softmax`. Arguments as in `cross_entropy`.

    Parameters
    ----------
    weight : Tensor or None
        Weight of each class (C,), for unbalanced classes.
    ignore_index : int
        Target value that is ignored and does not contribute to the gradient (default -100).
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """
    name = "nll_loss"
    _check_reduction(name, reduction)
    x = _tensor(name, "input", input)
    t = _tensor(name, "target", target, x)
    if is_floating(t.dtype):
        raise TypeError(f"{name}: target must hold integer class indices, got dtype {t.dtype}")
    x, t, unbatched = _as_batched(x, t, False)
    w = _class_weight(name, weight, x)
    tgt, valid, bad = _class_targets(name, x.data, t.data, ignore_index)
    out = NLLLoss.apply(x, tgt, w, reduction=reduction, valid=valid, bad=bad)
    return _squeeze_unbatched(out, reduction, unbatched)


# ---------------------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------------------


class MSE(_PointwiseLoss):
    def pointwise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.diff = a - b
        return self.diff * self.diff

    def grads(self, gl: np.ndarray) -> Grads:  # ∂(a−b)²/∂a = 2(a−b) = −∂/∂b
        ga = 2 * self.diff * gl
        return _difference_grads(self.needs_input_grad, ga)


class L1(_PointwiseLoss):
    def pointwise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        diff = a - b
        self.sign = array_module(diff).sign(diff)  # the subgradient 0 at a = b, as torch
        return abs(diff)

    def grads(self, gl: np.ndarray) -> Grads:
        ga = self.sign * gl
        return _difference_grads(self.needs_input_grad, ga)


class Huber(_PointwiseLoss):
    """½d²/β·scale for |d| < δ, else (|d| − ½δ)·scale: smooth_l1 (β) and huber (δ)
    differ only by the factor δ (huber = δ·smooth_l1 with β = δ)."""

    def pointwise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = a - b
        ad = abs(d)
        self.d, self.small = d, ad < self.beta
        s = self.scale
        if self.beta == 0:
            return s * ad
        return s * array_module(d).where(self.small, 0.5 * d * d / self.beta, ad - 0.5 * self.beta)

    def grads(self, gl: np.ndarray) -> Grads:
        d = self.d
        xp = array_module(d)
        if self.beta == 0:
            ga = xp.sign(d)
        else:
            ga = xp.where(self.small, d / self.beta, xp.sign(d))
        ga = self.scale * ga * gl
        return _difference_grads(self.needs_input_grad, ga)


def _pair_loss(name: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    x = _tensor(name, "input", input)
    t = _float_like(name, "target", target, x)
    _same_shape(name, x, t)
    return x, t


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: (input − target)², reduced.

    Parameters
    ----------
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """
    _check_reduction("mse_loss", reduction)
    return MSE.apply(*_pair_loss("mse_loss", input, target), reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error |input − target| (subgradient 0 where they are equal).

    Parameters
    ----------
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """
    _check_reduction("l1_loss", reduction)
    return L1.apply(*_pair_loss("l1_loss", input, target), reduction=reduction)


def smooth_l1_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """½(x−y)²/β where |x−y| < β, else |x−y| − ½β (Fast R-CNN's box loss).

    Parameters
    ----------
    input : Tensor
        The input tensor.
    target : Tensor
        The target, of the input's shape.
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    beta : float
        β: where the loss turns from quadratic to linear (default 1).
    """
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    return Huber.apply(
        *_pair_loss("smooth_l1_loss", input, target),
        reduction=reduction,
        beta=float(beta),
        scale=1.0,
    )


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """½(x−y)² where |x−y| < δ, else δ(|x−y| − ½δ).

    Parameters
    ----------
    input : Tensor
        The input tensor.
    target : Tensor
        The target, of the input's shape.
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    delta : float
        δ: where the loss turns from quadratic to linear (default 1).
    """
    _check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return Huber.apply(
        *_pair_loss("huber_loss", input, target),
        reduction=reduction,
        beta=float(delta),
        scale=float(delta),
    )


class SquaredError(Function):
    """The notes' squared loss against one-hot targets: l_i = Σ_j (f_j(x_i) − y_ij)²."""

    def forward(self, f: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.diff = f - y
        loss = (self.diff * self.diff).sum(axis=1)
        self.n = loss.shape[0]
        if self.reduction == "none":
            return loss
        total = loss.sum()
        return _scalar(total / self.n if self.reduction == "mean" else total, f.dtype)

    def backward(self, g: np.ndarray) -> Grads:
        if self.reduction == "none":
            g = g[:, None]
        elif self.reduction == "mean":
            g = g / self.n
        ga = 2 * self.diff * g
        return _difference_grads(self.needs_input_grad, ga)


def squared_error_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Σ_j (f_j(x) − y_j)² per sample, the squared loss of the notes for classification
    with one-hot targets; "mean" averages over samples (not over N·C like `mse_loss`).

    `input` is (N, C); `target` is class indices (N,) (made one-hot here) or (N, C) values.

    Parameters
    ----------
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """
    name = "squared_error_loss"
    _check_reduction(name, reduction)
    x = _tensor(name, "input", input)
    if x.ndim != 2:
        raise ValueError(f"{name}: input must be (N, C), got shape {x.shape}")
    t = _tensor(name, "target", target, x)
    if not is_floating(t.dtype):
        idx, _, bad = _class_targets(name, x.data, t.data, ignore_index=-(10**18))
        xp = array_module(idx)
        onehot = (xp.arange(x.shape[1]) == idx[:, None]).astype(x.dtype)
        if bad is not None:  # a device's unchecked targets: NaN rows
            onehot = xp.where(bad[:, None], np.dtype(x.dtype).type(np.nan), onehot)
        t = Tensor(onehot)
    t = _float_like(name, "target", t, x)
    _same_shape(name, x, t)
    return SquaredError.apply(x, t, reduction=reduction)


# ---------------------------------------------------------------------------------------
# binary cross-entropy and KL divergence
# ---------------------------------------------------------------------------------------


class BCE(_PointwiseLoss):
    """−w·[t·log p + (1−t)·log(1−p)], with logs clamped at −100 as torch does so that
    p = 0 or 1 gives a finite loss."""

    def pointwise(self, p: np.ndarray, t: np.ndarray, w: np.ndarray | None) -> np.ndarray:
        xp = array_module(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.logp = xp.maximum(xp.log(p), -100)
            self.log1mp = xp.maximum(xp.log1p(-p), -100)
        self.p, self.t, self.w = p, t, w
        loss = -(t * self.logp + (1 - t) * self.log1mp)
        return loss if w is None else loss * w

    def grads(self, gl: np.ndarray) -> Grads:
        p, t = self.p, self.t
        gl = gl if self.w is None else gl * self.w
        gp = gt = None
        if self.needs_input_grad[0]:  # ∂/∂p = (p − t) / (p(1 − p)), denominator ≥ 1e-12
            gp = gl * (p - t) / array_module(p).maximum(p * (1 - p), 1e-12)
        if self.needs_input_grad[1]:  # ∂/∂t = log(1−p) − log p
            gt = gl * (self.log1mp - self.logp)
        return gp, gt, None


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities `input` ∈ [0, 1] against `target` ∈ [0, 1].
    Prefer `binary_cross_entropy_with_logits` on raw scores: it is stable.

    Parameters
    ----------
    weight : Tensor or None
        Rescaling weight of each element's loss (broadcast against the input).
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    x, t = _pair_loss(name, input, target)
    on_host = type(x.data) is np.ndarray  # a device is not waited for (see the module)
    if on_host and x.data.size and (x.data.min() < 0 or x.data.max() > 1):
        raise ValueError(
            f"{name}: input must hold probabilities in [0, 1] "
            f"(got values in [{x.data.min():.4g}, {x.data.max():.4g}]); "
            "for raw scores use binary_cross_entropy_with_logits"
        )
    return BCE.apply(x, t, _elementwise_weight(weight, x), reduction=reduction)


def _elementwise_weight(v: Tensor | np.ndarray | None, x: Tensor) -> np.ndarray | None:
    """A per-element weight broadcast to x's shape, in x's dtype (None stays None)."""
    if v is None:
        return None
    a = _on_device_of(v, x)
    return array_module(a).broadcast_to(a.astype(x.dtype, copy=False), x.shape)


class BCEWithLogits(_PointwiseLoss):
    """l = w·[(1−t)·x + (1 + (pw−1)·t)·log(1 + e^{−x})]  (torch's stable form);
    ∂l/∂x = w·[(1−t) − (1 + (pw−1)t)·σ(−x)],  ∂l/∂t = w·[−x + (pw−1)·log(1 + e^{−x})]."""

    def pointwise(
        self, x: np.ndarray, t: np.ndarray, w: np.ndarray | None, pw: np.ndarray | None
    ) -> np.ndarray:
        self.x, self.t, self.w, self.pw = x, t, w, pw
        self.sp = stable_softplus(-x)
        lw = 1 if pw is None else 1 + (pw - 1) * t
        self.lw = lw
        loss = (1 - t) * x + lw * self.sp
        return loss if w is None else loss * w

    def grads(self, gl: np.ndarray) -> Grads:
        gl = gl if self.w is None else gl * self.w
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = gl * ((1 - self.t) - self.lw * stable_sigmoid(-self.x))
        if self.needs_input_grad[1]:
            d = -self.x
            if self.pw is not None:
                d = d + (self.pw - 1) * self.sp
            gt = gl * d
        return gx, gt, None, None


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of sigmoid(`input`) against `target`, computed from the logits
    without forming the sigmoid (stable for |x| in the thousands). `pos_weight` (broadcast
    along the last dimension, one per class) weighs the positive term, trading recall
    against precision.

    Parameters
    ----------
    weight : Tensor or None
        Rescaling weight of each element's loss (broadcast against the input).
    reduction : str
        'mean' (default), 'sum' or 'none': how the per-element losses are combined.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    x, t = _pair_loss(name, input, target)

    try:
        w, pw = _elementwise_weight(weight, x), _elementwise_weight(pos_weight, x)
    except ValueError:
        raise ValueError(
            f"{name}: weight/pos_weight cannot be broadcast to the input shape {x.shape}"
        ) from None
    return BCEWithLogits.apply(x, t, w, pw, reduction=reduction)


class KLDiv(_PointwiseLoss):
    """t·(log t − x) with 0·log 0 = 0 (x are log-probabilities); with log_target,
    e^t·(t − x)."""

    def pointwise(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        self.x, self.t = x, t
        xp = array_module(x)
        if self.log_target:
            self.et = xp.exp(t)
            return self.et * (t - x)
        pos = t > 0
        self.logt = xp.log(xp.where(pos, t, 1))
        return xp.where(pos, t * (self.logt - x), 0)

    def grads(self, gl: np.ndarray) -> Grads:
        gx = gt = None
        if self.log_target:
            if self.needs_input_grad[0]:
                gx = -self.et * gl
            if self.needs_input_grad[1]:
                gt = self.et * (self.t - self.x + 1) * gl
            return gx, gt
        if self.needs_input_grad[0]:
            gx = -self.t * gl
        if self.needs_input_grad[1]:
            gt = array_module(gl).where(self.t > 0, self.logt - self.x + 1, 0) * gl
        return gx, gt


def kl_div(
    input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """KL(target ‖ exp(input)) pointwise, with `input` given as log-probabilities.

    reduction "batchmean" (sum / N) is the true KL divergence per sample; "mean" averages
    over every element, as torch's default does (kept for compatibility).

    Parameters
    ----------
    log_target : bool
        The target is given as log-probabilities (default False).
    """
    name = "kl_div"
    _check_reduction(name, reduction, _REDUCTIONS + ("batchmean",))
    x, t = _pair_loss(name, input, target)
    return KLDiv.apply(x, t, reduction=reduction, log_target=bool(log_target))
