"""The convolution family on every device present: each op's output and the gradients of
all its inputs on the device against the same op on the CPU, in float32 and float64, with
no array read back to the host on the way. The parity and gradcheck modules run on devices
too; these add conv3d, every padding and resizing mode, fold/unfold and the transposed
convolutions' odd arguments."""

import numpy as np
import pytest

import strided.functional as F
from simulated_gpu import SimBackend
from strided.autograd import Tensor
from strided.device import device_of, move, to_numpy

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-5, atol=2e-5)}

# name, function, input shapes (every input differentiable)
CASES = [
    (
        "conv2d groups dilation stride",
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
        [(2, 4, 9, 8), (6, 2, 3, 2), (6,)],
    ),
    ("conv2d 1x1", lambda x, w: F.conv2d(x, w), [(3, 5, 4, 6), (7, 5, 1, 1)]),
    ("conv2d same", lambda x, w: F.conv2d(x, w, padding="same"), [(2, 3, 7, 6), (4, 3, 2, 3)]),
    (
        "conv2d depthwise",
        lambda x, w: F.conv2d(x, w, padding=1, groups=3),
        [(2, 3, 6, 6), (3, 1, 3, 3)],
    ),
    *[
        (
            f"conv2d padding_mode {mode}",
            lambda x, w, mode=mode: F.conv2d(x, w, padding=(1, 2), padding_mode=mode),
            [(2, 2, 6, 7), (3, 2, 3, 3)],
        )
        for mode in ("reflect", "replicate", "circular")
    ],
    (
        "conv1d",
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
        [(2, 3, 11), (4, 3, 3), (4,)],
    ),
    (
        "conv_transpose2d output_padding groups",
        lambda x, w, b: F.conv_transpose2d(
            x, w, b, stride=2, padding=1, output_padding=1, groups=2
        ),
        [(2, 4, 4, 5), (4, 3, 3, 3), (6,)],
    ),
    (
        "conv_transpose2d output_padding beyond stride",
        lambda x, w: F.conv_transpose2d(x, w, stride=1, dilation=2, output_padding=1, padding=1),
        [(2, 2, 3, 3), (2, 2, 3, 3)],
    ),
    (
        "conv_transpose1d",
        lambda x, w: F.conv_transpose1d(x, w, stride=3, padding=1, output_padding=2),
        [(2, 3, 5), (3, 2, 4)],
    ),
    (
        "convolve2d",
        lambda x, w: F.convolve2d(x, w, stride=2, padding=1),
        [(2, 3, 7, 6), (4, 3, 3, 2)],
    ),
    (
        "conv3d groups stride dilation",
        lambda x, w, b: F.conv3d(
            x, w, b, stride=(1, 2, 1), padding=1, dilation=(2, 1, 1), groups=2
        ),
        [(2, 4, 6, 5, 5), (4, 2, 2, 3, 2), (4,)],
    ),
    (
        "conv3d same reflect",
        lambda x, w: F.conv3d(x, w, padding="same", padding_mode="reflect"),
        [(1, 2, 4, 5, 4), (3, 2, 2, 3, 2)],
    ),
    *[
        (
            f"pad {mode}",
            lambda x, mode=mode: F.pad(x, (2, 1, 1, 3), mode=mode, value=0.5),
            [(2, 3, 5, 6)],
        )
        for mode in ("constant", "reflect", "replicate", "circular")
    ],
    *[
        (
            f"pad {mode} cropping",
            lambda x, mode=mode: F.pad(x, (-1, 2, 2, -2), mode=mode),
            [(2, 6, 5)],
        )
        for mode in ("constant", "reflect", "replicate", "circular")
    ],
    (
        "unfold",
        lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        [(2, 3, 6, 5)],
    ),
    (
        "fold",
        lambda c: F.fold(c, (6, 5), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        [(2, 18, 12)],
    ),
    *[
        (
            f"interpolate {mode}",
            lambda x, mode=mode: F.interpolate(x, size=(7, 9), mode=mode),
            [(2, 3, 4, 5)],
        )
        for mode in ("nearest", "nearest-exact", "bilinear", "bicubic", "area")
    ],
    (
        "interpolate bilinear align_corners",
        lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True),
        [(2, 3, 4, 5)],
    ),
    (
        "interpolate linear",
        lambda x: F.interpolate(x, scale_factor=2.5, mode="linear"),
        [(2, 3, 5)],
    ),
    (
        "interpolate trilinear",
        lambda x: F.interpolate(x, size=(3, 5, 4), mode="trilinear"),
        [(1, 2, 2, 3, 4)],
    ),
    ("interpolate area down", lambda x: F.interpolate(x, size=(3, 2), mode="area"), [(2, 3, 7, 5)]),
    ("upsample_zeros", lambda x: F.upsample_zeros(x, (2, 3)), [(2, 3, 4, 5)]),
]


def _run(fn, arrays, where):
    """fn's output and its inputs' gradients for the output gradient `gy`, on `where`."""
    *inputs, gy = arrays
    ts = [Tensor(move(a, where), requires_grad=True) for a in inputs]
    y = fn(*ts)
    y.backward(move(gy, where))
    return y, [t.grad for t in ts]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_on_the_device_matches_the_cpu(case, dtype, device):
    _, fn, shapes = case
    rng = np.random.default_rng(len(case[0]))
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    shape = fn(*(Tensor(a) for a in arrays)).shape
    arrays.append(rng.standard_normal(shape).astype(dtype))
    host_reads = SimBackend.to_host_count
    y, grads = _run(fn, arrays, device)
    assert SimBackend.to_host_count == host_reads, "the op read an array back to the host"
    want_y, want_grads = _run(fn, arrays, "cpu")
    assert device_of(y.data) == device_of(move(arrays[0], device))
    assert y.dtype == dtype and y.shape == want_y.shape
    np.testing.assert_allclose(to_numpy(y.data), want_y.data, **TOL[dtype])
    for i, (got, want) in enumerate(zip(grads, want_grads, strict=True)):
        assert got is not None and device_of(got.data) == device_of(y.data), i
        np.testing.assert_allclose(to_numpy(got.data), want.data, **TOL[dtype], err_msg=str(i))
