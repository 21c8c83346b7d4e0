"""The compiled cross-entropy (class-index targets, (N, C) logits) against the NumPy
reference: class weights, ignore_index, label smoothing, every reduction, float32/64."""

import numpy as np
import pytest

import strided as st
from strided.functional.loss import cross_entropy
from strided.kernels import compiled

pytestmark = pytest.mark.skipif(not compiled.numba_available(), reason="needs Numba")


def _loss_and_grad(kernels, x, y, w, eps, reduction):
    previous = compiled.use_kernels(kernels)
    try:
        xt = st.tensor(x, requires_grad=True, device="cpu")  # the compiled kernels: CPU
        loss = cross_entropy(
            xt,
            y,
            weight=None if w is None else st.tensor(w, device="cpu"),
            label_smoothing=eps,
            reduction=reduction,
        )
        (loss.sum() if reduction == "none" else loss).backward()
        return loss.data, xt.grad.data
    finally:
        compiled.use_kernels(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(12))
def test_cross_entropy_matches_the_reference(dtype, seed):
    rng = np.random.default_rng(seed)
    N, C = int(rng.integers(2, 40)), int(rng.integers(2, 12))
    x = (rng.standard_normal((N, C)) * 4).astype(dtype)
    y = rng.integers(0, C, N)
    y[rng.random(N) < 0.2] = -100  # ignored, but never all of them
    y[0] = int(rng.integers(0, C))
    w = rng.random(C).astype(dtype) + 0.1 if seed % 2 else None
    eps = (0.0, 0.1, 1.0)[seed % 3]
    reduction = ("mean", "sum", "none")[(seed // 3) % 3]
    (loss, grad), (loss0, grad0) = (
        _loss_and_grad(k, x, y, w, eps, reduction) for k in ("numba", "numpy")
    )
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    assert loss.dtype == loss0.dtype == dtype and grad.dtype == dtype
    np.testing.assert_allclose(loss, loss0, **tol)
    np.testing.assert_allclose(grad, grad0, **tol)


def test_nan_logits_give_nan_losses_as_the_reference():
    x = np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]], np.float32)
    loss, grad = _loss_and_grad("numba", x, np.array([0, 2]), None, 0.0, "none")
    loss0, grad0 = _loss_and_grad("numpy", x, np.array([0, 2]), None, 0.0, "none")
    np.testing.assert_array_equal(np.isnan(loss), np.isnan(loss0))
    np.testing.assert_allclose(loss[1], loss0[1], rtol=1e-6)
