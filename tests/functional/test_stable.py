"""functional/stable.py: the overflow-free logistic, softplus, softmax and log-softmax, on
the arrays of each device."""

import numpy as np
import pytest

import strided as st
from strided.device import to_numpy
from strided.functional.stable import (
    stable_log_softmax,
    stable_sigmoid,
    stable_softmax,
    stable_softplus,
)

pytestmark = pytest.mark.on_devices


def on_device(a):
    """`a` as an array of the device under test (a NumPy array on the CPU)."""
    return st.tensor(a, dtype=np.float64).data


def test_values_match_the_naive_formulas_where_those_are_safe():
    x = np.linspace(-20, 20, 41)
    d = on_device(x)
    np.testing.assert_allclose(to_numpy(stable_sigmoid(d)), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(stable_softplus(d)), np.log1p(np.exp(x)), rtol=1e-12)
    z = x.reshape(1, -1)
    p = np.exp(z) / np.exp(z).sum()
    dz = on_device(z)
    np.testing.assert_allclose(to_numpy(stable_softmax(dz, axis=1)), p, rtol=1e-12)
    np.testing.assert_allclose(
        to_numpy(stable_log_softmax(dz, axis=1)), np.log(p), rtol=1e-12, atol=1e-12
    )


def test_extreme_inputs_stay_finite_and_exact():
    x = on_device([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise"):
        assert to_numpy(stable_sigmoid(x)).tolist() == [0.0, 0.5, 1.0]
        assert to_numpy(stable_softplus(x)).tolist() == [0.0, np.log(2.0), 1000.0]
        np.testing.assert_allclose(to_numpy(stable_softmax(x)), [0.0, 0.0, 1.0], atol=1e-300)
        log_p = to_numpy(stable_log_softmax(x))
        assert log_p[2] == 0.0 and log_p[0] == -2000.0
