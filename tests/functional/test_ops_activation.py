"""Activations and (log-)softmax: values, gradients, and stability at ±1000."""

import math
import zlib

import numpy as np
import pytest

import strided as st
from strided import functional as F
from strided.device import to_numpy
from strided.functional.activation import _erf
from strided.gradcheck import gradcheck

pytestmark = pytest.mark.on_devices


def t(*shape, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return st.Tensor(scale * rng.standard_normal(shape), requires_grad=True)


def _np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


CASES = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (F.tanh, np.tanh),
    "softplus": (
        lambda x: F.softplus(x, beta=2.0, threshold=3.0),
        lambda x: _np_softplus(x, 2.0, 3.0),
    ),
    "gelu": (F.gelu, lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    "softmax": (
        lambda x: F.softmax(x, axis=1),
        lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True),
    ),
    "log_softmax": (
        lambda x: F.log_softmax(x, dim=0),
        lambda x: x - np.log(np.exp(x).sum(0, keepdims=True)),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradcheck(name):
    f, ref = CASES[name]
    x = t(3, 5, seed=zlib.crc32(name.encode()), scale=2.0)
    # keep inputs off the kinks (0 for the rectifiers), where the derivative jumps
    x.data[np.abs(x.data) < 1e-3] = 0.5
    np.testing.assert_allclose(f(x).data, ref(to_numpy(x.data)), rtol=1e-10, atol=1e-12)
    assert gradcheck(f, [x])


@pytest.mark.parametrize("name", CASES)
def test_float32_stays_float32(name):
    f, _ = CASES[name]
    x = st.randn(4, 3, requires_grad=True)
    y = f(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_relu_gradient_is_zero_at_zero_and_mask_only_when_recording():
    x = st.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1])
    with st.no_grad():
        y = F.relu(x)
    assert y.grad_fn is None


@pytest.mark.parametrize(
    "fn",
    [
        F.softmax,
        F.log_softmax,
        F.sigmoid,
        F.tanh,
        F.softplus,
        F.gelu,
        F.elu,
        lambda x: F.gelu(x, approximate="tanh"),
    ],
)
def test_stable_at_plus_minus_1000(fn):
    x = st.Tensor(
        np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0]]), requires_grad=True
    )
    y = fn(x)
    assert np.all(np.isfinite(y.data))
    y.backward(np.ones(y.shape))
    assert np.all(np.isfinite(x.grad.data))


def test_softmax_log_softmax_extreme_values():
    x = st.tensor([[1000.0, -1000.0, 0.0]], dtype=np.float64)
    np.testing.assert_allclose(F.softmax(x).data, [[1, 0, 0]])
    np.testing.assert_allclose(F.log_softmax(x).data, [[0, -2000, -1000]])
    s = F.softmax(t(4, 7), axis=-1)
    np.testing.assert_allclose(s.data.sum(-1), 1)


def test_softmax_axis_errors():
    with pytest.raises(ValueError, match=r"softmax.*axis 2.*\(3, 4\)"):
        F.softmax(st.zeros(3, 4), axis=2)


def test_softplus_linear_above_threshold():
    x = st.tensor([30.0, 100.0], dtype=np.float64, requires_grad=True)
    y = F.softplus(x)
    np.testing.assert_array_equal(y.data, x.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1, 1])


def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-7, 7, 2001), [0.0, 2.999999, 3.0, 3.000001]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf(x), ref, rtol=0, atol=2e-15)
    # on a device both formulas run on every element and `where` picks
    np.testing.assert_allclose(to_numpy(_erf(st.tensor(x).data)), ref, rtol=0, atol=2e-15)


def test_gelu_bad_approximate():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(st.zeros(2), approximate="fast")


def test_logistic_alias_and_methods():
    x = t(2, 3)
    assert F.logistic is F.sigmoid
    np.testing.assert_allclose(x.sigmoid().data, F.sigmoid(x).data)
    np.testing.assert_allclose(x.relu().data, F.relu(x).data)
    np.testing.assert_allclose(x.softmax(0).data, F.softmax(x, 0).data)
    np.testing.assert_allclose(x.log_softmax(dim=1).data, F.log_softmax(x, 1).data)
