"""One strategy per convolution geometry, chosen once.

A strategy is a module with the full trio `forward(x, w, g)`, `input_grad(dy, w, g)`,
`weight_grad(x, dy, g)`. The choice depends on the geometry alone (never on timings taken
at run time), so the same layer runs the same arithmetic in every process: a run resumed
after a crash repeats the original bit for bit.
"""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType

from .. import compiled
from . import columns, depthwise, flat, pointwise, polyphase
from .geometry import ConvGeometry


def plan(g: ConvGeometry) -> ModuleType:
    """The strategy that computes all three passes of the convolution `g`."""
    return _plan(g, compiled.compiled())


@lru_cache(maxsize=1024)
def _plan(g: ConvGeometry, compiled_kernels: bool) -> ModuleType:
    if not compiled_kernels:
        return _numpy_plan(g)
    if g.depthwise:
        return depthwise
    return _numpy_plan(g)


def _numpy_plan(g: ConvGeometry) -> ModuleType:
    """NumPy + BLAS only (STRIDED_KERNELS=numpy)."""
    if g.pointwise:
        return pointwise
    if g.stride == (1, 1):
        return flat
    if polyphase.applies(g):
        return polyphase
    return columns
