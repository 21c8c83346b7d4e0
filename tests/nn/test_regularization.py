"""Penalties (L1, L2, elastic net, activation L1), proximal L1, gradient clipping."""

import math

import numpy as np
import pytest

import strided.nn as nn
import strided.optim as optim
from strided import Tensor, gradcheck
from strided.nn import Parameter

pytestmark = pytest.mark.on_devices

RNG = np.random.default_rng(0)


def p64(shape):
    return Parameter(RNG.standard_normal(shape))


def test_penalty_values_and_gradients():
    a, b = p64((3, 4)), p64(5)
    l1 = nn.l1_penalty([a, b], 0.1)
    assert l1.item() == pytest.approx(0.1 * float(np.abs(a.data).sum() + np.abs(b.data).sum()))
    l2 = nn.l2_penalty([a, b], 0.2)
    assert l2.item() == pytest.approx(0.1 * float((a.data**2).sum() + (b.data**2).sum()))
    en = nn.elastic_net_penalty([a, b], l1=0.1, l2=0.2)
    assert en.item() == pytest.approx(l1.item() + l2.item())
    en.backward()
    np.testing.assert_allclose(a.grad.data, 0.1 * np.sign(a.data) + 0.2 * a.data)
    gradcheck(lambda x, y: nn.elastic_net_penalty([x, y], l1=0.3, l2=0.7), [a, b])


def test_l2_penalty_gradient_is_sgd_weight_decay():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(3))
    a.grad = Tensor(np.zeros(3))
    nn.l2_penalty([b], 0.1).backward()
    optim.SGD([a], lr=0.5, weight_decay=0.1).step()
    optim.SGD([b], lr=0.5).step()
    np.testing.assert_allclose(a.data, b.data)


def test_penalty_on_module_skips_biases():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = Parameter(np.ones((2, 3)))
            self.bias = Parameter(np.ones(2))
            self.bn = nn.BatchNorm1d(2).double()

    m = M()
    assert nn.decay_parameters(m) == [m.weight]
    assert nn.l1_penalty(m, 1.0).item() == 6.0
    with pytest.raises(ValueError, match="non-negative"):
        nn.l2_penalty(m, -1.0)
    with pytest.raises(ValueError, match="no parameters"):
        nn.l1_penalty([], 1.0)


def test_activation_l1_penalty_and_hook_collector():
    h = Tensor(RNG.standard_normal((4, 6)), requires_grad=True)
    pen = nn.activation_l1_penalty(h, 0.5)
    assert pen.item() == pytest.approx(0.5 * float(np.abs(h.data).sum()) / 4)
    gradcheck(lambda v: nn.activation_l1_penalty(v, 0.5), [h])

    class Id(nn.Module):
        def forward(self, x):
            return x * 1.0

    a, b = Id(), Id()
    reg = nn.ActivationL1([a, b], weight=0.1)
    x = Tensor(np.full((2, 3), -2.0))
    b(a(x))
    assert reg.penalty().item() == pytest.approx(2 * 0.1 * 12 / 2)
    with pytest.raises(RuntimeError, match="no activations"):
        reg.penalty()  # cleared by the previous call
    reg.remove()
    a(x)
    assert reg._outputs == []


def test_prox_l1_soft_thresholds():
    p = Parameter(np.array([-3.0, -0.5, 0.0, 0.2, 1.0]))
    optim.prox_l1_([p], 0.5)
    np.testing.assert_allclose(p.data, [-2.5, 0.0, 0.0, 0.0, 0.5])
    with pytest.raises(ValueError):
        optim.prox_l1_(p, -1)


def test_proximal_sgd_gives_exact_zeros_where_subgradient_oscillates():
    # minimise ½‖θ − c‖² + λ‖θ‖₁: the solution is soft_threshold(c, λ)
    c = np.array([2.0, 0.3, -0.1, -1.5])
    lam = 0.5
    prox, sub = Parameter(np.zeros(4)), Parameter(np.zeros(4))
    opt_p = optim.ProximalSGD([prox], lr=0.1, l1=lam)
    opt_s = optim.SGD([sub], lr=0.1)
    on_device = Tensor(c).data  # where the parameters are
    for _ in range(300):
        prox.grad = Tensor(prox.data - on_device)
        opt_p.step()
        sub.grad = None
        (nn.l1_penalty([sub], lam)).backward()
        sub.grad.data += sub.data - on_device
        opt_s.step()
    expect = np.sign(c) * np.maximum(np.abs(c) - lam, 0)
    np.testing.assert_allclose(prox.data, expect, atol=1e-10)
    assert np.sum(prox.data == 0) == 2  # exactly sparse
    assert np.sum(sub.data == 0) < 2
    np.testing.assert_allclose(sub.data, expect, atol=0.06)
    with pytest.raises(ValueError, match="l1"):
        optim.ProximalSGD([prox], lr=0.1, l1=-1)


def test_clip_grad_norm_returns_norm_before_clipping():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    a.grad, b.grad = Tensor(np.array([3.0, 0.0])), Tensor(np.array([4.0]))
    c = Parameter(np.zeros(1))  # no grad: ignored
    total = nn.clip_grad_norm_([a, b, c], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(
        np.concatenate([a.grad.data, b.grad.data]), [0.6, 0.0, 0.8], rtol=1e-5
    )
    total = nn.clip_grad_norm_([a, b], max_norm=10.0)  # below the limit: untouched
    assert total.item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(a.grad.data, [0.6, 0.0], rtol=1e-5)
    a.grad = Tensor(np.array([3.0, -7.0]))
    assert nn.clip_grad_norm_([a], 1.0, norm_type=math.inf).item() == 7.0
    a.grad = Tensor(np.array([3.0, -4.0]))
    assert nn.clip_grad_norm_([a], 100.0, norm_type=1).item() == 7.0
    a.grad = Tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="non|inf"):
        nn.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="max_norm must be positive"):
            nn.clip_grad_norm_([a], bad)


def test_clip_grad_value():
    a = Parameter(np.zeros(4, np.float32))
    a.grad = Tensor(np.array([-3.0, -0.5, 0.5, 9.0], np.float32))
    nn.clip_grad_value_([a], 1.0)
    np.testing.assert_array_equal(a.grad.data, [-1.0, -0.5, 0.5, 1.0])
    assert a.grad.dtype == np.float32
    with pytest.raises(ValueError, match="clip_value must be positive"):
        nn.clip_grad_value_([a], 0.0)


@pytest.mark.parity
def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [RNG.standard_normal((3, 4)), RNG.standard_normal(7)]
    for norm_type in (2.0, 1.0, 3.0, math.inf):
        ps = [Parameter(np.zeros(g.shape)) for g in grads]
        ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, t, g in zip(ps, ts, grads, strict=True):
            p.grad, t.grad = Tensor(g.copy()), torch.tensor(g.copy())
        ours = nn.clip_grad_norm_(ps, 0.5, norm_type)
        theirs = torch.nn.utils.clip_grad_norm_(ts, 0.5, norm_type)
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
        for p, t in zip(ps, ts, strict=True):
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)
