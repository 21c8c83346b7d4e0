"""The pooling kernels on a device (the taps read in place from the padded input, the NaN
rule from the start, unpooling by bincount) against the CPU reference (polyphase grids)
over random geometries with ties, NaNs and windows of −∞; and that none of them copies
between host and device."""

import numpy as np
import pytest
from pool_cases import random_geometry, random_input

from simulated_gpu import SimBackend
from strided.device import array_module, move, to_numpy
from strided.kernels import pool3d
from strided.kernels.pool import reference
from strided.kernels.pool.reference import PoolGeometry
from strided.kernels.pool3d import Pool3dGeometry

DEVICES_ONLY = "the CPU is the reference these tests compare against"


@pytest.fixture
def accelerator(device):
    if device == "cpu":
        pytest.skip(DEVICES_ONLY)
    return device


def _on(device, a):
    """`a` on `device`, keeping a channels-first layout."""
    if not a.flags.c_contiguous and a.swapaxes(0, 1).flags.c_contiguous:
        return move(np.ascontiguousarray(a.swapaxes(0, 1)), device).swapaxes(0, 1)
    return move(a, device)


def test_max_pool_on_a_device_matches_the_cpu(accelerator):
    rng = np.random.default_rng(3)
    for case in range(60):
        geo = random_geometry(rng)
        x = random_input(rng, geo, np.float64, case)
        y0, arg0 = reference.max_pool2d_forward(x, geo, True)
        dy = rng.standard_normal(y0.shape)
        before = SimBackend.to_host_count, SimBackend.to_device_count
        xd, dyd = _on(accelerator, x), move(dy, accelerator)
        moved = SimBackend.to_device_count
        y, arg = reference.max_pool2d_forward(xd, geo, True)
        idx = reference.tap_to_flat_index(arg, geo)
        dx = reference.max_pool2d_backward(dyd, arg, geo)
        if accelerator == "sim":  # the simulated GPU counts the transfers
            assert (SimBackend.to_host_count, SimBackend.to_device_count) == (before[0], moved)
        np.testing.assert_array_equal(to_numpy(y), y0)  # NaNs in the same places
        np.testing.assert_array_equal(to_numpy(idx), reference.tap_to_flat_index(arg0, geo))
        np.testing.assert_allclose(
            to_numpy(dx), reference.max_pool2d_backward(dy, arg0, geo), rtol=1e-12, atol=1e-12
        )


def test_avg_pool_on_a_device_matches_the_cpu(accelerator):
    rng = np.random.default_rng(4)
    for case in range(40):
        geo = random_geometry(rng)
        pads = tuple(min(p, k // 2) for p, k in zip(geo.padding, geo.kernel, strict=True))
        geo = PoolGeometry(geo.hw, geo.kernel, geo.stride, pads, (1, 1), bool(case % 2))
        x = rng.standard_normal((2, 3) + geo.hw)
        override = 3 if case % 5 == 0 else None
        div0 = reference.avg_divisor(geo, bool(case % 3), override, np.float64)
        xd = move(x, accelerator)
        div = reference.avg_divisor(geo, bool(case % 3), override, np.float64, array_module(xd))
        np.testing.assert_array_equal(to_numpy(div), div0)
        y = reference.avg_pool2d_forward(xd, geo, div)
        np.testing.assert_allclose(to_numpy(y), reference.avg_pool2d_forward(x, geo, div0))
        dy = rng.standard_normal(y.shape)
        np.testing.assert_allclose(
            to_numpy(reference.avg_pool2d_backward(move(dy, accelerator), geo, div)),
            reference.avg_pool2d_backward(dy, geo, div0),
        )


def test_adaptive_max_and_unpooling_on_a_device_match_the_cpu(accelerator):
    rng = np.random.default_rng(7)
    for H, W, Ho, Wo in [(7, 9, 3, 4), (5, 5, 5, 5), (10, 3, 4, 2), (6, 6, 1, 1), (3, 8, 5, 3)]:
        x = rng.integers(-3, 3, (2, 3, H, W)).astype(np.float64)
        x.flat[rng.integers(0, x.size, 3)] = np.nan
        y0, idx0 = reference.adaptive_max_pool2d_forward(x, (Ho, Wo))
        y, idx = reference.adaptive_max_pool2d_forward(move(x, accelerator), (Ho, Wo))
        np.testing.assert_array_equal(to_numpy(y), y0)
        np.testing.assert_array_equal(to_numpy(idx), idx0)
        g = rng.standard_normal(y0.shape)
        for accumulate in (True, False):
            np.testing.assert_allclose(
                to_numpy(reference.unpool_scatter(move(g, accelerator), idx, (H, W), accumulate)),
                reference.unpool_scatter(g, idx0, (H, W), accumulate),
            )
        gx = rng.standard_normal(x.shape)
        np.testing.assert_array_equal(
            to_numpy(reference.unpool_gather(move(gx, accelerator), idx)),
            reference.unpool_gather(gx, idx0),
        )


@pytest.mark.parametrize(
    "kernel, stride, padding, dilation, ceil_mode",
    [
        ((2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False),
        ((3, 2, 3), (2, 1, 2), (1, 1, 1), (1, 2, 1), True),
    ],
)
def test_pool3d_on_a_device_matches_the_cpu(
    accelerator, kernel, stride, padding, dilation, ceil_mode
):
    rng = np.random.default_rng(9)
    x = rng.integers(-3, 3, (2, 3, 6, 7, 5)).astype(np.float64)  # ties
    x.flat[rng.integers(0, x.size, 5)] = np.nan
    geo = Pool3dGeometry(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    y0, idx0 = pool3d.max_pool3d_forward(x, geo)
    y, idx = pool3d.max_pool3d_forward(move(x, accelerator), geo)
    np.testing.assert_array_equal(to_numpy(y), y0)
    np.testing.assert_array_equal(to_numpy(idx), idx0)
    gy = rng.standard_normal(y0.shape)
    np.testing.assert_allclose(
        to_numpy(pool3d.max_pool3d_backward(move(gy, accelerator), idx, geo.spatial)),
        pool3d.max_pool3d_backward(gy, idx0, geo.spatial),
    )
    x = rng.standard_normal(x.shape)
    geo = Pool3dGeometry(x.shape[2:], kernel, stride, padding, (1, 1, 1), ceil_mode)
    gy = rng.standard_normal(x.shape[:2] + geo.out)
    for include in (True, False):
        div0 = pool3d.avg_divisor(geo, include, None, np.float64)
        div = pool3d.avg_divisor(geo, include, None, np.float64, array_module(move(x, accelerator)))
        y = pool3d.avg_pool3d_forward(move(x, accelerator), geo, div)
        np.testing.assert_allclose(to_numpy(y), pool3d.avg_pool3d_forward(x, geo, div0))
        np.testing.assert_allclose(
            to_numpy(pool3d.avg_pool3d_backward(move(gy, accelerator), geo, div)),
            pool3d.avg_pool3d_backward(gy, geo, div0),
        )
