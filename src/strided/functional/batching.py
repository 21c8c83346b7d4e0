"""PyTorch's batch conventions for ops written for (N, C, *spatial) inputs:

* an unbatched (C, *spatial) input runs as a batch of one and comes back without the
  batch axis;
* an empty batch (N = 0) gives an empty result (and zero gradients): the op runs on one
  zero sample appended to it, and that sample is cut off again. Every such op treats
  samples independently, so the extra sample changes nothing, and the kernels never see
  a zero-size batch.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..autograd import Operand, Tensor, array_of, tensor_of
from ..device import array_module


def layouts(batched_ndim: int) -> str:
    """'(N, C, H, W) or (C, H, W)'-style text for an op taking `batched_ndim`-D input."""
    names = {1: "L", 2: "H, W", 3: "D, H, W"}.get(batched_ndim - 2)
    if names is None:
        return f"{batched_ndim}-D"
    return f"(N, C, {names}) or (C, {names})"


def _map(out: Any, f: Callable[[Tensor], Tensor]) -> Any:
    """f applied to each tensor of a result (a tensor, a tuple or a named tuple)."""
    if isinstance(out, tuple):
        parts = [_map(o, f) for o in out]
        return type(out)(*parts) if hasattr(out, "_fields") else tuple(parts)
    return f(out) if isinstance(out, Tensor) else out


def _with_batch(a: Operand) -> Tensor | np.ndarray:
    """`a` (a tensor or an array) with a leading batch axis of one."""
    if isinstance(a, Tensor):
        return a.reshape((1,) + tuple(a.shape))
    return array_of(a)[None]


def _with_zero_sample(a: Operand) -> Tensor | np.ndarray:
    """An empty batch `a` (0, ...) with one zero sample appended: (1, ...)."""
    from .shape import cat

    data = array_of(a)
    zero = array_module(data).zeros((1,) + tuple(data.shape[1:]), dtype=data.dtype)
    if isinstance(a, Tensor):
        return cat([a, tensor_of(zero)], 0)
    return zero


def batch_conventions(batched_ndim: int, extra: tuple[str, ...] = ()) -> Callable:
    """Decorate an op whose first argument is a `batched_ndim`-D input so that it takes
    unbatched and empty-batch inputs as PyTorch does. `extra` names further arguments that
    carry the batch axis too (max_unpool's indices)."""

    def wrap(op: Callable) -> Callable:
        params = list(inspect.signature(op).parameters)

        def with_batched(
            args: tuple, kwargs: dict[str, Any], f: Callable[[Any], Any]
        ) -> tuple[tuple, dict[str, Any]]:
            items = list(args)
            for name in extra:
                i = params.index(name) - 1
                if i < len(items):
                    items[i] = f(items[i])
                elif name in kwargs:
                    kwargs = dict(kwargs, **{name: f(kwargs[name])})
            return tuple(items), kwargs

        @functools.wraps(op)
        def run(input: Tensor | ArrayLike, *args: Any, **kwargs: Any) -> Any:
            x = input if isinstance(input, Tensor) else Tensor(input)
            if x.ndim == batched_ndim - 1:
                args, kwargs = with_batched(args, kwargs, _with_batch)
                out = run(_with_batch(x), *args, **kwargs)
                return _map(out, lambda t: t.reshape(tuple(t.shape[1:])))
            if x.ndim != batched_ndim:
                raise ValueError(
                    f"{op.__name__}: expected a {batched_ndim}-D or "
                    f"{batched_ndim - 1}-D input {layouts(batched_ndim)}, "
                    f"got a {x.ndim}-D input of shape {tuple(x.shape)}"
                )
            if x.shape[0] == 0:
                args, kwargs = with_batched(args, kwargs, _with_zero_sample)
                out = op(_with_zero_sample(x), *args, **kwargs)
                return _map(out, lambda t: t[:0])
            return op(x, *args, **kwargs)

        return run

    return wrap


__all__ = ["batch_conventions", "layouts"]
