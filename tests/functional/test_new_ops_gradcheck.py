"""Numerical gradient checks (float64 central differences) for the ops added to follow
PyTorch's conventions, and the behaviour they promise without PyTorch at hand."""

from __future__ import annotations

import numpy as np
import pytest

import strided as st
import strided.functional as F
import strided.nn as nn
from strided import Tensor, gradcheck

pytestmark = pytest.mark.on_devices


def t(*shape, seed=0, grad=True):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=grad)


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(stride=2, padding=1),
        dict(dilation=2),
        dict(groups=2, padding="same"),
        dict(padding=(1, 0, 2)),
    ],
)
def test_conv3d_gradcheck(kw):
    x, w, b = t(2, 4, 5, 6, 5), t(6, 4 // kw.get("groups", 1), 3, 2, 3, seed=1), t(6, seed=2)
    assert gradcheck(lambda x, w, b: F.conv3d(x, w, b, **kw), [x, w, b])


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=2, dilation=2, ceil_mode=True),
        dict(kernel_size=(3, 2, 2), stride=(1, 2, 2), ceil_mode=True),
    ],
)
def test_max_pool3d_gradcheck(kw):
    x = t(2, 3, 6, 5, 7)  # distinct values: the maximum is never a tie
    assert gradcheck(lambda x: F.max_pool3d(x, **kw), [x])


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=3, padding=1, count_include_pad=False, ceil_mode=True),
        dict(kernel_size=2, divisor_override=3),
    ],
)
def test_avg_pool3d_gradcheck(kw):
    assert gradcheck(lambda x: F.avg_pool3d(x, **kw), [t(2, 3, 5, 6, 4)])


def test_max_pool3d_indices_unpool_the_maxima():
    x = t(1, 2, 4, 4, 4, grad=False)
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    flat = x.data.reshape(1, 2, -1)
    np.testing.assert_array_equal(
        np.take_along_axis(flat, idx.data.reshape(1, 2, -1), 2), y.data.reshape(1, 2, -1)
    )


def test_adaptive_max_pool1d_gradcheck_and_indices():
    x = t(2, 3, 11)
    assert gradcheck(lambda x: F.adaptive_max_pool1d(x, 4), [x])
    y, i = F.adaptive_max_pool1d(x, 4, return_indices=True)
    np.testing.assert_array_equal(np.take_along_axis(x.data, i.data, 2), y.data)


def test_instance_norm_gradcheck():
    x, w, b = t(2, 3, 4, 5), t(3, seed=1), t(3, seed=2)
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])
    y = F.instance_norm(x).data
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-12)


def test_instance_norm_refuses_one_spatial_element():
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(t(2, 3, 1))


def test_pixel_shuffle_gradcheck_and_inverse():
    x = t(2, 8, 3, 4)
    assert gradcheck(lambda x: F.pixel_shuffle(x, 2), [x])
    assert gradcheck(lambda x: F.pixel_unshuffle(x, 2), [t(2, 2, 4, 6)])
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).data, x.data)
    with pytest.raises(ValueError, match=r"pixel_shuffle: .*divisible by upscale_factor² = 4"):
        F.pixel_shuffle(t(2, 6, 3, 4), 2)


def test_embedding_gradcheck_padding_row_and_errors():
    w = t(6, 3)
    idx = np.array([[0, 2, 2], [5, 1, 2]])
    assert gradcheck(lambda w: F.embedding(idx, w), [w])
    # the padding row's gradient is held at zero by definition (not the true gradient)
    w = t(6, 3)
    F.embedding(idx, w, padding_idx=2).sum().backward()
    assert (w.grad.data[2] == 0).all() and (w.grad.data[0] == 1).all()
    with pytest.raises(IndexError, match=r"embedding: indices must lie in \[0, 6\)"):
        F.embedding(np.array([6]), w)
    with pytest.raises(TypeError, match="indices must be integers"):
        F.embedding(np.array([1.0]), w)


@pytest.mark.parametrize(
    "mode,nd",
    [
        ("nearest", 1),
        ("nearest-exact", 2),
        ("linear", 1),
        ("bilinear", 2),
        ("bicubic", 2),
        ("trilinear", 3),
        ("area", 2),
    ],
)
def test_interpolate_gradcheck(mode, nd):
    x = t(2, 2, *(4,) * nd)
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=1.5, mode=mode), [x])


def test_selection_gradcheck():
    x = t(4, 5)
    assert gradcheck(lambda x: x.max(1).values, [x])
    assert gradcheck(lambda x: x.min(0, keepdim=True)[0], [x])
    assert gradcheck(lambda x: F.sort(x, 1, descending=True).values, [x])
    assert gradcheck(lambda x: F.topk(x, 2, 0).values, [x])


def test_max_with_dim_returns_values_and_indices():
    x = st.tensor([[1.0, 5.0, 5.0], [4.0, 2.0, 6.0]], requires_grad=True)
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    values.sum().backward()  # the first maximum alone gets the gradient, as in PyTorch
    assert x.grad.tolist() == [[0, 1, 0], [0, 0, 1]]
    assert st.min(x, dim=0).indices.tolist() == [0, 1, 0]
    assert x.max().item() == 6.0 and x.max(axis=1).tolist() == [5.0, 6.0]
    assert st.sort(x, 1, descending=True).indices.tolist() == [[1, 2, 0], [2, 0, 1]]
    assert x.argsort(1).tolist() == [[0, 1, 2], [1, 0, 2]]
    with pytest.raises(ValueError, match=r"topk: k must be an int in \[0, 3\]"):
        x.topk(4)


def test_pad_negative_widths_gradcheck():
    x = t(2, 6, 5)
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert gradcheck(lambda x: F.pad(x, (-1, 2, 2, -2), mode=mode), [x])


def test_conv_transpose2d_backward_with_output_padding_beyond_stride():
    x, w = t(2, 2, 3, 3), t(2, 2, 3, 3, seed=1)
    y = F.conv_transpose2d(x, w, stride=1, dilation=2, output_padding=1, padding=1)
    assert y.shape == (2, 2, 6, 6)
    assert gradcheck(
        lambda x, w: F.conv_transpose2d(x, w, stride=1, dilation=2, output_padding=1, padding=1),
        [x, w],
    )


def test_strings_are_refused_clearly():
    with pytest.raises(TypeError, match="a tensor holds numbers .* not string data"):
        st.tensor(["a", "b"])
    with pytest.raises(TypeError, match="not string data"):
        Tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="cannot make a tensor from list"):
        st.tensor([[1, 2], [3]])


@pytest.mark.parametrize(
    "make,shape,out",
    [
        (lambda: nn.Conv1d(3, 4, 3), (3, 9), (4, 7)),
        (lambda: nn.Conv2d(3, 4, 3, padding=(1,)), (3, 6, 6), (4, 6, 6)),
        (lambda: nn.Conv3d(3, 4, 3), (3, 5, 5, 5), (4, 3, 3, 3)),
        (lambda: nn.ConvTranspose1d(3, 4, 3, stride=2), (3, 5), (4, 11)),
        (lambda: nn.ConvTranspose2d(3, 4, 3), (3, 5, 5), (4, 7, 7)),
        (lambda: nn.MaxPool1d(2), (3, 8), (3, 4)),
        (lambda: nn.MaxPool2d(2), (3, 8, 8), (3, 4, 4)),
        (lambda: nn.MaxPool3d(2), (3, 4, 4, 4), (3, 2, 2, 2)),
        (lambda: nn.AvgPool1d(2), (3, 8), (3, 4)),
        (lambda: nn.AvgPool2d(2), (3, 8, 8), (3, 4, 4)),
        (lambda: nn.AvgPool3d(2), (3, 4, 4, 4), (3, 2, 2, 2)),
        (lambda: nn.AdaptiveAvgPool1d(3), (3, 8), (3, 3)),
        (lambda: nn.AdaptiveAvgPool2d(3), (3, 8, 8), (3, 3, 3)),
        (lambda: nn.AdaptiveMaxPool1d(3), (3, 8), (3, 3)),
        (lambda: nn.AdaptiveMaxPool2d(3), (3, 8, 8), (3, 3, 3)),
        (lambda: nn.InstanceNorm1d(3), (3, 8), (3, 8)),
        (lambda: nn.InstanceNorm2d(3, affine=True), (3, 4, 4), (3, 4, 4)),
        (lambda: nn.InstanceNorm3d(3), (3, 2, 4, 4), (3, 2, 4, 4)),
        (lambda: nn.PixelShuffle(2), (8, 3, 3), (2, 6, 6)),
        (lambda: nn.PixelUnshuffle(2), (2, 6, 6), (8, 3, 3)),
    ],
)
def test_modules_take_unbatched_inputs(make, shape, out):
    m = make()
    x = t(*shape, grad=False).to(np.float32)
    y = m(x)
    assert y.shape == out
    batched = m(x.reshape((1,) + shape))  # the same as a batch of one
    np.testing.assert_allclose(y.data, batched.data[0], rtol=1e-6)


def test_embedding_module():
    emb = nn.Embedding(10, 4, padding_idx=0, generator=st.Generator(0))
    assert (emb.weight.data[0] == 0).all()
    assert emb(np.array([[1, 0], [3, 9]])).shape == (2, 2, 4)
    frozen = nn.Embedding.from_pretrained(np.eye(3))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(np.array([2])).data, [[0, 0, 1]])


def test_conv3d_module_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Conv3d\(3→4, k=3\): input has 2 channels"):
        nn.Conv3d(3, 4, 3)(Tensor(np.zeros((1, 2, 5, 5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"Conv3d.*expected a 5-D or 4-D input"):
        nn.Conv3d(3, 4, 3)(Tensor(np.zeros((5, 5, 5), np.float32)))
