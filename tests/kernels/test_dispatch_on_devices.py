"""Every compiled kernel's dispatch looks at all of its arrays: one device array among
them sends the call to the array module's code (Numba compiles for the CPU only), whose
result is the CPU's."""

import numpy as np
import pytest

from strided.device import move, to_numpy
from strided.kernels import activation, norm, updates
from strided.kernels import loss as ce
from strided.kernels.pool import plan
from strided.kernels.pool.reference import PoolGeometry


@pytest.fixture
def accelerator(device):
    if device == "cpu":
        pytest.skip("the CPU is the reference these tests compare against")
    return device


RNG = np.random.default_rng(1)


def test_one_device_array_is_enough_to_leave_the_compiled_kernels(accelerator):
    x = RNG.standard_normal((4, 3, 6, 6)).astype(np.float32)
    on = move(x, accelerator)
    geo = PoolGeometry((6, 6), (3, 3), (2, 2), (1, 1), (1, 1), False)
    assert plan(on, geo) == "reference"
    idx = np.zeros((4, 3, 2, 2), np.int64)
    assert plan(x, None, move(idx, accelerator)) == "reference"
    assert not ce.applies(x[:, :, 0, 0].copy(), move(np.zeros(4, np.int64), accelerator))
    p = RNG.standard_normal(10).astype(np.float32)
    for device_one in range(2):
        arrays = [p.copy(), p.copy()]
        arrays[device_one] = move(arrays[device_one], accelerator)
        assert not updates.sgd_update(*arrays, None, True, 0.1, 0.0, 0.0, 0.0, False, False)
        assert not updates.adagrad_update(*arrays, p.copy() * 0, 0.1, 1e-10, 0.0, False)


def test_norm_and_relu_on_a_device_match_the_cpu(accelerator):
    v = RNG.standard_normal((5, 3, 7))
    w, b = RNG.standard_normal(3), RNG.standard_normal(3)
    cpu = norm.batch_norm_forward(v, w, b, None, None, 1e-5)
    dev = norm.batch_norm_forward(
        move(v, accelerator), move(w, accelerator), move(b, accelerator), None, None, 1e-5
    )
    for a, b_ in zip(cpu, dev, strict=True):
        np.testing.assert_allclose(to_numpy(b_), a, rtol=1e-12, atol=1e-14)
    g = RNG.standard_normal(v.shape)
    needs = (True, True, True)
    cpu_back = norm.batch_norm_backward(g, cpu[1], cpu[2], w, True, needs)
    dev_back = norm.batch_norm_backward(
        move(g, accelerator), dev[1], dev[2], move(w, accelerator), True, needs
    )
    for a, b_ in zip(cpu_back, dev_back, strict=True):
        np.testing.assert_allclose(to_numpy(b_), a, rtol=1e-10, atol=1e-13)
    y, mask = activation.relu_forward(move(v, accelerator), True)
    np.testing.assert_array_equal(to_numpy(y), np.maximum(v, 0))
    np.testing.assert_array_equal(
        to_numpy(activation.relu_backward(move(g, accelerator), mask)), g * (v > 0)
    )
