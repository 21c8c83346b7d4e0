"""Every convolution strategy against the plain reference (im2col, one GEMM, col2im), over
random geometries the strategy takes, in float32 and float64: forward, input gradient,
weight gradient; the adjoint identity <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> per
strategy; bit-identical repeats; and the plan's choices. The array-module strategies again
on every device present, against the NumPy reference on the host."""

import numpy as np
import pytest

from simulated_gpu import SimBackend
from strided.device import device_of, move, to_numpy
from strided.kernels import compiled
from strided.kernels.conv import (
    ConvGeometry,
    blocks,
    columns,
    depthwise,
    flat,
    plan,
    pointwise,
    polyphase,
    reference,
    winograd,
)
from strided.kernels.conv.plan import XP_GENERIC
from strided.kernels.im2col import from_cnhw

TOL = {np.float64: 1e-10, np.float32: 2e-5}


def _random_geometry(rng, kind: str) -> ConvGeometry:
    """A random geometry that strategy `kind` takes."""
    N = int(rng.integers(1, 4))
    H, W = (int(v) for v in rng.integers(4, 13, size=2))
    if kind == "pointwise":
        C, O = (int(v) for v in rng.integers(1, 7, size=2))
        return ConvGeometry(N, C, H, W, O, 1, 1, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    if kind == "winograd":
        C, O = (int(v) for v in rng.integers(1, 7, size=2))
        pads = tuple(tuple(int(v) for v in rng.integers(0, 3, size=2)) for _ in range(2))
        return ConvGeometry(N, C, H, W, O, 3, 3, (1, 1), pads, (1, 1), 1)
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    groups = 1
    stride = (1, 1)
    dilation = (1, 1)
    if kind == "depthwise":
        C = O = groups = int(rng.integers(1, 6))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=2))
    elif kind == "flat":
        g = int(rng.integers(1, 3))
        C, O = g * int(rng.integers(1, 4)), g * int(rng.integers(1, 4))
        groups = g
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=2))
    elif kind == "polyphase":
        C, O = (int(v) for v in rng.integers(1, 6, size=2))
        stride = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
        kh, kw = max(kh, stride[0]), max(kw, stride[1])
    else:  # columns: anything, strided
        g = int(rng.integers(1, 3))
        C, O, groups = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3)), g
        stride = tuple(int(v) for v in rng.integers(2, 4, size=2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=2))
    pads = tuple(tuple(int(v) for v in rng.integers(0, 3, size=2)) for _ in range(2))
    # the (dilated) kernel must fit the padded input
    H = max(H, dilation[0] * (kh - 1) + 1)
    W = max(W, dilation[1] * (kw - 1) + 1)
    return ConvGeometry(N, C, H, W, O, kh, kw, stride, pads, dilation, groups)


def _arrays(rng, g: ConvGeometry, dtype, channels_first: bool):
    """x, w, dy for geometry g; x and dy as NCHW arrays or as channels-first views (as a
    conv's output lies)."""

    def lay(shape):
        a = rng.standard_normal(shape).astype(dtype)
        if channels_first:
            return from_cnhw(np.ascontiguousarray(a.transpose(1, 0, 2, 3)))
        return a

    x = lay((g.N, g.C, g.H, g.W))
    w = rng.standard_normal((g.O, g.C // g.groups, g.kh, g.kw)).astype(dtype)
    dy = lay((g.N, g.O) + g.out_hw)
    return x, w, dy


COMPILED = {"depthwise", "winograd"}
needs_numba = pytest.mark.skipif(
    not compiled.numba_available(), reason="compiled kernels need Numba"
)

STRATEGIES = {
    "depthwise": depthwise,
    "winograd": winograd,
    "flat": flat,
    "polyphase": polyphase,
    "pointwise": pointwise,
    "columns": columns,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_strategy_matches_the_reference(kind, dtype):
    if kind in COMPILED and not compiled.numba_available():
        pytest.skip("compiled kernels need Numba")
    module = STRATEGIES[kind]
    rng = np.random.default_rng(sum(map(ord, kind)) + (dtype == np.float32))
    for case in range(12):
        g = _random_geometry(rng, kind)
        x, w, dy = _arrays(rng, g, dtype, channels_first=bool(case % 2))
        for name, got, want in [
            ("forward", module.forward(x, w, g), reference.forward(x, w, g)),
            ("input_grad", module.input_grad(dy, w, g), reference.input_grad(dy, w, g)),
            ("weight_grad", module.weight_grad(x, dy, g), reference.weight_grad(x, dy, g)),
        ]:
            assert got.shape == want.shape and got.dtype == dtype, (name, g)
            scale = max(1.0, float(np.abs(want).max()))
            err = float(np.abs(got - want).max()) / scale
            assert err < TOL[dtype], f"{kind}.{name} off by {err:.2e} for {g}"


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_adjoint_identity_per_strategy(kind):
    """<conv(x), y> == <x, conv_transpose(y)>: the input gradient is the forward's adjoint."""
    if kind in COMPILED and not compiled.numba_available():
        pytest.skip("compiled kernels need Numba")
    module = STRATEGIES[kind]
    rng = np.random.default_rng(7 + len(kind))
    for _ in range(6):
        g = _random_geometry(rng, kind)
        x, w, y = _arrays(rng, g, np.float64, channels_first=False)
        lhs = float(np.vdot(module.forward(x, w, g), y))
        rhs = float(np.vdot(x, module.input_grad(y, w, g)))
        assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10), g


@needs_numba
@pytest.mark.parametrize("kind", sorted(COMPILED))
def test_compiled_strategies_repeat_bit_for_bit(kind):
    module = STRATEGIES[kind]
    rng = np.random.default_rng(3)
    g = _random_geometry(rng, kind)._replace(N=6)  # several images per thread
    x, w, dy = _arrays(rng, g, np.float32, channels_first=False)
    for fn, args in [
        (module.forward, (x, w, g)),
        (module.input_grad, (dy, w, g)),
        (module.weight_grad, (x, dy, g)),
    ]:
        first, second = fn(*args), fn(*args)
        assert np.array_equal(first, second)


@needs_numba
def test_winograd_on_many_images_uses_several_blocks_alike():
    """Images run in blocks (BLOCK_BYTES); the result does not depend on the blocking."""
    rng = np.random.default_rng(5)
    g = ConvGeometry(9, 3, 10, 10, 4, 3, 3, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    x, w, dy = _arrays(rng, g, np.float64, channels_first=False)
    saved = winograd.BLOCK_BYTES
    try:
        winograd.BLOCK_BYTES = 1  # one image per block
        blocked = [winograd.forward(x, w, g), winograd.weight_grad(x, dy, g)]
    finally:
        winograd.BLOCK_BYTES = saved
    np.testing.assert_allclose(blocked[0], reference.forward(x, w, g), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(blocked[1], reference.weight_grad(x, dy, g), rtol=1e-10, atol=1e-10)


def _geometry(N, C, O, H, k, s=1, p=1, groups=1, d=1):
    return ConvGeometry(N, C, H, H, O, k, k, (s, s), ((p, p), (p, p)), (d, d), groups)


def test_plan_is_fixed_by_the_geometry_and_the_kernel_choice():
    layers = {
        "depthwise": _geometry(32, 64, 64, 32, 3, groups=64),
        "vgg": _geometry(8, 64, 64, 56, 3),
        "resnet16": _geometry(128, 16, 16, 32, 3),
        "resnet64": _geometry(128, 64, 64, 8, 3),
        "stride2": _geometry(128, 16, 32, 32, 3, s=2),
        "pointwise": _geometry(32, 64, 256, 14, 1, p=0),
        "dilated": _geometry(4, 8, 8, 16, 3, p=2, d=2),
    }
    previous = compiled.use_kernels("numpy")
    try:
        numpy_plans = {name: plan(g) for name, g in layers.items()}
    finally:
        compiled.use_kernels(previous)
    # the reference choice never reaches a compiled strategy
    assert not {depthwise, winograd} & set(numpy_plans.values())
    assert numpy_plans["stride2"] is polyphase and numpy_plans["pointwise"] is pointwise
    if compiled.numba_available():
        previous = compiled.use_kernels("numba")
        try:
            plans = {name: plan(g) for name, g in layers.items()}
            assert plans == {name: plan(g) for name, g in layers.items()}  # chosen once
        finally:
            compiled.use_kernels(previous)
        assert plans["depthwise"] is depthwise and plans["vgg"] is winograd
        assert plans["resnet16"] is flat and plans["resnet64"] is winograd
        assert plans["dilated"] is flat and plans["stride2"] is polyphase


# ---------------------------------------------------------------------------------------
# On devices: the strategies written for any array module
# ---------------------------------------------------------------------------------------

GENERIC = {m.__name__.rsplit(".", 1)[-1]: m for m in XP_GENERIC + (reference,)}


def _check_on_device(module, g, x, w, dy, device, dtype):
    """Every pass of `module` on `device` against the NumPy reference on the host; no
    array leaves the device."""
    xd, wd, dyd = (move(a, device) for a in (x, w, dy))
    host_reads = SimBackend.to_host_count
    passes = [
        ("forward", module.forward(xd, wd, g), reference.forward(x, w, g)),
        ("input_grad", module.input_grad(dyd, wd, g), reference.input_grad(dy, w, g)),
        ("weight_grad", module.weight_grad(xd, dyd, g), reference.weight_grad(x, dy, g)),
    ]
    assert SimBackend.to_host_count == host_reads, "a pass read its arrays back to the host"
    for name, got, want in passes:
        assert device_of(got) == device_of(xd), (name, g)
        got = to_numpy(got)
        assert got.shape == want.shape and got.dtype == dtype, (name, g)
        scale = max(1.0, float(np.abs(want).max()))
        err = float(np.abs(got - want).max()) / scale
        assert err < TOL[dtype], f"{module.__name__}.{name} off by {err:.2e} on {device} for {g}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", sorted(GENERIC))
def test_array_module_strategies_on_every_device_match_the_host_reference(kind, dtype, device):
    """forward, input and weight gradient; groups, dilation, stride, padding (each kind's
    random geometries; the reference takes the general ones), both input layouts."""
    module = GENERIC[kind]
    rng = np.random.default_rng(sum(map(ord, kind)) + 2 * (dtype == np.float32))
    for case in range(8):
        g = _random_geometry(rng, "columns" if kind == "reference" else kind)
        x, w, dy = _arrays(rng, g, dtype, channels_first=bool(case % 2))
        _check_on_device(module, g, x, w, dy, device, dtype)


def test_device_blocks_split_the_batch_alike(device, monkeypatch):
    """On a device the column blocks hold DEVICE_CHUNK_BYTES; with a tiny budget every
    image is its own block, and the result does not change."""
    monkeypatch.setattr(blocks, "DEVICE_CHUNK_BYTES", 1)
    rng = np.random.default_rng(12)
    for g in (
        ConvGeometry(5, 4, 9, 8, 6, 3, 3, (2, 1), ((1, 2), (0, 1)), (1, 2), 2),
        ConvGeometry(3, 3, 7, 7, 4, 3, 2, (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
    ):
        x, w, dy = _arrays(rng, g, np.float64, channels_first=False)
        _check_on_device(columns, g, x, w, dy, device, np.float64)


def test_the_plan_for_device_arrays_takes_array_module_strategies_only(device):
    """Never a compiled (Numba, NumPy-only) strategy for a device array; on a device, 1×1
    layers are one GEMM and everything else im2col + GEMM in large blocks."""
    layers = [
        _geometry(32, 64, 64, 32, 3, groups=64),  # depthwise
        _geometry(8, 64, 64, 56, 3),  # Winograd's on the CPU
        _geometry(128, 16, 32, 32, 3, s=2),
        _geometry(32, 64, 256, 14, 1, p=0),
        _geometry(4, 8, 8, 16, 3, p=2, d=2),
    ]
    like = move(np.zeros(1, np.float32), device)
    chosen = [plan(g, like) for g in layers]
    if device == "cpu":
        assert chosen == [plan(g, np.zeros(1, np.float32)) for g in layers]
        return
    assert set(chosen) <= set(XP_GENERIC)
    assert chosen == [columns, columns, columns, pointwise, columns]
