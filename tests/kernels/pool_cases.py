"""Random pooling geometries and inputs shared by the pooling kernels' tests: every
kernel, stride, padding, dilation and ceil_mode combination that fits, and inputs with
ties, NaNs, windows of −∞ and the channels-first layout of a convolution's output."""

import numpy as np

from strided.kernels.pool.reference import PoolGeometry


def random_geometry(rng: np.random.Generator) -> PoolGeometry:
    while True:
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        sh, sw = (int(v) for v in rng.integers(1, 4, 2))
        dh, dw = (int(v) for v in rng.integers(1, 3, 2))
        ph = int(rng.integers(0, (dh * (kh - 1) + 1) // 2 + 1))
        pw = int(rng.integers(0, (dw * (kw - 1) + 1) // 2 + 1))
        H = int(rng.integers(dh * (kh - 1) + 1, 13))
        W = int(rng.integers(dw * (kw - 1) + 1, 13))
        geo = PoolGeometry((H, W), (kh, kw), (sh, sw), (ph, pw), (dh, dw), bool(rng.integers(0, 2)))
        if min(geo.out) >= 1:
            return geo


def random_input(rng: np.random.Generator, geo: PoolGeometry, dtype, case: int) -> np.ndarray:
    x = rng.integers(-3, 3, (2, 3) + geo.hw).astype(dtype)  # small integers: many ties
    if case % 3 == 0:
        x.flat[rng.integers(0, x.size, 4)] = np.nan
    if case % 7 == 0:
        x[0] = -np.inf
    if case % 2:  # a convolution's channels-first output
        x = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
    return x
