"""Elementwise functions, selections and comparisons."""

import numpy as np
import pytest

import strided as st
from strided import functional as F
from strided.gradcheck import gradcheck

pytestmark = pytest.mark.on_devices


def t(*shape, seed=0, low=None):
    rng = np.random.default_rng(seed)
    data = rng.uniform(low, 2.0, shape) if low is not None else rng.standard_normal(shape)
    return st.Tensor(data, requires_grad=True)


UNARY = {
    "exp": (F.exp, np.exp, None),
    "log": (F.log, np.log, 0.2),
    "sqrt": (F.sqrt, np.sqrt, 0.2),
    "abs": (F.abs, np.abs, None),
    "sin": (F.sin, np.sin, None),
    "cos": (F.cos, np.cos, None),
    "clone": (F.clone, np.copy, None),
    "clip": (lambda x: F.clip(x, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), None),
    "clamp_min": (lambda x: F.clamp(x, min=0.1), lambda a: np.maximum(a, 0.1), None),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    f, ref, low = UNARY[name]
    x = t(3, 7, seed=len(name), low=low)
    np.testing.assert_allclose(f(x).data, ref(x.data), rtol=1e-14)
    assert gradcheck(f, [x])
    y = f(st.randn(2, 3, requires_grad=True) if low is None else st.rand(2, 3) + 0.5)
    assert y.dtype == np.float32


def test_methods_match_functions():
    x = t(2, 3, low=0.5)
    for name in ("exp", "log", "sqrt", "abs", "sin", "cos", "sign"):
        np.testing.assert_array_equal(getattr(x, name)().data, getattr(F, name)(x).data)
    np.testing.assert_array_equal(x.clamp(0.6, 1.0).data, np.clip(x.data, 0.6, 1.0))
    np.testing.assert_array_equal(abs(-x).data, x.data)


def test_sign_and_abs_at_zero():
    x = st.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    assert not F.sign(x).requires_grad
    np.testing.assert_array_equal(F.sign(x).data, [-1, 0, 1])
    F.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1, 0, 1])


@pytest.mark.parametrize("f", [F.maximum, F.minimum])
def test_maximum_minimum_broadcast(f):
    a, b = t(3, 1, 4, seed=1), t(5, 1, seed=2)
    ref = np.maximum if f is F.maximum else np.minimum
    np.testing.assert_array_equal(f(a, b).data, ref(a.data, b.data))
    assert gradcheck(f, [a, b])


def test_maximum_tie_splits_gradient():
    a = st.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = st.tensor([1.0, 5.0, 0.0], requires_grad=True)
    F.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.5, 0, 1])
    np.testing.assert_array_equal(b.grad.data, [0.5, 1, 0])
    assert F.maximum(a, 0.0).dtype == np.float32


def test_clip_gradient_includes_bounds_and_tensor_bounds():
    x = st.tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    F.clip(x, 0.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 1, 0])
    lo = st.tensor([0.0, 0.0, 0.7, 0.0, 0.0])
    np.testing.assert_allclose(F.clip(x, lo, 1.5).data, [0, 0, 0.7, 1, 1.5], rtol=1e-6)
    with pytest.raises(ValueError, match="clip"):
        F.clip(x)


def test_where():
    a, b = t(3, 4, seed=1), t(4, seed=2)
    cond = a.data > 0
    np.testing.assert_array_equal(F.where(cond, a, b).data, np.where(cond, a.data, b.data))
    assert gradcheck(lambda a, b: F.where(st.Tensor(cond), a, b), [a, b])
    assert F.where(cond, a, 0.0).dtype == np.float64
    assert F.where(cond, 1.0, 0.0).dtype == np.float32
    with pytest.raises(ValueError, match=r"where.*\(3, 4\).*\(3,\)"):
        F.where(cond, a, st.zeros(3))


def test_comparisons_are_bool_without_grad():
    a = st.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = st.tensor([3.0, 2.0, 1.0])
    for op, ref in [
        (a == b, [0, 1, 0]),
        (a != b, [1, 0, 1]),
        (a < b, [1, 0, 0]),
        (a <= b, [1, 1, 0]),
        (a > b, [0, 0, 1]),
        (a >= 2, [0, 1, 1]),
        (2 < a, [0, 0, 1]),
        (F.eq(a, 2.0), [0, 1, 0]),
    ]:
        assert op.dtype == np.bool_ and not op.requires_grad
        np.testing.assert_array_equal(op.data, np.array(ref, bool))
    assert (a == None) is False  # noqa: E711
    assert len({a, b}) == 2 and a in {a: 1}  # still hashable by identity
    with pytest.raises(ValueError, match=r"eq: shapes \(3,\) and \(2,\)"):
        F.eq(a, st.zeros(2))


def test_mismatched_shapes_name_both():
    with pytest.raises(ValueError, match=r"maximum: shapes \(2, 3\) and \(4,\)"):
        F.maximum(st.zeros(2, 3), st.zeros(4))
