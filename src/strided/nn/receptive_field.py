"""Receptive fields: how much of the input each layer's output pixels see.

Per spatial axis, a feature map is described by three numbers in input pixels (pixel i of
the input has its centre at i):

    size   r — the width of the input window one output pixel depends on,
    jump   j — the distance in the input between two neighbouring output pixels
               (the product of the strides so far: the effective stride),
    start  s — the centre of the first output pixel's window.

A layer with kernel k, stride t, padding p (before) and dilation d, whose effective kernel
is k' = d·(k − 1) + 1, maps them as (Araujo et al., "Computing receptive fields of CNNs"):

    r_out = r + (k' − 1)·j          j_out = j·t          s_out = s + ((k' − 1)/2 − p)·j

The notes' examples follow: three stacked 3×3 convolutions see 3, 5, 7 pixels; dilation
rates 1, 2, 4 see 3, 7, 15; VGG-16's pool5 sees 212.

The fields are computed from the operations of one forward pass (``autograd.tracing``), so
branches are
handled where they meet: a sum (a residual block) or a concatenation (Inception, DenseNet)
sees the union of its inputs' windows — the larger path's field when they are centred
alike. Layers after a flatten see the whole input (``GLOBAL``).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd import Tensor, tracing
from ..functional import conv as _conv
from ..functional import padding as _padding
from ..functional import pool as _pool
from ..functional import shape as _shape
from ..functional import upsample as _upsample

__all__ = ["ReceptiveField", "GLOBAL", "ReceptiveFieldTracer", "propagate"]


@dataclass(frozen=True)
class ReceptiveField:
    """Size, jump (effective stride) and start (centre of the first output pixel's window),
    per spatial axis, in input pixels."""

    size: tuple
    jump: tuple
    start: tuple

    @classmethod
    def identity(cls, ndim: int) -> ReceptiveField:
        """The field of the input itself: one pixel, jump 1, starting at 0."""
        return cls((1,) * ndim, (1,) * ndim, (0,) * ndim)

    def window(
        self,
        kernel: Sequence[int],
        stride: Sequence[int],
        pad_before: Sequence[float],
        dilation: Sequence[int],
    ) -> ReceptiveField:
        """The field after a convolution or pooling window (the formulas above)."""
        size, jump, start = [], [], []
        for r, j, s, k, t, p, d in zip(
            self.size, self.jump, self.start, kernel, stride, pad_before, dilation, strict=True
        ):
            keff = d * (k - 1) + 1
            size.append(r + (keff - 1) * j)
            jump.append(j * t)
            start.append(s + ((keff - 1) / 2 - p) * j)
        return ReceptiveField(*map(_tidy, (size, jump, start)))

    def transposed(
        self,
        kernel: Sequence[int],
        stride: Sequence[int],
        pad_before: Sequence[float],
        dilation: Sequence[int],
    ) -> ReceptiveField:
        """The field after a transposed convolution. Output pixel o receives input i when
        i·t + k·d = o + p; the size adds the widest span of inputs one output pixel reads
        (over the t phases), the jump divides by the stride, and the start is the first
        output pixel's centre: s + (p − (k' − 1)/2)·j/t."""
        size, jump, start = [], [], []
        for r, j, s, k, t, p, d in zip(
            self.size, self.jump, self.start, kernel, stride, pad_before, dilation, strict=True
        ):
            taps = np.arange(k) * d
            span = max(
                int(np.ptp(taps[taps % t == phase])) // t
                for phase in range(t)
                if np.any(taps % t == phase)
            )
            keff = d * (k - 1) + 1
            size.append(r + span * j)
            jump.append(j / t)
            start.append(s + (p - (keff - 1) / 2) * j / t)
        return ReceptiveField(*map(_tidy, (size, jump, start)))

    def resized(self, factors: Sequence[float]) -> ReceptiveField:
        """The field after upsampling by ``factors`` (out/in per axis) that copies or
        scatters each input pixel (nearest, zero insertion, max-unpooling): the size stays,
        the output pixels are ``factor`` times denser and centred inside their source."""
        jump = [j / f for j, f in zip(self.jump, factors, strict=True)]
        start = [
            s + (1 / f - 1) / 2 * j for s, j, f in zip(self.start, self.jump, factors, strict=True)
        ]
        return ReceptiveField(self.size, *map(_tidy, (jump, start)))

    def union(self, other: ReceptiveField) -> ReceptiveField:
        """The smallest field holding both windows (where branches are summed or
        concatenated)."""
        size, jump, start = [], [], []
        for r1, j1, s1, r2, j2, s2 in zip(
            self.size, self.jump, self.start, other.size, other.jump, other.start, strict=True
        ):
            lo = min(s1 - (r1 - 1) / 2, s2 - (r2 - 1) / 2)
            hi = max(s1 + (r1 - 1) / 2, s2 + (r2 - 1) / 2)
            size.append(hi - lo + 1)
            jump.append(max(j1, j2))
            start.append((lo + hi) / 2)
        return ReceptiveField(*map(_tidy, (size, jump, start)))

    def format(self) -> tuple[str, str, str]:
        """(size, jump, start) as short strings: one number when the axes agree, else
        "7x3"."""
        return _fmt(self.size), _fmt(self.jump), _fmt(self.start)


class _Global:
    """The field of a layer that sees the whole input (after a flatten)."""

    def format(self) -> tuple[str, str, str]:
        return ("all", "-", "-")

    def __repr__(self) -> str:
        return "GLOBAL"


GLOBAL = _Global()


def _tidy(values: Any) -> tuple:
    # whole numbers as ints, so that sizes print and compare as the notes write them
    return tuple(int(round(v)) if abs(v - round(v)) < 1e-9 else float(v) for v in values)


def _fmt(values: tuple) -> str:
    parts = [f"{v:.4g}" for v in values]
    return parts[0] if len(set(parts)) == 1 else "x".join(parts)


def _spatial(fn_tuple: Sequence, ndim: int) -> tuple:
    # the conv and pooling Functions keep 2-D parameters (a 1-D layer is lifted to 2-D)
    return tuple(fn_tuple)[-ndim:]


def _window_field(
    fn: Any, inputs: tuple, params: dict, rf: ReceptiveField
) -> ReceptiveField | None:
    n = len(rf.size)
    if isinstance(fn, _conv.Conv2d):
        kernel = _spatial(inputs[1].shape[2:], n)
        return rf.window(
            kernel,
            _spatial(params["stride"], n),
            [p[0] for p in _spatial(params["pads"], n)],
            _spatial(params["dilation"], n),
        )
    if isinstance(fn, _conv.ConvTranspose2d):
        kernel = _spatial(inputs[1].shape[2:], n)
        return rf.transposed(
            kernel,
            _spatial(params["stride"], n),
            [p[0] for p in _spatial(params["pads"], n)],
            _spatial(params["dilation"], n),
        )
    if isinstance(fn, (_pool.MaxPool2d, _pool.AvgPool2d)):
        g = params["geo"]
        return rf.window(
            _spatial(g.kernel, n),
            _spatial(g.stride, n),
            _spatial(g.padding, n),
            _spatial(g.dilation, n),
        )
    index = params.get("index", ())
    if isinstance(fn, _shape.GetItem) and _is_slicing(index, inputs[0].ndim):
        # x[..., a::t] picks every t-th pixel from a: a 1-wide window, stride t, padding −a
        index = tuple(index) + (slice(None),) * (inputs[0].ndim - len(index))
        ranges = [sl.indices(size) for sl, size in zip(index[2:], inputs[0].shape[2:], strict=True)]
        return rf.window((1,) * n, [r[2] for r in ranges], [-r[0] for r in ranges], (1,) * n)
    return None


def _is_slicing(index: tuple, ndim: int) -> bool:
    return (
        len(index) <= ndim
        and all(isinstance(i, slice) for i in index)
        and all(i.step is None or i.step > 0 for i in index)
    )


def _adaptive_field(rf: ReceptiveField, in_hw: tuple, out_hw: tuple) -> ReceptiveField:
    # window i of an adaptive pool covers [⌊i·n/m⌋, ⌈(i+1)·n/m⌉): the widest one is the kernel
    kernel, start0 = [], []
    for n, m in zip(in_hw, out_hw, strict=True):
        i = np.arange(m)
        widths = -(-(i + 1) * n // m) - (i * n // m)
        kernel.append(int(widths.max()))
        start0.append((int(widths[0]) - 1) / 2)
    size = [r + (k - 1) * j for r, k, j in zip(rf.size, kernel, rf.jump, strict=True)]
    jump = [j * n / m for j, n, m in zip(rf.jump, in_hw, out_hw, strict=True)]
    start = [s + c * j for s, c, j in zip(rf.start, start0, rf.jump, strict=True)]
    return ReceptiveField(*map(_tidy, (size, jump, start)))


def _matrix_field(rf: ReceptiveField, mats: Sequence) -> ReceptiveField:
    # y = M·x along each axis: output i reads the inputs where row i of M is non-zero
    size, jump, start = [], [], []
    for r, j, s, m in zip(rf.size, rf.jump, rf.start, mats, strict=True):
        if m is None:
            size.append(r)
            jump.append(j)
            start.append(s)
            continue
        nz = np.asarray(m) != 0
        first, last = nz.argmax(axis=1), nz.shape[1] - 1 - nz[:, ::-1].argmax(axis=1)
        size.append(r + int((last - first).max()) * j)
        jump.append(j * nz.shape[1] / nz.shape[0])
        start.append(s + (first[0] + last[0]) / 2 * j)
    return ReceptiveField(*map(_tidy, (size, jump, start)))


def propagate(fn: Any, inputs: tuple, params: dict, out: Tensor, fields: list) -> Any:
    """The field of ``out = fn(*inputs, **params)`` given the fields of its inputs (``None`` for
    inputs that do not come from the image, e.g. weights). Returns a ``ReceptiveField``,
    ``GLOBAL``, or ``None`` when the output does not depend on the image or its field is
    not known (an unfamiliar operation that changes the spatial size)."""
    known = [(t, f) for t, f in zip(inputs, fields, strict=True) if f is not None]
    if not known:
        return None
    if any(f is GLOBAL for _, f in known) or out.ndim < 3:
        return GLOBAL
    x, rf = known[0]
    if x.ndim != out.ndim:
        return None
    in_hw, out_hw = tuple(x.shape[2:]), tuple(out.shape[2:])
    if len(rf.size) != len(out_hw):
        return None
    windowed = _window_field(fn, inputs, params, rf)
    if windowed is not None:
        return windowed
    if isinstance(fn, (_pool.AdaptiveAvgPool2d, _pool.AdaptiveMaxPool2d)):
        return _adaptive_field(rf, in_hw, out_hw)
    if isinstance(fn, _upsample.Resample):  # linear, cubic and area interpolation
        return _matrix_field(rf, params["mats"])
    if isinstance(fn, (_pool.MaxUnpool2d, _upsample.UpsampleNearest, _upsample.UpsampleZeros)):
        return rf.resized([o / i for o, i in zip(out_hw, in_hw, strict=True)])
    if isinstance(fn, _padding.Pad):
        before = [lo for lo, _ in params["pads"]][-len(rf.size) :]
        before = [0] * (len(rf.size) - len(before)) + list(before)
        return ReceptiveField(
            rf.size,
            rf.jump,
            _tidy(s - p * j for s, p, j in zip(rf.start, before, rf.jump, strict=True)),
        )
    # elementwise, normalisation, concatenation along channels, sums of branches: the
    # spatial grid is unchanged and each output pixel sees the union of its inputs' windows
    result = None
    for t, f in known:
        if tuple(t.shape[2:]) != out_hw or len(f.size) != len(out_hw):
            return None
        result = f if result is None else result.union(f)
    return result


class ReceptiveFieldTracer:
    """Follow one forward pass and know every tensor's receptive field.

    >>> tracer = ReceptiveFieldTracer()
    >>> with tracer.watch(x):
    ...     y = model(x)
    >>> tracer.field_of(y)

    Tensors are remembered by identity together with a weak reference, so a freed tensor
    whose id is reused is not mistaken for the old one.
    """

    def __init__(self) -> None:
        self._fields: dict[int, tuple[weakref.ref, Any]] = {}

    def field_of(self, t: Any) -> Any:
        """The field of tensor ``t`` (``ReceptiveField``, ``GLOBAL`` or ``None``)."""
        if not isinstance(t, Tensor):
            return None
        entry = self._fields.get(id(t))
        if entry is None or entry[0]() is not t:
            return None
        return entry[1]

    def _set(self, t: Tensor, field: Any) -> None:
        self._fields[id(t)] = (weakref.ref(t), field)

    def _on_function(self, fn: Any, inputs: tuple, params: dict, out: Tensor) -> None:
        fields = [self.field_of(t) for t in inputs]
        field = propagate(fn, inputs, params, out, fields)
        if field is not None:
            self._set(out, field)
        else:
            self._fields.pop(id(out), None)

    def watch(self, x: Tensor) -> Any:
        """A context in which every Function applied extends the fields from ``x`` (an
        (N, C, ...) input whose pixels start with the identity field)."""
        self._fields.clear()
        if x.ndim >= 3:
            self._set(x, ReceptiveField.identity(x.ndim - 2))
        return tracing(self._on_function)
