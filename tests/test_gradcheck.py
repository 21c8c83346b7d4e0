"""gradcheck itself: it must pass right gradients and catch wrong ones, loudly."""

import re

import numpy as np
import pytest

import strided as st
from strided.autograd import Function
from strided.gradcheck import GradcheckError, gradcheck

pytestmark = pytest.mark.on_devices


class WrongSquare(Function):
    """x² with a backward that is off by a factor at one element."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        grad = 2 * self.x * g
        grad.reshape(-1)[3] *= 1.5  # the bug
        return grad


class NaNBackward(Function):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return np.full_like(g, np.nan)


def x64(*shape):
    return st.Tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)


def test_right_gradient_passes():
    assert gradcheck(lambda a, b: (a * b).exp(), [x64(2, 3), x64(3)])


def test_wrong_backward_is_caught_and_located():
    x = x64(2, 3)
    with pytest.raises(GradcheckError) as e:
        gradcheck(WrongSquare.apply, [x])
    msg = str(e.value)
    assert "input 0" in msg and "(1, 0)" in msg  # flat element 3 of a (2, 3) tensor
    assert "analytic" in msg and "numeric" in msg
    # both values are given, and they differ by the planted factor
    analytic, numeric = (float(v) for v in re.findall(r"(?:analytic|numeric) (\S+?),? ", msg))
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)


def test_wrong_gradient_of_second_input_names_it():
    def f(a, b):
        return a + WrongSquare.apply(b)

    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(f, [x64(5), x64(5)])


def test_nan_gradient_is_reported():
    with pytest.raises(GradcheckError, match="non-finite.*NaN"):
        gradcheck(NaNBackward.apply, [x64(3)])


def test_float32_and_nothing_to_check_are_errors():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * 2, [st.randn(3, requires_grad=True)])
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, [st.Tensor(np.ones(3))])


def test_non_differentiable_inputs_pass_through():
    mask = st.Tensor(np.array([True, False, True]))
    assert gradcheck(lambda x, m: st.functional.where(m, x, 0.0) * 3, [x64(3), mask])
