"""Compiled ReLU and BatchNorm kernels against the NumPy reference, in float32 and float64,
over random shapes and layouts; determinism across calls and thread counts."""

import numpy as np
import pytest

import strided as st
from strided.kernels import compiled, flat
from strided.kernels.activation import relu_backward, relu_forward
from strided.kernels.norm import batch_norm_backward, batch_norm_forward

pytestmark = pytest.mark.skipif(not compiled.numba_available(), reason="needs Numba")

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def both(function, *args, **kwargs):
    """(compiled result, reference result) of one kernel call."""
    previous = compiled.use_kernels("numba")
    try:
        fast = function(*args, **kwargs)
        compiled.use_kernels("numpy")
        slow = function(*args, **kwargs)
    finally:
        compiled.use_kernels(previous)
    return fast, slow


def layouts(a):
    """a C-ordered, channels-first (a conv's output seen as NCHW), and strided."""
    yield a
    if a.ndim == 4:
        yield np.ascontiguousarray(a.swapaxes(0, 1)).swapaxes(0, 1)
    yield a[..., ::2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(6))
def test_relu_matches_the_reference(dtype, seed, monkeypatch):
    monkeypatch.setattr(flat, "PARALLEL_MIN", 100_000)
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 9, size=rng.integers(1, 5)))
    shape = shape if seed % 2 else (64, 16, 16, 17)  # big enough to run in parallel
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[rng.integers(0, x.size, 3)] = [np.nan, 0.0, -0.0]
    for xv in layouts(x):
        (y, m), (y0, m0) = both(relu_forward, xv, True)
        assert y.dtype == dtype and y.shape == xv.shape
        np.testing.assert_array_equal(y, y0)
        np.testing.assert_array_equal(m, m0)
        g = rng.standard_normal(xv.shape).astype(dtype)
        for gv in layouts(g):
            if gv.shape != m.shape:
                continue
            gx, gx0 = both(relu_backward, gv, m)
            np.testing.assert_array_equal(gx, gx0)


def test_relu_without_mask_returns_none():
    y, m = relu_forward(np.arange(-3.0, 3.0), False)
    assert m is None and list(y) == [0, 0, 0, 0, 1, 2]


def _bn_case(rng, dtype, big):
    A, C, B = (1, 16, 70000) if big else tuple(int(v) for v in rng.integers(1, 9, 3))
    B = max(B, 2)
    v = (rng.standard_normal((A, C, B)) * 3 + 1).astype(dtype)
    w = rng.standard_normal(C).astype(dtype) if rng.random() < 0.7 else None
    b = rng.standard_normal(C).astype(dtype) if rng.random() < 0.7 else None
    return v, w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_the_reference(dtype, seed, training):
    rng = np.random.default_rng(seed)
    v, w, b = _bn_case(rng, dtype, big=seed == 0)
    C = v.shape[1]
    rm = None if training else rng.standard_normal(C).astype(dtype)
    rv = None if training else rng.random(C).astype(dtype) + 0.5
    fast, slow = both(batch_norm_forward, v, w, b, rm, rv, 1e-5)
    for got, want in zip(fast, slow, strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **TOL[dtype])
    g = rng.standard_normal(v.shape).astype(dtype)
    xc, invstd = slow[1], slow[2]
    for needs in [(True, True, True), (True, False, False), (False, True, True)]:
        fast_g, slow_g = both(batch_norm_backward, g, xc, invstd, w, training, needs)
        for got, want, need in zip(fast_g, slow_g, needs, strict=True):
            if not need:
                assert got is None and want is None
                continue
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(
                got, want, rtol=TOL[dtype]["rtol"] * 10, atol=TOL[dtype]["atol"] * 10 * scale
            )


def test_compiled_kernels_are_deterministic_across_calls_and_thread_counts(monkeypatch):
    monkeypatch.setattr(flat, "PARALLEL_MIN", 100_000)
    rng = np.random.default_rng(0)
    v, w, b = _bn_case(rng, np.float32, big=True)
    g = rng.standard_normal(v.shape).astype(np.float32)
    first = st.get_num_threads()
    results = []
    try:
        for n in sorted({1, first, first}):
            st.set_num_threads(n)
            for _ in range(2):
                out, xc, invstd, mean, var = batch_norm_forward(v, w, b, None, None, 1e-5)
                grads = batch_norm_backward(g, xc, invstd, w, True, (True, True, True))
                y, m = relu_forward(out, True)
                results.append((out, mean, var, *grads, y, relu_backward(g, m)))
    finally:
        st.set_num_threads(first)
    for other in results[1:]:
        for a, b_ in zip(results[0], other, strict=True):
            assert a.tobytes() == b_.tobytes()
