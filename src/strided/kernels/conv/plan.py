"""One strategy per convolution geometry, chosen once.

A strategy is a module with the full trio `forward(x, w, g)`, `input_grad(dy, w, g)`,
`weight_grad(x, dy, g)`. The choice depends on the geometry alone (never on timings taken
at run time), so the same layer runs the same arithmetic in every process: a run resumed
after a crash repeats the original bit for bit.

Every strategy but the compiled ones (depthwise, winograd: Numba, NumPy arrays only) is
written for any array module, so all of them run on device (CuPy) arrays; `plan` still picks
for a device the one whose shape suits it (see `_device_plan`).
"""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from .. import compiled
from . import columns, depthwise, flat, pointwise, polyphase, winograd
from .geometry import ConvGeometry

# The strategies that take device arrays (they ask the arrays for their module).
XP_GENERIC = (flat, pointwise, polyphase, columns)


def plan(g: ConvGeometry, x: Any = None) -> ModuleType:
    """The strategy that computes all three passes of the convolution `g` on arrays like
    `x` (the compiled ones only for NumPy arrays, `_device_plan` for device arrays)."""
    if x is not None and type(x) is not np.ndarray and not isinstance(x, np.generic):
        return _device_plan(g)
    return _plan(g, compiled.compiled(x))


@lru_cache(maxsize=1024)
def _device_plan(g: ConvGeometry) -> ModuleType:
    """On a GPU: a 1×1 layer is one GEMM over the pixels (`pointwise`); every other layer
    im2col + GEMM + col2im in large blocks of whole images (`columns` with
    DEVICE_CHUNK_BYTES), so each pass is a handful of big kernels — one strided copy, one
    cuBLAS GEMM, kh·kw adds — per block, whatever the stride, dilation or groups.

    Not the CPU's choices: `flat` and `polyphase` trade extra arithmetic (the Ws − Wo wasted
    columns, the phase split) and many cache-sized blocks for contiguous copies, which a
    GPU's memory system does not need; on a device their blocks would be hundreds of small
    GEMMs and launches."""
    return pointwise if g.pointwise else columns


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
    time in ms, Winograd / flat (batch), NumPy's OpenBLAS on its own AVX-512 kernels:
    64→64 @8 (128) 16.6 / 28.4, 64→64 @16 (32) 14.7 / 23.3, 128→128 @16 (32) 42.8 / 60.4,
    64→128 @32 (32) 79 / 102, 64→64 @56 (8) 36.3 / 37.8. It lost with fewer channels,
    where the transforms outweigh the products saved — 16→16 @32 (128) 26.0 / 22.4,
    32→32 @16 (128) 21.3 / 17.0 (32→32 @32: 78 / 83, a draw) — and with more, where the
    products are big but the tiles few: 256→256 @8 (16) 58 / 25. (With OpenBLAS held to
    its AVX2 kernels, OPENBLAS_CORETYPE=Haswell, the same rows won and lost alike, except
    32→32 @16, 22.3 / 25.6.) The gradients swap C and O, so the smaller of the two
    counts."""
    return 64 <= min(g.C, g.O) <= 128 and g.out_hw[1] >= 8


def _numpy_plan(g: ConvGeometry) -> ModuleType:
    """NumPy + BLAS only (STRIDED_KERNELS=numpy)."""
    if g.pointwise:
        return pointwise
    if g.stride == (1, 1):
        return flat
    if polyphase.applies(g):
        return polyphase
    return columns
