"""Convolution family: gradients against central differences, the adjoint identity, the
true-convolution identity, unfold/fold, padding, and bad input."""

import numpy as np
import pytest

from strided.autograd import Tensor
from strided.device import to_numpy
from strided.functional.conv import (
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    convolve2d,
    fold,
    unfold,
)
from strided.functional.padding import pad
from strided.gradcheck import gradcheck

# every test once per device present (cpu, the simulated GPU, cuda where there is one)
pytestmark = pytest.mark.on_devices

rng = np.random.default_rng(1234)


def host(t):
    """A tensor's values as a NumPy array, wherever it lives (CuPy refuses np.asarray)."""
    return to_numpy(t.data)


def t64(*shape, grad=True):
    return Tensor(rng.standard_normal(shape), requires_grad=grad)


# (N, C, O, H, W, kh, kw, stride, padding, dilation, groups)
CONV_CASES = [
    (2, 3, 4, 7, 6, 3, 3, 1, 0, 1, 1),  # odd sizes
    (1, 2, 3, 8, 9, 3, 2, 2, 1, 1, 1),  # stride 2 with leftovers, non-square kernel
    (2, 4, 4, 7, 7, 3, 3, 1, 2, 2, 2),  # dilation + groups
    (1, 3, 6, 6, 5, 3, 3, 1, 1, 1, 3),  # depthwise with channel multiplier 2
    (2, 3, 5, 5, 4, 1, 1, 1, 0, 1, 1),  # 1x1
    (1, 2, 2, 9, 7, 2, 3, 3, (1, 0), (1, 2), 1),  # stride 3, asymmetric pad/dilation
    (1, 2, 4, 6, 6, 3, 3, 1, "same", 2, 2),  # 'same' with dilation
    (1, 2, 2, 5, 6, 2, 2, 1, "same", 1, 1),  # 'same' with an even kernel (asymmetric)
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradcheck(case):
    N, C, O, H, W, kh, kw, s, p, d, g = case
    x, w, b = t64(N, C, H, W), t64(O, C // g, kh, kw), t64(O)
    assert gradcheck(
        lambda x, w, b: conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g), [x, w, b]
    )


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes_gradcheck(mode):
    x, w = t64(1, 2, 5, 6), t64(3, 2, 3, 3)
    assert gradcheck(lambda x, w: conv2d(x, w, padding=(1, 2), padding_mode=mode), [x, w])
    # padding_mode means: pad the input, then a valid convolution
    y = host(conv2d(x, w, padding=(1, 2), padding_mode=mode))
    ref = host(conv2d(pad(x, (2, 2, 1, 1), mode=mode), w))
    np.testing.assert_allclose(y, ref, atol=1e-12)


def test_conv2d_matches_direct_sum():
    x, w, b = t64(2, 3, 6, 5, grad=False), t64(4, 3, 3, 2, grad=False), t64(4, grad=False)
    y = host(conv2d(x, w, b, stride=(2, 1), padding=1))
    xp = np.pad(host(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
    Ho, Wo = (6 + 2 - 3) // 2 + 1, (5 + 2 - 2) + 1
    ref = np.zeros((2, 4, Ho, Wo))
    for o in range(4):
        for i in range(Ho):
            for j in range(Wo):
                ref[:, o, i, j] = (xp[:, :, 2 * i : 2 * i + 3, j : j + 2] * host(w)[o]).sum(
                    axis=(1, 2, 3)
                ) + host(b)[o]
    np.testing.assert_allclose(y, ref, atol=1e-12)


def test_conv_skips_unneeded_gradients():
    x = t64(1, 2, 5, 5, grad=False)
    w = t64(3, 2, 3, 3)
    y = conv2d(x, w)
    # the weight is kept only for the input gradient, which nobody asked for
    assert y.grad_fn.needs_input_grad == (False, True, False)
    assert y.grad_fn.w is None and y.grad_fn.x is not None
    y.backward(np.ones(y.shape))
    assert x.grad is None and w.grad is not None


def test_conv2d_float32_stays_float32():
    x = Tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = conv2d(x, w, padding=1)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, np.float32))
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.parametrize(
    "case",
    [(1, 3, 2, 7, 3, 2, 1, 1, 1), (2, 4, 4, 6, 3, 1, "same", 2, 2), (1, 2, 4, 5, 2, 3, 0, 1, 2)],
)
def test_conv1d_gradcheck(case):
    N, C, O, L, k, s, p, d, g = case
    x, w, b = t64(N, C, L), t64(O, C // g, k), t64(O)
    assert gradcheck(
        lambda x, w, b: conv1d(x, w, b, stride=s, padding=p, dilation=d, groups=g), [x, w, b]
    )
    # conv1d is conv2d on a height-1 image
    y1 = host(conv1d(x, w, b, stride=s, padding=p, dilation=d, groups=g))
    p2 = p if isinstance(p, str) else (0, p)
    y2 = host(
        conv2d(
            Tensor(x.data[:, :, None]),
            Tensor(w.data[:, :, None]),
            b,
            stride=(1, s),
            padding=p2,
            dilation=(1, d),
            groups=g,
        )
    )
    np.testing.assert_allclose(y1, y2[:, :, 0], atol=1e-12)


# (N, Cin, Cout, H, W, kh, kw, stride, padding, output_padding, dilation, groups)
CONVT_CASES = [
    (2, 3, 2, 4, 3, 3, 3, 2, 1, 1, 1, 1),
    (1, 4, 6, 3, 4, 3, 2, 1, 0, 0, 1, 2),
    (1, 2, 3, 3, 3, 3, 3, 3, 1, (2, 0), 2, 1),
    (1, 4, 4, 5, 4, 3, 3, 1, 2, 0, 2, 4),
]


@pytest.mark.parametrize("case", CONVT_CASES)
def test_conv_transpose2d_gradcheck_and_adjoint(case):
    N, Ci, Co, H, W, kh, kw, s, p, op, d, g = case
    y, w, b = t64(N, Ci, H, W), t64(Ci, Co // g, kh, kw), t64(Co)

    def f(y, w, b):
        return conv_transpose2d(
            y, w, b, stride=s, padding=p, output_padding=op, dilation=d, groups=g
        )

    assert gradcheck(f, [y, w, b])
    # adjoint: <conv2d(x, w), y> == <x, conv_transpose2d(y, w)>
    xt = f(y, w, None)
    x = rng.standard_normal(xt.shape)
    cx = conv2d(Tensor(x), w, stride=s, padding=p, dilation=d, groups=g)
    assert cx.shape == y.shape
    np.testing.assert_allclose(np.vdot(host(cx), host(y)), np.vdot(x, host(xt)), rtol=1e-10)


def test_conv_transpose2d_output_size_formula_and_argument():
    y, w = t64(1, 2, 5, 7, grad=False), t64(2, 3, 3, 4, grad=False)
    for s, p, op, d in [(2, 1, 1, 1), (3, 0, 2, 1), (1, 2, 0, 2), (2, 2, 1, 3)]:
        out = conv_transpose2d(y, w, stride=s, padding=p, output_padding=op, dilation=d)
        assert out.shape[2:] == (
            (5 - 1) * s - 2 * p + d * 2 + op + 1,
            (7 - 1) * s - 2 * p + d * 3 + op + 1,
        )
    a = conv_transpose2d(y, w, stride=2, padding=1, output_size=(10, 15))
    b = conv_transpose2d(y, w, stride=2, padding=1, output_padding=(1, 1))
    assert a.shape == (1, 3, 10, 15)
    np.testing.assert_array_equal(host(a), host(b))
    with pytest.raises(ValueError, match="output_size"):
        conv_transpose2d(y, w, stride=2, padding=1, output_size=(12, 15))
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose2d(y, w, stride=2, output_padding=2)


def test_conv_transpose1d_gradcheck():
    y, w, b = t64(2, 3, 4), t64(3, 2, 3), t64(2)
    assert gradcheck(
        lambda y, w, b: conv_transpose1d(y, w, b, stride=2, padding=1, output_padding=1), [y, w, b]
    )


def test_convolve2d_is_correlation_with_rotated_kernel():
    x, w, b = t64(2, 3, 7, 6), t64(4, 3, 3, 2), t64(4)
    y = convolve2d(x, w, b, padding=1)
    ref = conv2d(x, Tensor(np.rot90(host(w), 2, axes=(2, 3)).copy()), b, padding=1)
    np.testing.assert_allclose(host(y), host(ref), atol=1e-12)
    assert gradcheck(lambda x, w: convolve2d(x, w, stride=2), [x, w])
    # signal-processing convention on a delta: the output is the kernel itself, unflipped
    delta = np.zeros((1, 1, 5, 5))
    delta[0, 0, 2, 2] = 1.0
    k = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(
        host(convolve2d(Tensor(delta), Tensor(k), padding=1))[0, 0, 1:4, 1:4], k[0, 0]
    )


def test_unfold_fold():
    x = t64(2, 3, 6, 5)
    cols = unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    Ho, Wo = (6 + 2 - 2) // 2 + 1, (5 + 2 - 5) + 1
    assert cols.shape == (2, 3 * 6, Ho * Wo)
    # column l holds the window at (l // Wo, l % Wo), channel-major then kernel rows
    xp = np.pad(host(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = xp[:, :, 2:4, 1:6:2]  # output position (1, 1)
    np.testing.assert_array_equal(host(cols)[:, :, 1 * Wo + 1], win.reshape(2, -1))
    assert gradcheck(lambda x: unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [x])
    c = t64(2, 3 * 6, Ho * Wo)

    def f(c):
        return fold(c, (6, 5), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))

    assert gradcheck(f, [c])
    # fold is unfold's adjoint
    np.testing.assert_allclose(
        np.vdot(host(cols), host(c)), np.vdot(host(x), host(f(c))), rtol=1e-10
    )
    # conv2d == weight matrix times unfold
    w = rng.standard_normal((4, 3, 2, 3))
    y = host(conv2d(x, Tensor(w), dilation=(1, 2), padding=1, stride=(2, 1)))
    np.testing.assert_allclose(y.reshape(2, 4, -1), w.reshape(4, -1) @ host(cols), atol=1e-12)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_values_and_gradcheck(mode):
    x = t64(2, 3, 4, 5)
    assert gradcheck(lambda x: pad(x, (2, 1, 3, 0), mode=mode, value=0.5), [x])
    out = host(pad(Tensor(np.arange(4.0).reshape(1, 4)), (2, 3), mode=mode, value=-1))[0]
    expected = {
        "constant": [-1, -1, 0, 1, 2, 3, -1, -1, -1],
        "reflect": [2, 1, 0, 1, 2, 3, 2, 1, 0],
        "replicate": [0, 0, 0, 1, 2, 3, 3, 3, 3],
        "circular": [2, 3, 0, 1, 2, 3, 0, 1, 2],
    }[mode]
    np.testing.assert_array_equal(out, expected)


def test_pad_negative_crops_and_errors():
    x = t64(1, 5, 6)
    assert pad(x, (-1, 2, 1, -3)).shape == (1, 3, 7)
    assert gradcheck(lambda x: pad(x, (-1, 2, 1, -3)), [x])
    with pytest.raises(ValueError, match="reflect"):
        pad(x, (6, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        pad(x, (1, 1), mode="wrap")
    with pytest.raises(TypeError, match="pad"):
        pad(x, (1, 1, 1))


def test_bad_input_errors_name_function_argument_and_shapes():
    x = Tensor(np.zeros((8, 1, 28, 28), np.float32))
    w = Tensor(np.zeros((16, 3, 5, 5), np.float32))
    with pytest.raises(
        ValueError,
        match=r"conv2d: input has 1 channels, expected 3 "
        r"\(input shape \(8, 1, 28, 28\), weight shape "
        r"\(16, 3, 5, 5\)\)",
    ):
        conv2d(x, w)
    w1 = Tensor(np.zeros((16, 1, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"conv2d: kernel size \(5, 5\).*larger.*\(3, 3\)"):
        conv2d(Tensor(np.zeros((1, 1, 3, 3), np.float32)), w1)
    with pytest.raises(ValueError, match="conv2d: stride must be >= 1"):
        conv2d(x, w1, stride=0)
    with pytest.raises(ValueError, match="conv2d: dilation must be >= 1"):
        conv2d(x, w1, dilation=(1, -1))
    with pytest.raises(ValueError, match="conv2d: groups=3 must divide"):
        conv2d(
            Tensor(np.zeros((1, 4, 8, 8), np.float32)),
            Tensor(np.zeros((6, 1, 3, 3), np.float32)),
            groups=3,
        )
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D or 3-D input.*\(28, 28\)"):
        conv2d(Tensor(np.zeros((28, 28), np.float32)), w1)
    with pytest.raises(TypeError, match="conv2d: input dtype float64 and weight dtype float32"):
        conv2d(Tensor(np.zeros((8, 1, 28, 28))), w1)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        conv2d(x, w1, stride=2, padding="same")
    with pytest.raises(ValueError, match="conv_transpose2d: input has 1 channels"):
        conv_transpose2d(x, w)


@pytest.mark.parametrize("x_first", [False, True])
@pytest.mark.parametrize("dy_first", [False, True])
def test_pointwise_conv_in_both_layouts(x_first, dy_first, default_device):
    """1×1 convolutions are plain channel products; input and output gradient may each lie
    NCHW or channels-first (as convs hand them over): every pass matches the direct sum."""
    from strided.device import move
    from strided.kernels import conv as K
    from strided.kernels.im2col import from_cnhw

    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 5, 4, 6))
    w = rng.standard_normal((7, 5, 1, 1))
    dy = rng.standard_normal((3, 7, 4, 6))
    if x_first:
        x = from_cnhw(np.ascontiguousarray(x.transpose(1, 0, 2, 3)))
    if dy_first:
        dy = from_cnhw(np.ascontiguousarray(dy.transpose(1, 0, 2, 3)))
    args = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    b = rng.standard_normal(7)
    on = [move(a, default_device) for a in (x, w, dy, b)]
    y = K.conv2d_forward(on[0], on[1], on[3], *args)
    np.testing.assert_allclose(
        y, np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x) + b[None, :, None, None], rtol=1e-12
    )
    dx = K.conv2d_backward_data(on[2], on[1], (4, 6), *args)
    np.testing.assert_allclose(dx, np.einsum("oc,nohw->nchw", w[:, :, 0, 0], dy), rtol=1e-12)
    dw = K.conv2d_backward_weight(on[0], on[2], (1, 1), *args)
    np.testing.assert_allclose(dw[:, :, 0, 0], np.einsum("nohw,nchw->oc", dy, x), rtol=1e-12)
