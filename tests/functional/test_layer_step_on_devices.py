"""A training step through pooling, normalisation, activations, dropout and a loss on each
device: the same numbers as on the CPU (dropout aside), and on the simulated GPU not one
copy between host and device once the batch is there."""

import numpy as np
import pytest

import strided as st
import strided.functional as F
from simulated_gpu import SimBackend
from strided.device import to_numpy

pytestmark = pytest.mark.on_devices

RNG = np.random.default_rng(2)
X = RNG.standard_normal((6, 4, 9, 9))
Y = RNG.integers(0, 4, 6)
Y[1] = -100  # ignored
RNG_T = np.random.default_rng(3)


def _step(x, y, t, gamma, beta, rm, rv, drop):
    h = F.max_pool2d(x, 3, 2, 1)
    h = F.batch_norm(h, rm, rv, gamma, beta, training=True)
    h = F.relu(h)
    h = F.group_norm(h, 2)
    h = F.local_response_norm(h, 3)
    if drop:
        h = F.dropout(h, 0.25, generator=st.Generator(0))
    h = F.avg_pool2d(h, 2, 1, 1, count_include_pad=False)
    h = F.adaptive_avg_pool2d(h, 1).reshape(6, 4)
    h = F.layer_norm(F.gelu(h), 4)
    loss = F.cross_entropy(h, y, label_smoothing=0.1) + F.mse_loss(h, t)
    loss.backward()
    return loss


def _leaves(device):
    x = st.tensor(X, requires_grad=True, device=device)
    gamma = st.tensor(np.linspace(0.5, 1.5, 4), requires_grad=True, device=device)
    beta = st.tensor(np.linspace(-0.2, 0.2, 4), requires_grad=True, device=device)
    rm, rv = (
        st.zeros(4, dtype=np.float64, device=device),
        st.ones(4, dtype=np.float64, device=device),
    )
    t = st.tensor(RNG_T.standard_normal((6, 4)), device=device)
    return x, st.tensor(Y, device=device), t, gamma, beta, rm, rv


def test_a_step_matches_the_cpu_and_copies_nothing(default_device):
    x, y, t, gamma, beta, rm, rv = _leaves(default_device)
    before = SimBackend.to_host_count, SimBackend.to_device_count
    loss = _step(x, y, t, gamma, beta, rm, rv, drop=True)
    if default_device == "sim":
        assert (SimBackend.to_host_count, SimBackend.to_device_count) == before
    assert loss.device == x.device and x.grad.device == x.device
    assert np.isfinite(to_numpy(loss.data))
    # without dropout, every number agrees with the CPU's
    x, y, t, gamma, beta, rm, rv = _leaves(default_device)
    target = to_numpy(t.data)
    loss = _step(x, y, t, gamma, beta, rm, rv, drop=False)
    st.set_default_device("cpu")  # the fixture restores the test's device
    cx, cy, _, cgamma, cbeta, crm, crv = _leaves("cpu")
    closs = _step(cx, cy, st.tensor(target), cgamma, cbeta, crm, crv, drop=False)
    np.testing.assert_allclose(to_numpy(loss.data), to_numpy(closs.data), rtol=1e-12)
    for ours, cpu in ((x.grad, cx.grad), (gamma.grad, cgamma.grad), (rm, crm), (rv, crv)):
        np.testing.assert_allclose(to_numpy(ours.data), to_numpy(cpu.data), rtol=1e-10, atol=1e-13)
