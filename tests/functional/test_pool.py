"""Pooling, unpooling and upsampling: gradients, routing, divisors, indices, bad input."""

import numpy as np
import pytest

from strided.autograd import Tensor
from strided.functional.pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from strided.functional.upsample import interpolate, upsample_nearest, upsample_zeros
from strided.gradcheck import gradcheck

pytestmark = pytest.mark.on_devices

rng = np.random.default_rng(7)


def t64(*shape, grad=True):
    # distinct values a step apart: no ties, so max-pool's gradient is well defined
    n = int(np.prod(shape))
    return Tensor(
        rng.permutation(n).reshape(shape) * 0.1 + 0.01 * rng.standard_normal(shape),
        requires_grad=grad,
    )


# (H, W, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    (6, 6, 2, 2, 0, 1, False),
    (7, 5, 3, 2, 1, 1, True),
    (9, 8, (3, 2), (2, 3), (1, 0), (2, 1), False),
    (5, 7, 2, 1, 1, 1, True),
    (8, 8, 3, 3, 1, 1, True),
]


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_gradcheck(case):
    H, W, k, s, p, d, cm = case
    x = t64(2, 3, H, W)
    assert gradcheck(lambda x: max_pool2d(x, k, s, p, d, ceil_mode=cm), [x])


@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize(
    "case",
    [
        (6, 6, 2, 2, 0, False),
        (7, 5, 3, 2, 1, True),
        (8, 9, (3, 2), (2, 3), (1, 1), True),
        (5, 5, 3, 1, 1, False),
    ],
)
def test_avg_pool2d_gradcheck(case, cip):
    H, W, k, s, p, cm = case
    x = t64(2, 2, H, W)
    assert gradcheck(lambda x: avg_pool2d(x, k, s, p, ceil_mode=cm, count_include_pad=cip), [x])


def test_avg_pool2d_divisors():
    x = Tensor(np.ones((1, 1, 4, 4)))
    # with zero padding counted, corners average 4 ones over 9 cells
    assert float(avg_pool2d(x, 3, 1, 1).data[0, 0, 0, 0]) == pytest.approx(4 / 9)
    assert float(avg_pool2d(x, 3, 1, 1, count_include_pad=False).data[0, 0, 0, 0]) == 1.0
    assert float(avg_pool2d(x, 2, divisor_override=3).data[0, 0, 0, 0]) == pytest.approx(4 / 3)
    y = avg_pool2d(Tensor(np.ones((1, 1, 5, 5))), 2, 2, ceil_mode=True)
    assert y.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(y.data, 1.0)  # the overhanging windows divide by what they hold


def test_max_pool_backward_routes_to_the_max():
    x = Tensor(
        np.array(
            [
                [
                    [
                        [1.0, 2.0, 5.0, 6.0],
                        [3.0, 4.0, 8.0, 7.0],
                        [9.0, 1.0, 0.0, 1.0],
                        [2.0, 2.0, 1.0, 3.0],
                    ]
                ]
            ]
        ),
        requires_grad=True,
    )
    y, idx = max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(y.data[0, 0], [[4.0, 8.0], [9.0, 3.0]])
    np.testing.assert_array_equal(idx.data[0, 0], [[5, 6], [8, 15]])
    y.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    np.testing.assert_array_equal(
        x.grad.data[0, 0], [[0, 0, 0, 0], [0, 10, 20, 0], [30, 0, 0, 0], [0, 0, 0, 40]]
    )
    # overlapping windows: a shared maximum collects from every window it wins
    z = Tensor(
        np.array([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]), requires_grad=True
    )
    w = max_pool2d(z, 2, 1)
    w.backward(np.ones(w.shape))
    assert z.grad.data[0, 0, 1, 1] == 4.0 and z.grad.data.sum() == 4.0


def test_avg_pool_backward_spreads_evenly():
    x = Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    y = avg_pool2d(x, 2)
    y.backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]))
    np.testing.assert_array_equal(
        x.grad.data[0, 0], np.kron([[1.0, 2.0], [3.0, 4.0]], np.ones((2, 2)))
    )


def test_max_unpool2d_inverts_pool_and_gradcheck(default_device):
    x = t64(2, 3, 6, 7, grad=False)
    y, idx = max_pool2d(x, 2, 2, return_indices=True)
    u = max_unpool2d(y, idx, 2, 2, output_size=(6, 7))
    assert u.shape == (2, 3, 6, 7)
    keep = u.data != 0
    np.testing.assert_array_equal(u.data[keep], x.data[keep])
    assert keep.sum() == y.size
    # re-pooling the unpooled image gives the pooled one back
    np.testing.assert_array_equal(max_pool2d(u, 2, 2).data, y.data)
    v = Tensor(y.data.copy(), requires_grad=True)
    assert gradcheck(lambda v: max_unpool2d(v, idx, 2, 2, output_size=(6, 7)), [v])
    # default size (H − 1)·s − 2p + k; indices from the 6×7 image do not fit 6×6
    y6, idx6 = max_pool2d(Tensor(x.data[..., :6]), 2, return_indices=True)
    assert max_unpool2d(y6, idx6, 2).shape == (2, 3, 6, 6)
    if default_device == "cpu":  # a device does not wait to check them
        with pytest.raises(ValueError, match=r"max_unpool2d: indices must lie in \[0, 36\)"):
            max_unpool2d(y, idx, 2)


def test_adaptive_pools():
    x = t64(2, 3, 7, 5)
    assert gradcheck(lambda x: adaptive_avg_pool2d(x, (3, 2)), [x])
    assert gradcheck(lambda x: adaptive_max_pool2d(x, (3, 4)), [x])
    y = adaptive_avg_pool2d(x, (3, 2)).data
    # window 1 of 3 over 7 rows is [2, 5), window 0 of 2 over 5 columns is [0, 3)
    np.testing.assert_allclose(y[:, :, 1, 0], x.data[:, :, 2:5, 0:3].mean(axis=(2, 3)))
    m, idx = adaptive_max_pool2d(x, (3, 4), return_indices=True)
    np.testing.assert_array_equal(
        np.take_along_axis(x.data.reshape(2, 3, -1), idx.data.reshape(2, 3, -1), 2),
        m.data.reshape(2, 3, -1),
    )
    g = global_avg_pool2d(x)
    assert g.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(g.data[:, :, 0, 0], x.data.mean(axis=(2, 3)))
    assert adaptive_avg_pool2d(x, (None, 1)).shape == (2, 3, 7, 1)


def test_pool1d_variants():
    x = t64(2, 3, 11)
    assert gradcheck(lambda x: max_pool1d(x, 3, 2, 1, ceil_mode=True), [x])
    assert gradcheck(lambda x: avg_pool1d(x, 3, 2, 1), [x])
    assert gradcheck(lambda x: adaptive_avg_pool1d(x, 4), [x])
    y, idx = max_pool1d(x, 2, return_indices=True)
    assert y.shape == idx.shape == (2, 3, 5)
    u = max_unpool1d(y, idx, 2, output_size=(11,))
    np.testing.assert_array_equal(np.take_along_axis(u.data, idx.data, 2), y.data)


def test_upsampling(default_device):
    if default_device != "cpu":
        pytest.skip("functional/upsample.py builds its matrices with NumPy: not on devices yet")
    x = t64(1, 2, 3, 2)
    up = upsample_nearest(x, scale_factor=2)
    np.testing.assert_array_equal(up.data[0, 0], np.kron(x.data[0, 0], np.ones((2, 2))))
    assert gradcheck(lambda x: upsample_nearest(x, scale_factor=2), [x])
    assert gradcheck(lambda x: upsample_nearest(x, size=(5, 7)), [x])
    z = upsample_zeros(x, 2)
    assert z.shape == (1, 2, 6, 4)
    np.testing.assert_array_equal(z.data[0, 0], np.kron(x.data[0, 0], [[1, 0], [0, 0]]))
    assert gradcheck(lambda x: upsample_zeros(x, (2, 3)), [x])
    np.testing.assert_array_equal(interpolate(x, size=(6, 4)).data, up.data)


def test_pool_float32_stays_float32():
    x = Tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    for y in (
        max_pool2d(x, 3, 2, 1),
        avg_pool2d(x, 2),
        adaptive_avg_pool2d(x, 3),
        adaptive_max_pool2d(x, 3),
    ):
        assert y.dtype == np.float32
        y.backward(np.ones(y.shape, np.float32))
        assert x.grad.dtype == np.float32


def test_pool_bad_input(default_device):
    x = Tensor(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D or 3-D input.*\(4, 4\)"):
        max_pool2d(Tensor(np.zeros((4, 4))), 2)
    with pytest.raises(ValueError, match="max_pool2d: kernel size .* larger"):
        max_pool2d(x, 5)
    with pytest.raises(ValueError, match="avg_pool2d: stride must be >= 1"):
        avg_pool2d(x, 2, 0)
    with pytest.raises(ValueError, match="max_pool2d: padding .* at most half"):
        max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="max_unpool2d: indices"):
        max_unpool2d(x, Tensor(np.zeros((1, 3, 4), np.int64)), 2)
    bad = Tensor(np.zeros((1, 3, 4, 4), np.int64) + 99)
    if default_device == "cpu":
        with pytest.raises(ValueError, match="max_unpool2d: indices"):
            max_unpool2d(x, bad, 2)
    else:  # not checked on a device (that would wait for it): the values are dropped
        np.testing.assert_array_equal(max_unpool2d(x + 1, bad, 2).data, 0.0)


@pytest.mark.parametrize("nd", [1, 2])
def test_max_pool_backward_is_max_unpool_of_the_gradient(nd):
    # the notes' adjoint pair: routing dy to each window's argmax is unpooling dy
    rng = np.random.default_rng(5)
    shape = (2, 3, 12) if nd == 1 else (2, 3, 6, 8)
    x = Tensor(rng.standard_normal(shape), requires_grad=True)
    pool, unpool = (max_pool1d, max_unpool1d) if nd == 1 else (max_pool2d, max_unpool2d)
    y, idx = pool(x, 2, return_indices=True)
    assert not idx.requires_grad and idx._ctx is None and y._ctx is not None
    gy = rng.standard_normal(y.shape)
    (y * Tensor(gy)).sum().backward()
    routed = unpool(Tensor(gy), idx, 2, output_size=shape[2:]).data
    np.testing.assert_array_equal(x.grad.data, routed)


def test_indices_come_back_as_outputs_without_and_with_grad():
    from strided import no_grad

    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    with no_grad():
        y, idx = max_pool2d(x, 2, return_indices=True)
    assert idx.data.tolist() == [[[[5, 7], [13, 15]]]]
    y, idx = adaptive_max_pool2d(Tensor(x.data, requires_grad=True), 1, return_indices=True)
    assert idx.data.tolist() == [[[[15]]]] and not idx.requires_grad and y.requires_grad
