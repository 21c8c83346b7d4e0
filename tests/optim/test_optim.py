"""Optimisers without PyTorch: closed-form trajectories, validation, groups, state_dict; on
every device present."""

import numpy as np
import pytest

import strided.optim as optim
from strided import Tensor
from strided.device import to_numpy
from strided.nn import Parameter

pytestmark = pytest.mark.on_devices

# the notes' example: L(θ) = ½(θ₁² + 4θ₂²), ∇L = (θ₁, 4θ₂)
H = np.array([1.0, 4.0])


def descend(opt, p, steps, grad=lambda th: H * th):
    traj = [to_numpy(p.data).copy()]
    for _ in range(steps):
        p.grad = Tensor(grad(to_numpy(p.data)))
        opt.step()
        traj.append(to_numpy(p.data).copy())
    return np.array(traj)


def test_sgd_on_half_squared_norm_contracts_by_one_minus_alpha():
    p = Parameter(np.array([1.0, -2.0, 3.0]))
    traj = descend(optim.SGD([p], lr=0.1), p, 10, grad=lambda th: th)
    np.testing.assert_allclose(traj, (0.9 ** np.arange(11))[:, None] * traj[0], rtol=1e-12)


def test_sgd_on_the_notes_quadratic():
    p = Parameter(np.array([1.0, 1.0]))
    a = 0.1
    traj = descend(optim.SGD([p], lr=a), p, 20)
    k = np.arange(21)[:, None]
    np.testing.assert_allclose(traj, (1 - a * H) ** k, rtol=1e-12)
    # a step above 2/λ_max = 0.5 diverges along θ₂
    q = Parameter(np.array([1.0, 1.0]))
    assert abs(descend(optim.SGD([q], lr=0.55), q, 30)[-1, 1]) > 1


def test_heavy_ball_momentum_recurrence():
    p = Parameter(np.array([1.0, 1.0]))
    a, mu = 0.05, 0.9
    traj = descend(optim.SGD([p], lr=a, momentum=mu), p, 30)
    th, v = np.array([1.0, 1.0]), np.zeros(2)
    for k in range(30):  # v ← μv + g, θ ← θ − αv
        v = mu * v + H * th
        th = th - a * v
        np.testing.assert_allclose(traj[k + 1], th, rtol=1e-12)


def test_nesterov_and_weight_decay_recurrence():
    p = Parameter(np.array([2.0, -1.0]))
    a, mu, wd = 0.05, 0.8, 0.1
    traj = descend(optim.SGD([p], lr=a, momentum=mu, nesterov=True, weight_decay=wd), p, 10)
    th, b = np.array([2.0, -1.0]), None
    for k in range(10):
        g = H * th + wd * th
        b = g.copy() if b is None else mu * b + g
        th = th - a * (g + mu * b)
        np.testing.assert_allclose(traj[k + 1], th, rtol=1e-12)


@pytest.mark.parametrize(
    "cls,kw",
    [
        (optim.Adam, {}),
        (optim.AdamW, {"weight_decay": 0.0}),
        (optim.Adagrad, {}),
        (optim.Adam, {"amsgrad": True}),
    ],
)
def test_first_adaptive_step_is_lr_times_sign(cls, kw):
    p = Parameter(np.array([3.0, -0.001, 50.0]))
    g = np.array([10.0, -0.1, 1e3])
    p.grad = Tensor(g)
    cls([p], lr=0.01, **kw).step()
    np.testing.assert_allclose(p.data, [3.0, -0.001, 50.0] - 0.01 * np.sign(g), rtol=1e-5)


def test_rmsprop_first_step():
    p = Parameter(np.array([1.0, -1.0]))
    p.grad = Tensor(np.array([2.0, 0.5]))
    optim.RMSprop([p], lr=0.01, alpha=0.9, eps=0.0).step()
    np.testing.assert_allclose(p.data, [1.0, -1.0] - 0.01 * np.sign([2.0, 0.5]) / np.sqrt(0.1))


def test_adamw_decay_is_decoupled():
    # zero gradient: Adam's coupled decay goes through the adaptive scaling (a full
    # lr-sized step), AdamW's shrinks θ by exactly (1 − lr·λ)
    p, q = Parameter(np.array([10.0])), Parameter(np.array([10.0]))
    p.grad, q.grad = Tensor(np.zeros(1)), Tensor(np.zeros(1))
    optim.AdamW([p], lr=0.1, weight_decay=0.01).step()
    optim.Adam([q], lr=0.1, weight_decay=0.01).step()
    assert float(p.data[0]) == pytest.approx(10.0 * (1 - 0.1 * 0.01))
    assert float(q.data[0]) == pytest.approx(10.0 - 0.1, rel=1e-6)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad])
def test_all_optimisers_minimise_the_quadratic_and_keep_float32(cls):
    p = Parameter(np.array([1.0, 1.0], np.float32))
    kw = {"lr": 0.05} if cls is not optim.Adagrad else {"lr": 0.5}
    opt = cls([p], **kw)
    for _ in range(300):
        p.grad = Tensor((H * to_numpy(p.data)).astype(np.float32))
        opt.step()
    assert p.dtype == np.float32 and np.all(np.abs(p.data) < 0.05)


@pytest.mark.parametrize(
    "make,msg",
    [
        (lambda p: optim.SGD(p, lr=-0.1), r"invalid learning rate \(lr\) -0.1"),
        (
            lambda p: optim.SGD(p, lr=0.1, momentum=1.0),
            "momentum 1.0; it must be in \\[0.0, 1.0\\)",
        ),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"beta1 \(betas\[0\]\) 1.0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta2"),
        (lambda p: optim.AdamW(p, lr=-1), "learning rate"),
        (lambda p: optim.Adam(p, eps=-1e-8), "eps"),
        (lambda p: optim.RMSprop(p, momentum=1.5), "momentum"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), "alpha"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
    ],
)
def test_bad_hyperparameters(make, msg):
    with pytest.raises(ValueError, match=msg):
        make([Parameter(np.zeros(2))])


def test_no_parameters_and_bad_params():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam(iter([]))
    p = Parameter(np.zeros(2))
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="only optimise Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="no parameters"):
        optim.SGD([{"params": [p]}, {"params": []}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2.0], lr=0.1)


def test_param_groups_override_defaults_and_skip_missing_grads():
    a, b, c = Parameter(np.ones(1)), Parameter(np.ones(1)), Parameter(np.ones(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b, c], "lr": 0.5}], lr=0.1, momentum=0.0)
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.0
    a.grad, b.grad = Tensor(np.ones(1)), Tensor(np.ones(1))
    opt.step()
    assert float(a.data[0]) == pytest.approx(0.9) and float(b.data[0]) == pytest.approx(0.5)
    assert c.data[0] == 1.0 and c not in opt.state
    opt.zero_grad()
    assert a.grad is None
    opt.add_param_group({"params": [Parameter(np.ones(1))], "momentum": 0.5})
    assert len(opt.param_groups) == 3


@pytest.mark.parametrize(
    "cls,kw",
    [
        (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
        (optim.Adam, {"amsgrad": True}),
        (optim.AdamW, {}),
        (optim.RMSprop, {"centered": True, "momentum": 0.5}),
        (optim.Adagrad, {}),
    ],
)
def test_state_dict_resume_is_bit_for_bit(cls, kw):
    rng = np.random.default_rng(0)
    init = rng.standard_normal((3, 2)).astype(np.float32)
    grads = [rng.standard_normal((3, 2)).astype(np.float32) for _ in range(10)]
    p = Parameter(init.copy())
    opt = cls([p], **kw)
    for g in grads:
        p.grad = Tensor(g)
        opt.step()
    q = Parameter(init.copy())
    o1 = cls([q], **kw)
    for g in grads[:5]:
        q.grad = Tensor(g)
        o1.step()
    sd = o1.state_dict()
    assert sorted(sd) == ["param_groups", "state"] and sd["param_groups"][0]["params"] == [0]
    r = Parameter(q.data.copy())
    o2 = cls([r], lr=123.0)  # hyperparameters come back from the state dict
    o2.load_state_dict(sd)
    assert o2.param_groups[0]["lr"] == o1.param_groups[0]["lr"]
    for g in grads[5:]:
        r.grad = Tensor(g)
        o2.step()
    np.testing.assert_array_equal(r.data, p.data)
    # the state dict is a copy
    for v in sd["state"][0].values():
        if isinstance(v, np.ndarray):
            v[...] = 0
    np.testing.assert_array_equal(r.data, p.data)


def test_load_state_dict_mismatch():
    opt = optim.SGD([Parameter(np.zeros(2))], lr=0.1)
    other = optim.SGD(
        [{"params": [Parameter(np.zeros(2))]}, {"params": [Parameter(np.zeros(2))]}], lr=0.1
    )
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError):
        opt.load_state_dict({"nope": 1})


def test_step_with_closure_and_repr():
    p = Parameter(np.array([2.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        p.grad = Tensor(p.data.copy())
        return 0.5 * float(p.data[0] ** 2)

    assert opt.step(closure) == 2.0
    assert p.data[0] == 1.5
    assert "lr: 0.25" in repr(opt)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5, dampening=0.3, maximize=True),
        lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
        lambda ps: optim.AdamW(ps, lr=0.01),
        lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True, weight_decay=0.1),
        lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.1),
    ],
    ids=["sgd-nesterov", "sgd-dampening", "adam-amsgrad", "adamw", "rmsprop", "adagrad"],
)
def test_blocked_update_equals_whole_array_update(make, monkeypatch, default_device):
    """Large parameters are updated block by block (temporaries stay small); the result is
    bit-for-bit the whole-array update, also for a non-contiguous parameter."""
    if default_device != "cpu":
        pytest.skip("blocked updates are the CPU's (one kernel per operation on a device)")
    rng = np.random.default_rng(3)
    init = rng.standard_normal((300, 250)).astype(np.float32)
    grads = [rng.standard_normal(init.shape).astype(np.float32) for _ in range(4)]

    def run(block):
        monkeypatch.setattr("strided.optim.optimizer.UPDATE_BLOCK", block)
        p, q = Parameter(init.copy()), Parameter(np.asfortranarray(init))
        opt = make([p, q])
        for g in grads:
            p.grad, q.grad = Tensor(g), Tensor(np.asfortranarray(g))
            opt.step()
        return p.data, q.data

    whole, blocked = run(10**9), run(1000)
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_array_equal(blocked[1], whole[1])
    assert not np.array_equal(whole[0], init)
