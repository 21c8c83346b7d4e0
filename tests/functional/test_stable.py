"""functional/stable.py: the overflow-free logistic, softplus, softmax and log-softmax."""

import numpy as np

from strided.functional.stable import (
    stable_log_softmax,
    stable_sigmoid,
    stable_softmax,
    stable_softplus,
)


def test_values_match_the_naive_formulas_where_those_are_safe():
    x = np.linspace(-20, 20, 41)
    assert np.allclose(stable_sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12, atol=0)
    assert np.allclose(stable_softplus(x), np.log1p(np.exp(x)), rtol=1e-12, atol=0)
    z = x.reshape(1, -1)
    p = np.exp(z) / np.exp(z).sum()
    assert np.allclose(stable_softmax(z, axis=1), p, rtol=1e-12, atol=0)
    assert np.allclose(stable_log_softmax(z, axis=1), np.log(p), rtol=1e-12, atol=1e-12)


def test_extreme_inputs_stay_finite_and_exact():
    x = np.array([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise"):
        assert stable_sigmoid(x).tolist() == [0.0, 0.5, 1.0]
        assert stable_softplus(x).tolist() == [0.0, np.log(2.0), 1000.0]
        assert np.allclose(stable_softmax(x), [0.0, 0.0, 1.0])
        assert stable_log_softmax(x)[2] == 0.0 and stable_log_softmax(x)[0] == -2000.0
