"""Reductions: values against NumPy, gradcheck over axes/keepdims, tie rules, spellings."""

import numpy as np
import pytest

import strided as st
from strided import functional as F
from strided.gradcheck import gradcheck

pytestmark = pytest.mark.on_devices


def t(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return st.Tensor(rng.standard_normal(shape), requires_grad=True)


AXES = [None, 0, 1, -1, (0, 2), (2, 0, 1)]

REFS = {
    "sum": (F.sum, np.sum),
    "mean": (F.mean, np.mean),
    "var": (F.var, lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1)),
    "std": (F.std, lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims, ddof=1)),
    "max": (F.max, np.max),
    "min": (F.min, np.min),
    "logsumexp": (
        F.logsumexp,
        lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)),
    ),
}


@pytest.mark.parametrize("name", REFS)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_values_and_gradcheck(name, axis, keepdims):
    f, ref = REFS[name]
    x = t(3, 2, 5, seed=7)
    out = f(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, ref(x.data, axis=axis, keepdims=keepdims), rtol=1e-12)
    assert out.dtype == np.float64
    assert gradcheck(lambda x: f(x, axis=axis, keepdims=keepdims), [x])


def test_torch_spellings_and_methods():
    x = t(3, 4)
    np.testing.assert_allclose(F.sum(x, dim=1, keepdim=True).data, x.data.sum(1, keepdims=True))
    np.testing.assert_allclose(x.mean(dim=(0, 1)).data, x.data.mean())
    np.testing.assert_allclose(x.max(1).values.data, x.data.max(1))
    np.testing.assert_array_equal(x.max(1).indices.data, x.data.argmax(1))
    np.testing.assert_allclose(x.max(axis=1).data, x.data.max(1))
    np.testing.assert_allclose(x.amin(0).data, x.data.min(0))
    np.testing.assert_allclose(x.var(unbiased=False).data, x.data.var())
    np.testing.assert_allclose(x.std(correction=0, dim=0).data, x.data.std(0))
    with pytest.raises(TypeError, match="axis or dim"):
        F.sum(x, axis=0, dim=1)


def test_axis_errors():
    x = st.zeros(2, 3)
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        F.sum(x, axis=2)
    with pytest.raises(ValueError, match="repeats"):
        F.mean(x, axis=(1, -1))


def test_max_ties_share_gradient_evenly():
    x = st.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    F.max(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [0.5, 0, 0.5]])
    x.grad = None
    x.max().backward()  # whole-tensor max: one winner
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [0, 0, 0]])


def test_min_gradient_goes_to_argmin():
    x = st.tensor([4.0, -1.0, 2.0], requires_grad=True)
    x.min().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0])


def test_argmax_argmin_no_grad_int64():
    x = st.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]], requires_grad=True)
    a = F.argmax(x, axis=1)
    assert a.dtype == np.int64 and not a.requires_grad
    np.testing.assert_array_equal(a.data, [1, 0])  # first of ties
    assert F.argmax(x).item() == 3
    np.testing.assert_array_equal(x.argmin(dim=1, keepdim=True).data, [[0], [1]])


def test_logsumexp_stable():
    x = st.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=np.float64, requires_grad=True)
    y = F.logsumexp(x, axis=1)
    np.testing.assert_allclose(y.data, [1000 + np.log(2), -1000 + np.log(2)])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 0.5)
    ninf = F.logsumexp(st.tensor([-np.inf, -np.inf]))
    assert ninf.item() == -np.inf


def test_var_single_element_is_nan_like_torch():
    assert np.isnan(F.var(st.tensor([3.0])).item())
    assert F.var(st.tensor([3.0]), correction=0).item() == 0


def test_float32_preserved_and_int_mean_is_float():
    x = st.randn(4, 5, requires_grad=True)
    for f in (F.sum, F.mean, F.var, F.std, F.max, F.logsumexp):
        assert f(x, axis=1).dtype == np.float32
    assert F.mean(st.arange(4)).dtype == np.float32
    assert F.mean(st.arange(4)).item() == 1.5


def test_any_all():
    x = st.tensor([[0, 1], [0, 0]])
    np.testing.assert_array_equal(x.any(1).data, [True, False])
    assert not x.all().item() and x.any().item()
