"""Gradient clipping and parameter/vector conversion, as `torch.nn.utils`."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..autograd import Tensor
from ..device import array_module, common_device, device_of, move, on_cpu


def zero_grads_(parameters: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Clear the gradients of `parameters`: drop them (default) or fill them with zeros
    (keeps the arrays, for code that holds references to them)."""
    for p in parameters:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            p.grad.data.fill(0)


def _grads(parameters: Iterable[Tensor] | Tensor) -> list[np.ndarray]:
    """The gradient arrays of the parameters that have one (written in place by callers)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Rescale all gradients together so that their global norm is at most `max_norm`.

    total = (Σ_p ‖g_p‖_q^q)^{1/q} over every parameter (q = `norm_type`, inf for the max);
    if total > max_norm every g is multiplied by max_norm / (total + 1e-6). The direction
    of the full gradient is kept, only its length shrinks. Returns the norm *before*
    clipping (a 0-d Tensor), e.g. to log exploding gradients.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Tensors whose .grad is clipped in place.
    error_if_nonfinite : bool
        Raise if the total norm is NaN or infinite instead of clipping.
    """
    if not isinstance(max_norm, (int, float, np.number)) or not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be positive, got {max_norm!r}")
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive, got {norm_type}")
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32), device="cpu")
    if not on_cpu(*grads):
        return _clip_on_device(grads, max_norm, norm_type, error_if_nonfinite)
    dtype = grads[0].dtype
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max(initial=0.0)) for g in grads)
    elif norm_type == 2.0:
        # a dot product per parameter: no |g|² temporaries
        total = math.sqrt(sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads))
    else:
        total = sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        _raise_nonfinite(norm_type, total)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= g.dtype.type(coef)
    return Tensor(np.array(total, dtype=dtype), device="cpu")


def _raise_nonfinite(norm_type: float, total: float) -> None:
    raise RuntimeError(
        f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
        f"{total}, so they cannot be clipped; set error_if_nonfinite=False to go on"
    )


def _clip_on_device(
    grads: list, max_norm: float, norm_type: float, error_if_nonfinite: bool
) -> Tensor:
    """clip_grad_norm_ for gradients on a GPU: the norm stays there and every gradient is
    scaled by min(1, max_norm / (total + 1e-6)), so nothing is read back to the host
    (unless `error_if_nonfinite` asks for the check)."""
    where = common_device(grads, "clip_grad_norm_")
    xp = array_module(grads[0])
    if math.isinf(norm_type):
        total = xp.stack([xp.abs(g).max() if g.size else xp.zeros((), g.dtype) for g in grads])
        total = total.max()
    elif norm_type == 2.0:
        total = xp.sqrt(xp.stack([xp.vdot(g.reshape(-1), g.reshape(-1)) for g in grads]).sum())
    else:
        sums = xp.stack([(xp.abs(g) ** norm_type).sum() for g in grads])
        total = sums.sum() ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        _raise_nonfinite(norm_type, float(total))
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef.astype(g.dtype)
    return Tensor(total, device=where)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element to [−clip_value, clip_value] in place (changes the
    gradient's direction, unlike `clip_grad_norm_`).

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Tensors whose .grad is clipped in place.
    """
    if not isinstance(clip_value, (int, float, np.number)) or not clip_value > 0:
        raise ValueError(f"clip_grad_value_: clip_value must be positive, got {clip_value!r}")
    for g in _grads(parameters):
        array_module(g).clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a copy)."""
    arrays = [p.data.reshape(-1) for p in parameters]
    return Tensor(array_module(*arrays).concatenate(arrays), device=device_of(arrays[0]))


def vector_to_parameters(vec: Tensor | np.ndarray, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of `vec` into the parameters (inverse of the above)."""
    v = vec.data if isinstance(vec, Tensor) else vec
    v = v if hasattr(v, "shape") else np.asarray(v)
    params = list(parameters)
    need = sum(p.data.size for p in params)
    if v.ndim != 1 or v.size != need:
        raise ValueError(
            f"vector_to_parameters: expected a 1-D vector of {need} values, got shape {v.shape}"
        )
    i = 0
    for p in params:
        n = p.data.size
        part = move(v[i : i + n].reshape(p.shape), p.device)
        array_module(p.data).copyto(p.data, part, casting="unsafe")
        p._version += 1
        i += n
