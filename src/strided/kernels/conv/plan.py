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
from . import columns, depthwise, flat, pointwise, polyphase, winograd
from .geometry import ConvGeometry


def plan(g: ConvGeometry) -> ModuleType:
    """The strategy that computes all three passes of the convolution `g`."""
    return _plan(g, compiled.compiled())


@lru_cache(maxsize=1024)
def _plan(g: ConvGeometry, compiled_kernels: bool) -> ModuleType:
    if not compiled_kernels:
        return _numpy_plan(g)
    if g.depthwise:
        # forward + both gradients, 64 channels @32, batch 32, 3×3, one thread (CPU time):
        # 5.8 ms against 10.2 ms through the flat BLAS path; PyTorch 5.9-6.4 ms
        return depthwise
    if winograd.applies(g) and _winograd_wins(g):
        return winograd
    return _numpy_plan(g)


def _winograd_wins(g: ConvGeometry) -> bool:
    """Where F(2×2, 3×3) beat the flat BLAS path: forward + both gradients, one thread, CPU
    time in ms, Winograd / flat (batch): 32→32 @16 (128) 22.3 / 25.6, 64→64 @8 (128)
    20.2 / 23-37, 64→64 @56 (8) 44.3 / 59.7, 128→128 @16 (32) 57.2 / 91.6, 64→128 @32 (32)
    109 / 156. It lost where its transforms outweigh the products it saves — few channels:
    16→16 @32 (128) 31.9 / 30.4, 3→64 @64 (32) 95 / 38 — and where the products are big
    but the tiles few, so BLAS runs short: 256→256 @8 (16) 67 / 43, 512→512 @4 (16)
    230 / 56. The gradients swap C and O, so the smaller of the two counts."""
    return 32 <= min(g.C, g.O) <= 128 and g.out_hw[1] >= 8


def _numpy_plan(g: ConvGeometry) -> ModuleType:
    """NumPy + BLAS only (STRIDED_KERNELS=numpy)."""
    if g.pointwise:
        return pointwise
    if g.stride == (1, 1):
        return flat
    if polyphase.applies(g):
        return polyphase
    return columns
