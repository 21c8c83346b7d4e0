"""The compiled optimiser updates against the NumPy reference updates of strided.optim:
every option of SGD, Adam/AdamW, RMSprop and Adagrad, float32 and float64, small
parameters (one thread) and large ones (split over threads)."""

import numpy as np
import pytest

import strided as st
from strided.kernels import compiled, flat
from strided.optim import SGD, Adagrad, Adam, AdamW, RMSprop

pytestmark = pytest.mark.skipif(not compiled.numba_available(), reason="needs Numba")

CONFIGS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-2)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (Adam, dict(lr=1e-2)),
    (Adam, dict(lr=1e-2, weight_decay=1e-2, amsgrad=True)),
    (Adam, dict(lr=1e-2, betas=(0.8, 0.9), maximize=True)),
    (AdamW, dict(lr=1e-2, weight_decay=0.1)),
    (AdamW, dict(lr=1e-2, amsgrad=True)),
    (RMSprop, dict(lr=1e-2)),
    (RMSprop, dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=1e-2)),
    (RMSprop, dict(lr=1e-2, alpha=0.9, momentum=0.5, maximize=True)),
    (Adagrad, dict(lr=1e-1)),
    (Adagrad, dict(lr=1e-1, lr_decay=1e-2, weight_decay=1e-2, initial_accumulator_value=0.1)),
]


def _train(kernels, cls, options, dtype, sizes, steps=4, seed=0):
    previous = compiled.use_kernels(kernels)
    try:
        rng = np.random.default_rng(seed)
        params = [
            st.tensor(rng.standard_normal(n).astype(dtype), requires_grad=True) for n in sizes
        ]
        opt = cls(params, **options)
        for _ in range(steps):
            for p in params:
                p.grad = st.tensor(rng.standard_normal(p.shape).astype(dtype))
            opt.step()
        state = [
            {k: v for k, v in opt.state[p].items() if isinstance(v, np.ndarray)} for p in params
        ]
        return [p.data.copy() for p in params], state
    finally:
        compiled.use_kernels(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, options", CONFIGS, ids=lambda c: getattr(c, "__name__", ""))
def test_compiled_update_matches_the_reference(cls, options, dtype, monkeypatch):
    monkeypatch.setattr(flat, "PARALLEL_MIN", 100_000)
    sizes = [7, 1000, 140_001]  # the last one is split over threads
    fast, fast_state = _train("numba", cls, options, dtype, sizes)
    slow, slow_state = _train("numpy", cls, options, dtype, sizes)
    # centred RMSprop's √(s − ḡ²) cancels, amplifying float32 rounding
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)
    for sa, sb in zip(fast_state, slow_state, strict=True):
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_allclose(sa[k], sb[k], **tol)


@pytest.mark.parametrize("cls, options", CONFIGS[1::3], ids=lambda c: getattr(c, "__name__", ""))
def test_compiled_update_is_deterministic(cls, options, monkeypatch):
    monkeypatch.setattr(flat, "PARALLEL_MIN", 100_000)
    runs = [_train("numba", cls, options, np.float32, [140_001]) for _ in range(2)]
    assert runs[0][0][0].tobytes() == runs[1][0][0].tobytes()


def test_non_contiguous_parameters_take_the_reference():
    previous = compiled.use_kernels("numba")
    try:
        base = np.arange(12.0).reshape(3, 4)
        p = st.tensor(base.T, requires_grad=True)  # a transposed view: not C-contiguous
        p.grad = st.tensor(np.ones((4, 3)))
        Adam([p], lr=0.5).step()
        np.testing.assert_allclose(p.data, base.T - 0.5, rtol=1e-6)
    finally:
        compiled.use_kernels(previous)
