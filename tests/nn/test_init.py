"""Initialisers: statistics match their formulas on large tensors; gains; layer defaults."""

import math

import numpy as np
import pytest

import strided.nn as nn
from strided import Generator, Tensor
from strided.nn import init

pytestmark = pytest.mark.on_devices

SHAPE = (256, 128, 3, 3)  # fan_in = 1152, fan_out = 2304
FAN_IN, FAN_OUT = 128 * 9, 256 * 9


def fresh(shape=SHAPE, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype))


def test_fans_and_gains():
    assert init.calculate_fan_in_and_fan_out(fresh()) == (FAN_IN, FAN_OUT)
    assert init.calculate_fan_in_and_fan_out(np.zeros((16, 784))) == (784, 16)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / 1.0001))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(fresh((5,)))


@pytest.mark.parametrize(
    "fn,kwargs,std",
    [
        (init.xavier_uniform_, {}, math.sqrt(2 / (FAN_IN + FAN_OUT))),
        (init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
        (init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN)),
        (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN)),
        (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / FAN_OUT)),
        (init.kaiming_normal_, {"a": 0.1}, math.sqrt(2 / 1.01 / FAN_IN)),
        (init.he_uniform_, {"nonlinearity": "tanh"}, 5 / 3 / math.sqrt(FAN_IN)),
        (init.lecun_normal_, {}, 1 / math.sqrt(FAN_IN)),
        (init.lecun_uniform_, {}, 1 / math.sqrt(FAN_IN)),
        (init.glorot_normal_, {}, math.sqrt(2 / (FAN_IN + FAN_OUT))),
        (init.normal_, {"std": 0.02}, 0.02),
        (init.trunc_normal_, {"std": 1.0, "a": -100, "b": 100}, 1.0),
    ],
)
def test_std_matches_formula(fn, kwargs, std):
    w = fn(fresh(), generator=Generator(0), **kwargs)
    assert abs(w.data.std() / std - 1) < 0.02
    assert abs(w.data.mean()) < 0.02 * std
    assert w.dtype == np.float32


def test_uniform_bounds_and_trunc_normal_bounds():
    bound = math.sqrt(6 / (FAN_IN + FAN_OUT))
    w = init.xavier_uniform_(fresh(), generator=Generator(1))
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    t = init.trunc_normal_(fresh((10000,)), std=1.0, a=-0.5, b=1.0, generator=Generator(2))
    assert t.data.min() >= -0.5 and t.data.max() <= 1.0


def test_constant_zeros_ones_eye_dirac():
    b = nn.Parameter(np.zeros(16, np.float32))
    v0 = b._version
    assert np.all(init.constant_(b, 0.1).data == np.float32(0.1))  # dead-ReLU bias trick
    assert b._version > v0
    assert np.all(init.ones_(b).data == 1) and np.all(init.zeros_(b).data == 0)
    e = init.eye_(fresh((3, 5)))
    np.testing.assert_array_equal(e.data, np.eye(3, 5))
    d = init.dirac_(fresh((4, 2, 3, 3)))
    assert d.data[1, 1, 1, 1] == 1 and d.data.sum() == 2


@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (8, 4, 3, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(fresh(shape, np.float64), gain=2.0, generator=Generator(0))
    m = w.data.reshape(shape[0], -1)
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-10)


def test_same_seed_same_weights_and_float64():
    a = init.kaiming_uniform_(fresh((30, 20)), generator=Generator(7))
    b = init.kaiming_uniform_(fresh((30, 20)), generator=Generator(7))
    np.testing.assert_array_equal(a.data, b.data)
    c = init.kaiming_uniform_(fresh((30, 20), np.float64), generator=Generator(7))
    assert c.dtype == np.float64
    np.testing.assert_allclose(c.data, a.data, rtol=1e-6)


def test_linear_default_init_is_torchs():
    lin = nn.Linear(400, 300, generator=Generator(0))
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=√5) → U(±1/√fan_in)
    for p in (lin.weight, lin.bias):
        assert np.abs(p.data).max() <= bound
        assert abs(p.data.std() / (bound / math.sqrt(3)) - 1) < 0.05 or p.ndim == 1
    assert abs(lin.weight.data.std() / (bound / math.sqrt(3)) - 1) < 0.02


def test_works_on_plain_tensor_and_rejects_others():
    t = Tensor(np.zeros((4, 4), np.float32))
    init.normal_(t, generator=Generator(0))
    assert t.data.std() > 0
    with pytest.raises(TypeError):
        init.zeros_([1, 2, 3])
