"""The worked examples of the lecture notes, checked through the public layers/functions."""

import math

import numpy as np
import pytest

from strided.autograd import Tensor
from strided.backend import Generator
from strided.device import to_numpy
from strided.functional.conv import conv2d, conv_transpose1d
from strided.functional.pool import max_pool2d
from strided.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from strided.nn.pool import AdaptiveAvgPool2d, MaxPool2d, MaxUnpool2d, Upsample

# every test once per device present (cpu, the simulated GPU, cuda where there is one)
pytestmark = pytest.mark.on_devices


def host(t):
    """A tensor's values as a NumPy array, wherever it lives (CuPy refuses np.asarray)."""
    return to_numpy(t.data)


def n_params(m):
    return sum(p.size for p in m.parameters())


@pytest.mark.parametrize(
    "W, F, P, S, out",
    [(32, 5, 0, 1, 28), (32, 5, 2, 1, 32), (227, 11, 0, 4, 55), (7, 3, 0, 2, 3), (7, 3, 1, 3, 3)],
)
def test_output_size_formula(W, F, P, S, out):
    # ⌊(W − F + 2P)/S⌋ + 1
    assert (W - F + 2 * P) // S + 1 == out
    conv = Conv2d(1, 2, F, stride=S, padding=P)
    assert conv(Tensor(np.zeros((1, 1, W, W), np.float32))).shape == (1, 2, out, out)


def test_alexnet_first_layer():
    conv = Conv2d(3, 96, 11, stride=4)
    y = conv(Tensor(np.zeros((1, 3, 227, 227), np.float32)))
    assert y.shape == (1, 96, 55, 55)
    assert n_params(conv) == 34_944 == 96 * (11 * 11 * 3) + 96


def test_transposed_convolution_1d_example():
    # kernel [x, y, z], stride 2, input [a, b] → [ax, ay, az + bx, by, bz]
    x, y, z, a, b = 2.0, 3.0, 5.0, 7.0, 11.0
    out = conv_transpose1d(Tensor(np.array([[[a, b]]])), Tensor(np.array([[[x, y, z]]])), stride=2)
    np.testing.assert_array_equal(host(out)[0, 0], [a * x, a * y, a * z + b * x, b * y, b * z])


def test_weight_gradient_3x3_input_2x2_kernel():
    # dE/dw_rs = Σ_mn dE/dh'_mn · h_{r+m−1, s+n−1}  (1-indexed, output 2×2)
    h = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = Tensor(np.array([[[[1.0, -1.0], [2.0, 0.5]]]]), requires_grad=True)
    out = conv2d(Tensor(h), w)
    assert out.shape == (1, 1, 2, 2)
    dE = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out.backward(dE)
    expected = np.zeros((2, 2))
    for r in range(1, 3):
        for s in range(1, 3):
            expected[r - 1, s - 1] = sum(
                dE[0, 0, m - 1, n - 1] * h[0, 0, r + m - 2, s + n - 2]
                for m in range(1, 3)
                for n in range(1, 3)
            )
    np.testing.assert_array_equal(host(w.grad)[0, 0], expected)
    # ... which is the correlation of the input with the output gradient
    np.testing.assert_array_equal(expected, host(conv2d(Tensor(h), Tensor(dE)))[0, 0])
    np.testing.assert_array_equal(expected, [[37.0, 47.0], [67.0, 77.0]])


def test_max_pool_backward_routing_example():
    x = Tensor(
        np.array(
            [
                [
                    [
                        [1.0, 1.0, 2.0, 4.0],
                        [5.0, 6.0, 7.0, 8.0],
                        [3.0, 2.0, 1.0, 0.0],
                        [1.0, 2.0, 3.0, 4.0],
                    ]
                ]
            ]
        ),
        requires_grad=True,
    )
    pool = MaxPool2d(2)
    y = pool(x)
    np.testing.assert_array_equal(host(y)[0, 0], [[6.0, 8.0], [3.0, 4.0]])
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(
        host(x.grad)[0, 0], [[0, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]]
    )


@pytest.mark.parametrize(
    "d, k, s, p", [(28, 3, 2, 1), (32, 4, 2, 1), (17, 5, 3, 2), (16, 3, 1, 1), (9, 2, 2, 0)]
)
def test_conv_then_transposed_conv_returns_to_size(d, k, s, p):
    conv = Conv2d(2, 3, k, stride=s, padding=p)
    y = conv(Tensor(np.zeros((1, 2, d, d), np.float32)))
    m = y.shape[2]
    assert m == (d + 2 * p - k) // s + 1
    op = (d + 2 * p - k) % s  # the rows the forward's floor dropped
    up = ConvTranspose2d(3, 2, k, stride=s, padding=p, output_padding=op)
    assert up(y).shape == (1, 2, d, d)
    # output_size picks the same output_padding
    up0 = ConvTranspose2d(3, 2, k, stride=s, padding=p)
    assert up0(y, output_size=(d, d)).shape == (1, 2, d, d)


def test_layers_init_backward_and_errors():
    g = Generator(0)
    conv = Conv2d(4, 6, (3, 5), padding="same", groups=2, generator=g)
    bound = 1 / math.sqrt(2 * 3 * 5)
    assert conv.weight.shape == (6, 2, 3, 5) and conv.weight.dtype == np.float32
    assert (
        np.abs(host(conv.weight)).max() <= bound and np.abs(host(conv.weight)).max() > 0.5 * bound
    )
    assert np.abs(host(conv.bias)).max() <= bound
    again = Conv2d(4, 6, (3, 5), padding="same", groups=2, generator=Generator(0))
    np.testing.assert_array_equal(host(again.weight), host(conv.weight))  # same seed, same init
    x = Tensor(np.random.default_rng(0).standard_normal((2, 4, 7, 9)).astype(np.float32))
    y = conv(x)
    assert y.shape == (2, 6, 7, 9)
    y.backward(np.ones(y.shape, np.float32))
    assert conv.weight.grad.shape == conv.weight.shape and conv.bias.grad.shape == (6,)
    assert "groups=2" in repr(conv)
    assert Conv2d(3, 4, 3, bias=False).bias is None
    c1 = Conv1d(3, 5, 4, stride=2, padding_mode="reflect", padding=1)
    assert c1(Tensor(np.zeros((2, 3, 10), np.float32))).shape == (2, 5, 5)
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(3→16, k=5\): input has 1 channels, "
        r"expected 3 \(input shape \(8, 1, 28, 28\)\)",
    ):
        Conv2d(3, 16, 5)(Tensor(np.zeros((8, 1, 28, 28), np.float32)))
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(3→16, k=5\): expected a 4-D or 3-D input.*"
        r"\(28, 28\)",
    ):
        Conv2d(3, 16, 5)(Tensor(np.zeros((28, 28), np.float32)))
    with pytest.raises(ValueError, match="Conv2d: groups=4 must divide in_channels=6"):
        Conv2d(6, 8, 3, groups=4)
    with pytest.raises(ValueError, match="Conv2d: stride must be >= 1"):
        Conv2d(3, 8, 3, stride=0)


def test_pool_layers():
    x = Tensor(np.random.default_rng(1).permutation(64).reshape(1, 1, 8, 8).astype(np.float32))
    pool, unpool = MaxPool2d(2, return_indices=True), MaxUnpool2d(2)
    y, idx = pool(x)
    u = unpool(y, idx)
    assert u.shape == (1, 1, 8, 8) and np.array_equal(host(max_pool2d(u, 2)), host(y))
    assert host(AdaptiveAvgPool2d((1, 1))(x)).item() == pytest.approx(31.5)
    assert Upsample(scale_factor=2)(y).shape == (1, 1, 8, 8)
    assert host(Upsample(scale_factor=2, mode="zeros")(y))[0, 0, 1::2].sum() == 0
