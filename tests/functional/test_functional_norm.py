"""functional/norm.py directly: batch, layer, group and local response normalisation
against their formulas in NumPy, gradcheck in float64, running statistics, bad input."""

import numpy as np
import pytest

from strided import Tensor, gradcheck, no_grad
from strided.device import to_numpy
from strided.functional import norm as FN

pytestmark = pytest.mark.on_devices

RNG = np.random.default_rng(11)


def t(a, grad=True):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def standardise(x, axes, eps):
    mu = x.mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 5)])
def test_batch_norm_training_matches_its_formula_and_updates_running_stats(shape):
    x = RNG.standard_normal(shape) * 3 + 1
    w, b = RNG.standard_normal(shape[1]), RNG.standard_normal(shape[1])
    axes = (0,) + tuple(range(2, len(shape)))
    per_channel = (1, -1) + (1,) * (len(shape) - 2)
    rm, rv = t(np.zeros(shape[1]), False), t(np.ones(shape[1]), False)
    y = FN.batch_norm(
        t(x, False), rm, rv, t(w, False), t(b, False), training=True, momentum=0.1, eps=1e-5
    )
    expect = standardise(x, axes, 1e-5) * w.reshape(per_channel) + b.reshape(per_channel)
    np.testing.assert_allclose(y.data, expect, rtol=1e-12, atol=1e-12)
    n = x.size // shape[1]
    np.testing.assert_allclose(rm.data, 0.1 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(rv.data, 0.9 + 0.1 * x.var(axis=axes) * n / (n - 1), rtol=1e-12)
    assert rm._version == rv._version == 1
    # eval: the running statistics, not the batch's (given as Tensors or as arrays)
    mean, var = to_numpy(rm.data), to_numpy(rv.data)
    expect = (x - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + 1e-5)
    for stats in ((rm, rv), (mean, var)):
        y = FN.batch_norm(t(x, False), *stats, training=False, eps=1e-5)
        np.testing.assert_allclose(y.data, expect, rtol=1e-12, atol=1e-12)


def test_batch_norm_gradients_training_eval_and_a_channels_first_view():
    x = t(RNG.standard_normal((4, 3, 3, 2)))
    w, b = t(RNG.standard_normal(3)), t(RNG.standard_normal(3))
    assert gradcheck(lambda x, w, b: FN.batch_norm(x, None, None, w, b, training=True), [x, w, b])
    rm, rv = RNG.standard_normal(3), RNG.random(3) + 0.5
    assert gradcheck(lambda x, w, b: FN.batch_norm(x, rm, rv, w, b, training=False), [x, w, b])
    # (N, C, H, W) as a view of a (C, N, H, W) buffer: the layout conv outputs come in
    base = RNG.standard_normal((3, 4, 3, 2))
    view = t(base.transpose(1, 0, 2, 3))
    assert gradcheck(lambda x, w: FN.batch_norm(x, None, None, w, None, training=True), [view, w])
    y = FN.batch_norm(view, None, None, training=True)
    np.testing.assert_allclose(y.data, standardise(view.data, (0, 2, 3), 1e-5), atol=1e-12)


def test_batch_norm_under_no_grad_still_updates_the_running_stats():
    x = RNG.standard_normal((8, 2))
    rm, rv = t(np.zeros(2), False), t(np.ones(2), False)
    with no_grad():
        FN.batch_norm(t(x, False), rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm.data, 0.5 * x.mean(axis=0), rtol=1e-12)


def test_running_stats_updated_on_a_device_must_live_there(default_device):
    x = t(RNG.standard_normal((8, 2, 3)), False)
    rm, rv = np.zeros(2), np.ones(2)
    if default_device == "cpu":  # NumPy arrays are updated in place on the CPU
        FN.batch_norm(x, rm, rv, training=True)
        FN.instance_norm(x, rm, rv)
        assert rm.any()
        return
    for norm in (FN.batch_norm, FN.instance_norm):
        with pytest.raises(ValueError, match=r"running_mean must be a Tensor on the input's"):
            norm(x, rm, rv, training=True) if norm is FN.batch_norm else norm(x, rm, rv)


def test_layer_norm_and_its_gradient():
    x = RNG.standard_normal((2, 3, 4, 5))
    w, b = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    y = FN.layer_norm(t(x, False), (4, 5), t(w, False), t(b, False), eps=1e-6)
    np.testing.assert_allclose(y.data, standardise(x, (2, 3), 1e-6) * w + b, atol=1e-12)
    assert gradcheck(lambda x, w, b: FN.layer_norm(x, (4, 5), w, b), [t(x), t(w), t(b)])
    assert gradcheck(lambda x: FN.layer_norm(x, 5), [t(x)])


def test_group_norm_spans_layer_norm_and_instance_norm():
    x = RNG.standard_normal((2, 6, 3, 2))
    whole = FN.group_norm(t(x, False), 1, eps=1e-5).data
    np.testing.assert_allclose(whole, standardise(x, (1, 2, 3), 1e-5), atol=1e-12)
    inst = FN.group_norm(t(x, False), 6, eps=1e-5).data
    np.testing.assert_allclose(inst, standardise(x, (2, 3), 1e-5), atol=1e-12)
    g = x.reshape(2, 3, 2, 3, 2)
    three = standardise(g, (2, 3, 4), 1e-5).reshape(x.shape)
    w, b = RNG.standard_normal(6), RNG.standard_normal(6)
    y = FN.group_norm(t(x, False), 3, t(w, False), t(b, False), eps=1e-5).data
    np.testing.assert_allclose(y, three * w.reshape(1, 6, 1, 1) + b.reshape(1, 6, 1, 1), atol=1e-12)
    assert gradcheck(lambda x, w, b: FN.group_norm(x, 3, w, b), [t(x), t(w), t(b)])


def test_local_response_norm_matches_the_definition():
    x = RNG.standard_normal((2, 7, 3, 3))
    size, alpha, beta, k = 3, 0.2, 0.75, 2.0
    sq = np.pad(x**2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    window = sum(sq[:, i : i + 7] for i in range(size))
    expect = x / (k + alpha / size * window) ** beta
    y = FN.local_response_norm(t(x, False), size, alpha, beta, k).data
    np.testing.assert_allclose(y, expect, rtol=1e-12)
    for size in (1, 2, 4):
        assert gradcheck(lambda x: FN.local_response_norm(x, size, 0.3, 0.75, 1.5), [t(x)])


def test_bad_input_names_the_function_and_the_shapes():
    x = t(RNG.standard_normal((4, 3, 2, 2)), False)
    with pytest.raises(ValueError, match="batch_norm: input must be"):
        FN.batch_norm(t(np.ones(3), False), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\)"):
        FN.batch_norm(x, None, None, t(np.ones(4), False), training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        FN.batch_norm(t(np.ones((1, 3)), False), training=True)
    with pytest.raises(ValueError, match="does not end with normalized_shape"):
        FN.layer_norm(x, (3, 2))
    with pytest.raises(ValueError, match="3 channels are not divisible into num_groups=2"):
        FN.group_norm(x, 2)
    with pytest.raises(ValueError, match="local_response_norm: size must be positive"):
        FN.local_response_norm(x, 0)
    with pytest.raises(TypeError, match="local_response_norm: input must be floating"):
        FN.local_response_norm(Tensor(np.ones((1, 2, 2), np.int64)), 2)
