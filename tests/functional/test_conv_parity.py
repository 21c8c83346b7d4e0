"""Forward and every gradient against torch.nn.functional on the same inputs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

from strided.autograd import Tensor  # noqa: E402
from strided.device import to_numpy  # noqa: E402
from strided.functional import conv as C  # noqa: E402
from strided.functional import pool as P  # noqa: E402
from strided.functional.padding import pad  # noqa: E402
from strided.functional.upsample import upsample_nearest  # noqa: E402

# every test once per device present (cpu, the simulated GPU, cuda where there is one)
pytestmark = [pytest.mark.parity, pytest.mark.on_devices]
rng = np.random.default_rng(99)


def host(t):
    """A tensor's values as a NumPy array, wherever it lives (CuPy refuses np.asarray)."""
    return to_numpy(t.data)


def run_both(ours, theirs, arrays, dtype=np.float32):
    arrays = [a.astype(dtype) for a in arrays]
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = ours(*ts), theirs(*tt)
    assert y.shape == tuple(yt.shape) and y.dtype == dtype
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.tensor(g))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(host(y), yt.detach().numpy(), **tol)
    for a, b in zip(ts, tt, strict=True):
        np.testing.assert_allclose(host(a.grad), b.grad.numpy(), **tol)


CONV = [  # N, C, O, H, W, k, stride, padding, dilation, groups
    (4, 3, 8, 17, 15, (3, 3), 1, 1, 1, 1),
    (2, 4, 6, 16, 13, (3, 2), 2, (1, 0), 1, 2),
    (2, 6, 6, 12, 12, (3, 3), 1, "same", 2, 6),
    (3, 8, 4, 9, 9, (1, 1), 1, 0, 1, 1),
    (2, 3, 6, 14, 11, (5, 3), (2, 3), 2, (1, 2), 3),
    (2, 16, 32, 8, 8, (3, 3), 2, 1, 1, 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV)
def test_conv2d_parity(case, dtype):
    N, Ci, O, H, W, k, s, p, d, g = case
    arrays = [
        rng.standard_normal((N, Ci, H, W)),
        rng.standard_normal((O, Ci // g) + k),
        rng.standard_normal(O),
    ]
    run_both(
        lambda x, w, b: C.conv2d(x, w, b, s, p, d, g),
        lambda x, w, b: TF.conv2d(x, w, b, s, p, d, g),
        arrays,
        dtype,
    )


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_mode_parity(mode):
    arrays = [
        rng.standard_normal((2, 3, 7, 8)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    ]

    def theirs(x, w, b):  # what torch.nn.Conv2d(padding_mode=mode) does
        return TF.conv2d(TF.pad(x, (1, 1, 2, 2), mode=mode), w, b)

    run_both(
        lambda x, w, b: C.conv2d(x, w, b, padding=(2, 1), padding_mode=mode),
        theirs,
        arrays,
        np.float64,
    )


def test_conv1d_parity():
    arrays = [
        rng.standard_normal((3, 4, 20)),
        rng.standard_normal((6, 2, 5)),
        rng.standard_normal(6),
    ]
    run_both(
        lambda x, w, b: C.conv1d(x, w, b, 2, 3, 2, 2),
        lambda x, w, b: TF.conv1d(x, w, b, 2, 3, 2, 2),
        arrays,
    )


@pytest.mark.parametrize(
    "case",
    [
        (2, 8, 4, 7, 6, 3, 2, 1, 1, 1, 1),
        (2, 4, 6, 5, 5, 4, 2, 1, 0, 1, 2),
        (1, 6, 6, 6, 7, 3, 3, 2, (2, 1), 2, 3),
        (2, 4, 4, 5, 5, 3, 1, 1, 0, 1, 4),
    ],
)
def test_conv_transpose2d_parity(case):
    N, Ci, Co, H, W, k, s, p, op, d, g = case
    arrays = [
        rng.standard_normal((N, Ci, H, W)),
        rng.standard_normal((Ci, Co // g, k, k)),
        rng.standard_normal(Co),
    ]
    run_both(
        lambda x, w, b: C.conv_transpose2d(x, w, b, s, p, op, g, d),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, s, p, op, g, d),
        arrays,
    )


def test_conv_transpose1d_parity():
    arrays = [
        rng.standard_normal((2, 4, 9)),
        rng.standard_normal((4, 3, 4)),
        rng.standard_normal(3),
    ]
    run_both(
        lambda x, w, b: C.conv_transpose1d(x, w, b, 3, 1, 2),
        lambda x, w, b: TF.conv_transpose1d(x, w, b, 3, 1, 2),
        arrays,
    )


def test_unfold_fold_parity():
    x = rng.standard_normal((2, 3, 9, 8))
    run_both(
        lambda x: C.unfold(x, (3, 2), (2, 1), 1, (2, 3)),
        lambda x: TF.unfold(x, (3, 2), (2, 1), 1, (2, 3)),
        [x],
    )
    cols = rng.standard_normal((2, 3 * 6, 4 * 3))
    run_both(
        lambda c: C.fold(c, (9, 8), (3, 2), (2, 1), 1, (2, 3)),
        lambda c: TF.fold(c, (9, 8), (3, 2), (2, 1), 1, (2, 3)),
        [cols],
    )


@pytest.mark.parametrize(
    "case",
    [
        (2, 2, 0, 1, False),
        (3, 2, 1, 1, True),
        ((3, 2), (2, 1), (1, 0), (2, 1), False),
        (3, 3, 1, 1, True),
    ],
)
def test_max_pool2d_parity(case):
    k, s, p, d, cm = case
    x = rng.permutation(2 * 3 * 13 * 11).reshape(2, 3, 13, 11) * 0.01
    run_both(
        lambda x: P.max_pool2d(x, k, s, p, d, cm), lambda x: TF.max_pool2d(x, k, s, p, d, cm), [x]
    )
    y, i = P.max_pool2d(Tensor(x), k, s, p, d, cm, return_indices=True)
    _, it = TF.max_pool2d(torch.tensor(x), k, s, p, d, cm, return_indices=True)
    np.testing.assert_array_equal(host(i), it.numpy())
    if k != s:  # torch's max_unpool2d refuses output sizes that overlapping windows need
        return
    u = P.max_unpool2d(y, i, k, s, p, output_size=(13, 11))
    np.testing.assert_array_equal(
        host(u), TF.max_unpool2d(torch.tensor(host(y)), it, k, s, p, output_size=(13, 11)).numpy()
    )


# every kind of window layout the max-pool kernel splits differently: tiles (k = s), one
# phase (s = 1, separable), 2×2 / 3×3 phases with padding, gaps (k < s), dilation whose
# phases start at a row offset (d = 3, s = 2), ceil_mode overhang, rectangular everything
MAX_LAYOUTS = [
    (2, 2, 0, 1, False),
    (3, 1, 1, 1, False),
    (5, 1, 2, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    (2, 3, 0, 1, True),
    (3, 2, 1, 3, False),
    ((2, 3), (1, 2), (1, 1), 1, True),
    ((3, 2), (3, 1), (0, 1), (1, 2), True),
]


@pytest.mark.parametrize("case", MAX_LAYOUTS)
@pytest.mark.parametrize("values", ["ties", "nan", "channels_first"])
def test_max_pool2d_parity_layouts(case, values):
    """Values, gradients and indices against torch, with ties (the first maximum in
    row-major order wins), NaNs (they win), and an input that is a conv's channels-first
    output."""
    k, s, p, d, cm = case
    x = rng.integers(-3, 4, size=(3, 4, 13, 12)).astype(np.float32)  # many ties
    if values == "nan":
        x[0, 1, 4, 5] = x[2, 3, 0, 0] = x[1, 0, 12, 11] = np.nan
    xs, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    w = np.eye(4, dtype=np.float32).reshape(4, 4, 1, 1)
    if values == "channels_first":  # a 1×1 identity conv hands over its (C, N, H, W) layout
        src, srct = C.conv2d(xs, Tensor(w)), TF.conv2d(xt, torch.tensor(w))
    else:
        src, srct = xs, xt
    y, i = P.max_pool2d(src, k, s, p, d, cm, return_indices=True)
    yt, it = TF.max_pool2d(srct, k, s, p, d, cm, return_indices=True)
    np.testing.assert_array_equal(host(y), yt.detach().numpy())
    np.testing.assert_array_equal(host(i), it.numpy())
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(host(xs.grad), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


def _some_window_misses_the_input(n, k, s, p, d, out):
    """Along one axis: is there an output whose taps all fall in the padding? (There
    PyTorch's index points at a neighbouring row, and its backward can write outside the
    input: nothing to compare against.)"""
    return any(all(not 0 <= o * s - p + t * d < n for t in range(k)) for o in range(out))


def test_max_pool2d_parity_random_layouts():
    """150 random kernel / stride / padding / dilation / ceil_mode / size combinations
    with ties and NaNs: values, indices and gradients as PyTorch's."""
    gen = np.random.default_rng(5)
    checked = 0
    while checked < 150:
        (kh, kw), (sh, sw), (dh, dw) = (
            gen.integers(1, 5, 2),
            gen.integers(1, 4, 2),
            gen.integers(1, 3, 2),
        )
        ph, pw = gen.integers(0, kh // 2 + 1), gen.integers(0, kw // 2 + 1)
        H = int(gen.integers(max(1, (kh - 1) * dh + 1 - 2 * ph), 12))
        W = int(gen.integers(max(1, (kw - 1) * dw + 1 - 2 * pw), 12))
        cm = bool(gen.integers(0, 2))
        x = gen.integers(-3, 4, size=(int(gen.integers(1, 3)), int(gen.integers(1, 4)), H, W))
        x = x.astype(np.float64)
        if gen.random() < 0.2:
            x[tuple(gen.integers(0, n) for n in x.shape)] = np.nan
        args = ((kh, kw), (sh, sw), (ph, pw), (dh, dw), cm)
        try:
            yt, it = TF.max_pool2d(torch.tensor(x, requires_grad=True), *args, return_indices=True)
        except RuntimeError:  # a layout torch refuses
            continue
        if _some_window_misses_the_input(
            H, kh, sh, ph, dh, yt.shape[2]
        ) or _some_window_misses_the_input(W, kw, sw, pw, dw, yt.shape[3]):
            continue
        xs, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
        y, i = P.max_pool2d(xs, *args, return_indices=True)
        yt, it = TF.max_pool2d(xt, *args, return_indices=True)
        g = gen.standard_normal(y.shape)
        y.backward(g)
        yt.backward(torch.tensor(g))
        np.testing.assert_array_equal(host(y), yt.detach().numpy(), err_msg=str(args))
        np.testing.assert_array_equal(host(i), it.numpy(), err_msg=str(args))
        np.testing.assert_allclose(host(xs.grad), xt.grad.numpy(), err_msg=str(args))
        checked += 1


@pytest.mark.parametrize(
    "case",
    [
        (2, 2, 0, False, True, None),
        (3, 2, 1, True, True, None),
        (3, 2, 1, True, False, None),
        ((3, 2), (2, 1), (1, 1), False, False, None),
        (3, 3, 1, False, True, 5),
    ],
)
def test_avg_pool2d_parity(case):
    k, s, p, cm, cip, div = case
    x = rng.standard_normal((2, 3, 13, 11))
    run_both(
        lambda x: P.avg_pool2d(x, k, s, p, cm, cip, div),
        lambda x: TF.avg_pool2d(x, k, s, p, cm, cip, div),
        [x],
    )


def test_pool1d_and_adaptive_parity():
    x1 = rng.permutation(2 * 3 * 17).reshape(2, 3, 17) * 0.1
    run_both(
        lambda x: P.max_pool1d(x, 3, 2, 1, 1, True),
        lambda x: TF.max_pool1d(x, 3, 2, 1, 1, True),
        [x1],
    )
    run_both(
        lambda x: P.avg_pool1d(x, 4, 3, 2, True, False),
        lambda x: TF.avg_pool1d(x, 4, 3, 2, True, False),
        [x1],
    )
    run_both(lambda x: P.adaptive_avg_pool1d(x, 5), lambda x: TF.adaptive_avg_pool1d(x, 5), [x1])
    x = rng.permutation(2 * 3 * 13 * 10).reshape(2, 3, 13, 10) * 0.1
    for out in [(1, 1), (4, 3), (5, 7), (13, 10)]:
        run_both(
            lambda x: P.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), [x]
        )
        run_both(
            lambda x: P.adaptive_max_pool2d(x, out), lambda x: TF.adaptive_max_pool2d(x, out), [x]
        )
        _, i = P.adaptive_max_pool2d(Tensor(x), out, return_indices=True)
        _, it = TF.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
        np.testing.assert_array_equal(host(i), it.numpy())


def test_pad_and_upsample_parity():
    x = rng.standard_normal((2, 3, 5, 6))
    for mode in ["constant", "reflect", "replicate", "circular"]:
        run_both(lambda x: pad(x, (2, 1, 3, 4), mode), lambda x: TF.pad(x, (2, 1, 3, 4), mode), [x])
    run_both(
        lambda x: upsample_nearest(x, scale_factor=2),
        lambda x: TF.interpolate(x, scale_factor=2, mode="nearest"),
        [x],
    )
    run_both(
        lambda x: upsample_nearest(x, size=(7, 13)),
        lambda x: TF.interpolate(x, size=(7, 13), mode="nearest"),
        [x],
    )
