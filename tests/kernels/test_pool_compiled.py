"""The direct (compiled) pooling kernels against the NumPy reference over random
geometries — kernel, stride, padding, dilation, ceil_mode, sizes, layouts — with ties,
NaNs and windows of −∞, in float32 and float64; and the plan's choice."""

import numpy as np
import pytest
from pool_cases import random_geometry, random_input

from strided.kernels import compiled, pool
from strided.kernels.pool import reference
from strided.kernels.pool.reference import PoolGeometry

pytestmark = pytest.mark.skipif(not compiled.numba_available(), reason="needs Numba")


@pytest.fixture
def direct(monkeypatch):
    """Every pooling call on the direct strategy, whatever the plan would pick."""
    previous = compiled.use_kernels("numba")
    monkeypatch.setattr(pool, "plan", lambda x, geo=None, *others: "direct")
    yield
    compiled.use_kernels(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_max_pool_matches_the_reference(direct, dtype, seed):
    rng = np.random.default_rng(seed)
    for case in range(40):
        geo = random_geometry(rng)
        x = random_input(rng, geo, dtype, case)
        y, arg = pool.max_pool2d_forward(x, geo, True)
        y0, arg0 = reference.max_pool2d_forward(x, geo, True)
        assert isinstance(arg, pool.DirectArgmax) and y.dtype == dtype
        np.testing.assert_array_equal(y, y0)  # NaNs in the same places
        np.testing.assert_array_equal(
            pool.tap_to_flat_index(arg, geo), reference.tap_to_flat_index(arg0, geo)
        )
        dy = rng.standard_normal(y.shape).astype(dtype)
        np.testing.assert_allclose(
            pool.max_pool2d_backward(dy, arg, geo),
            reference.max_pool2d_backward(dy, arg0, geo),
            rtol=1e-6,
            atol=1e-6,
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_avg_pool_matches_the_reference(direct, dtype, seed):
    rng = np.random.default_rng(100 + seed)
    for case in range(40):
        geo = random_geometry(rng)
        pads = tuple(min(p, k // 2) for p, k in zip(geo.padding, geo.kernel, strict=True))
        geo = PoolGeometry(geo.hw, geo.kernel, geo.stride, pads, (1, 1), bool(case % 2))
        x = rng.standard_normal((2, 3) + geo.hw).astype(dtype)
        if case % 2:
            x = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
        override = 3 if case % 5 == 0 else None
        div = reference.avg_divisor(geo, bool(case % 3), override, dtype)
        y = pool.avg_pool2d_forward(x, geo, div)
        np.testing.assert_allclose(
            y, reference.avg_pool2d_forward(x, geo, div), rtol=1e-6, atol=1e-6
        )
        dy = rng.standard_normal(y.shape).astype(dtype)
        np.testing.assert_allclose(
            pool.avg_pool2d_backward(dy, geo, div),
            reference.avg_pool2d_backward(dy, geo, div),
            rtol=1e-6,
            atol=1e-6,
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adaptive_max_and_unpooling_match_the_reference(direct, dtype):
    rng = np.random.default_rng(7)
    for H, W, Ho, Wo in [(7, 9, 3, 4), (5, 5, 5, 5), (10, 3, 4, 2), (6, 6, 1, 1), (3, 8, 5, 3)]:
        x = rng.integers(-3, 3, (2, 3, H, W)).astype(dtype)
        x.flat[rng.integers(0, x.size, 3)] = np.nan
        y, idx = pool.adaptive_max_pool2d_forward(x, (Ho, Wo))
        y0, idx0 = reference.adaptive_max_pool2d_forward(x, (Ho, Wo))
        np.testing.assert_array_equal(y, y0)
        np.testing.assert_array_equal(idx, idx0)
        g = rng.standard_normal(y.shape).astype(dtype)
        for accumulate in (True, False):
            np.testing.assert_allclose(
                pool.unpool_scatter(g, idx, (H, W), accumulate),
                reference.unpool_scatter(g, idx, (H, W), accumulate),
                rtol=1e-6,
            )
        gx = rng.standard_normal(x.shape).astype(dtype)
        np.testing.assert_array_equal(pool.unpool_gather(gx, idx), reference.unpool_gather(gx, idx))


def test_plan_keeps_tiling_windows_on_the_reference():
    previous = compiled.use_kernels("numba")
    try:
        x = np.zeros((2, 3, 8, 8), np.float32)
        tiles = PoolGeometry((8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False)
        overlapping = PoolGeometry((8, 8), (3, 3), (2, 2), (1, 1), (1, 1), False)
        assert pool.plan(x, tiles) == "reference"
        assert pool.plan(x, overlapping) == "direct"
        assert pool.plan(x.astype(np.int64), overlapping) == "reference"
        compiled.use_kernels("numpy")
        assert pool.plan(x, overlapping) == "reference"
    finally:
        compiled.use_kernels(previous)


def test_direct_pooling_is_deterministic(direct):
    rng = np.random.default_rng(3)
    geo = PoolGeometry((32, 32), (3, 3), (1, 1), (1, 1), (1, 1), False)
    x = rng.standard_normal((8, 16, 32, 32)).astype(np.float32)
    dy = rng.standard_normal((8, 16, 32, 32)).astype(np.float32)
    runs = []
    for _ in range(2):
        y, arg = pool.max_pool2d_forward(x, geo, True)
        runs.append(pool.max_pool2d_backward(dy, arg, geo).tobytes())
    assert runs[0] == runs[1]
