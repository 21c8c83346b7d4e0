"""LR schedules against their closed forms (no PyTorch needed), state and errors."""

import math

import numpy as np
import pytest

import strided.optim as optim
from strided.nn import Parameter
from strided.optim import lr_scheduler as S


def make(lr=0.1, **kw):
    return optim.SGD([Parameter(np.zeros(2))], lr=lr, **kw)


def run(sched, opt, n):
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


def test_step_multistep_exponential():
    o = make()
    np.testing.assert_allclose(
        run(S.StepLR(o, 3, gamma=0.5), o, 9), 0.1 * 0.5 ** (np.arange(9) // 3)
    )
    o = make()
    np.testing.assert_allclose(
        run(S.MultiStepLR(o, [2, 5], gamma=0.1), o, 7), [0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001]
    )
    o = make()
    np.testing.assert_allclose(run(S.ExponentialLR(o, 0.9), o, 5), 0.1 * 0.9 ** np.arange(5))


def test_cosine_and_warm_restarts():
    o = make()
    lrs = run(S.CosineAnnealingLR(o, T_max=10, eta_min=0.01), o, 11)
    np.testing.assert_allclose(lrs, 0.01 + 0.09 * (1 + np.cos(np.pi * np.arange(11) / 10)) / 2)
    assert lrs[-1] == pytest.approx(0.01)
    o = make()
    lrs = run(S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), o, 10)
    cos = lambda t, T: 0.1 * (1 + math.cos(math.pi * t / T)) / 2  # noqa: E731
    expect = [cos(t, 3) for t in range(3)] + [cos(t, 6) for t in range(6)] + [cos(0, 12)]
    np.testing.assert_allclose(lrs, expect)
    o = make()
    s = S.CosineAnnealingWarmRestarts(o, T_0=4)
    s.step(5.5)  # fractional epochs, for per-batch stepping
    assert o.param_groups[0]["lr"] == pytest.approx(cos(1.5, 4))


def test_linear_warmup_then_cosine():
    o = make()
    warm = S.LinearLR(o, start_factor=0.25, total_iters=3)
    cos = S.CosineAnnealingLR(o, T_max=4)
    lrs = run(S.SequentialLR(o, [warm, cos], milestones=[3]), o, 8)
    np.testing.assert_allclose(lrs[:4], [0.025, 0.05, 0.075, 0.1])
    np.testing.assert_allclose(
        lrs[3:], [0.1 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    )


def test_inverse_scaling_is_sklearns_invscaling():
    o = make(lr=0.5)
    lrs = run(S.InverseScalingLR(o, power_t=0.25), o, 6)
    np.testing.assert_allclose(lrs, 0.5 / (np.arange(6) + 1) ** 0.25)


def test_one_cycle_shape_and_momentum():
    o = make(momentum=0.9)
    s = S.OneCycleLR(o, max_lr=1.0, total_steps=100)
    lrs, moms = [], []
    for _ in range(100):
        lrs.append(o.param_groups[0]["lr"])
        moms.append(o.param_groups[0]["momentum"])
        o.step()
        s.step() if len(lrs) < 100 else None
    lrs, moms = np.array(lrs), np.array(moms)
    assert lrs[0] == pytest.approx(1.0 / 25) and lrs.max() == pytest.approx(1.0)
    assert np.argmax(lrs) == 29 and lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert moms[0] == pytest.approx(0.95) and moms[29] == pytest.approx(0.85)
    assert np.corrcoef(lrs, moms)[0, 1] < -0.99  # momentum moves against the lr
    s.step()
    with pytest.raises(ValueError, match="total steps is 100"):
        s.step()
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(make(momentum=0.9), max_lr=1.0)


def test_reduce_on_plateau():
    o = make(lr=1.0)
    s = S.ReduceLROnPlateau(o, factor=0.5, patience=1, min_lr=0.2)
    lrs = []
    for m in [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]:
        s.step(m)
        lrs.append(s.get_last_lr()[0])
    # stalls after 0.5: halve after every 2 bad epochs (> patience), never below min_lr
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2]
    c = S.ReduceLROnPlateau(make(lr=1.0), factor=0.5, patience=0, cooldown=2)
    got = []
    for m in [1.0, 2.0, 2.0, 2.0, 2.0]:
        c.step(m)
        got.append(c.get_last_lr()[0])
    assert got == [1.0, 0.5, 0.5, 0.5, 0.25]  # two cooldown epochs after each cut
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(o, factor=1.5)


def test_state_dict_resume_and_initial_lr():
    o = make()
    s = S.StepLR(o, 2, gamma=0.5)
    for _ in range(3):
        o.step()
        s.step()
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 3
    o2 = make(lr=0.1)
    o2.param_groups[0]["initial_lr"] = 0.1
    s2 = S.StepLR(o2, 2, gamma=0.5, last_epoch=0)
    s2.load_state_dict(sd)
    s.step()
    s2.step()
    assert s2.get_last_lr() == s.get_last_lr() == [0.025]
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make(), 2, last_epoch=3)


def test_scheduler_errors():
    with pytest.raises(ValueError, match="step_size"):
        S.StepLR(make(), 0)
    with pytest.raises(TypeError, match="Optimizer"):
        S.StepLR(object(), 2)
    with pytest.raises(ValueError, match="milestones"):
        o = make()
        S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], milestones=[])


def _incremental_restarts(T_0, T_mult, n):
    """SGDR as torch steps it: T_cur counts up and wraps at T_i, which grows by T_mult."""
    T_cur, T_i, out = 0, T_0, []
    for _ in range(n):
        out.append((T_cur, T_i))
        T_cur += 1
        if T_cur >= T_i:
            T_cur, T_i = T_cur - T_i, T_i * T_mult
    return out


@pytest.mark.parametrize("T_0, T_mult", [(3, 3), (1, 2), (5, 1), (2, 5)])
def test_warm_restarts_closed_form_matches_stepping_across_restarts(T_0, T_mult):
    o = make()
    s = S.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=0.001)
    n = 130  # (3, 3) restarts at 120 = 3 + 9 + 27 + 81, where log_3 rounds below 4
    stepped = run(s, o, n)
    expect = [
        0.001 + 0.099 * (1 + math.cos(math.pi * c / T)) / 2
        for c, T in _incremental_restarts(T_0, T_mult, n)
    ]
    np.testing.assert_allclose(stepped, expect, rtol=1e-12)
    np.testing.assert_allclose([s.lrs_at(t)[0] for t in range(n)], expect, rtol=1e-12)
    assert [s.period_at(t) for t in range(n)] == _incremental_restarts(T_0, T_mult, n)


def test_one_cycle_closed_form_lr_and_momentum_and_exact_resume():
    o = make(momentum=0.9)
    s = S.OneCycleLR(o, max_lr=1.0, total_steps=30, three_phase=True)
    seen = []
    for t in range(30):
        g = o.param_groups[0]
        assert s.lrs_at(t) == [g["lr"]] and s.momenta_at(t) == [g["momentum"]]
        seen.append((g["lr"], g["momentum"]))
        if t == 11:
            state, groups = s.state_dict(), [dict(g) for g in o.param_groups]
        o.step()
        s.step()
    o2 = make(momentum=0.9)
    o2.param_groups[0].update(groups[0])
    s2 = S.OneCycleLR(o2, max_lr=1.0, total_steps=30, three_phase=True, last_epoch=11)
    s2.load_state_dict(state)
    resumed = []
    for _ in range(12, 30):
        o2.step()
        s2.step()
        resumed.append((o2.param_groups[0]["lr"], o2.param_groups[0]["momentum"]))
    assert resumed == seen[12:]
    adam = optim.Adam([Parameter(np.zeros(2))], lr=0.1, betas=(0.9, 0.99))
    s = S.OneCycleLR(adam, max_lr=0.1, total_steps=10)
    assert adam.param_groups[0]["betas"] == (0.95, 0.99)  # β₁ starts at max_momentum
    assert (
        S.OneCycleLR(make(momentum=0.9), 1.0, total_steps=5, cycle_momentum=False).momenta_at(2)
        is None
    )


def test_each_schedule_declares_its_interval_and_metric():
    o = make(momentum=0.9)
    per_batch = {S.OneCycleLR}
    for cls in (
        S.StepLR,
        S.MultiStepLR,
        S.ConstantLR,
        S.LinearLR,
        S.ExponentialLR,
        S.CosineAnnealingLR,
        S.CosineAnnealingWarmRestarts,
        S.OneCycleLR,
        S.InverseScalingLR,
        S.SequentialLR,
        S.LambdaLR,
        S.ReduceLROnPlateau,
    ):
        assert cls.interval == ("batch" if cls in per_batch else "epoch"), cls
        assert cls.needs_metric == (cls is S.ReduceLROnPlateau), cls
    assert S.ReduceLROnPlateau(o).needs_metric


def test_sequential_runs_warm_restarts_after_warm_up():
    o = make()
    warm = S.LinearLR(o, start_factor=0.5, total_iters=2)
    sgdr = S.CosineAnnealingWarmRestarts(o, T_0=2)
    lrs = run(S.SequentialLR(o, [warm, sgdr], milestones=[2]), o, 6)
    np.testing.assert_allclose(lrs, [0.05, 0.075, 0.1, 0.05, 0.1, 0.05])
    o = make(momentum=0.9)
    with pytest.raises(TypeError, match="OneCycleLR sets the groups' initial lr"):
        S.SequentialLR(o, [S.OneCycleLR(o, 1.0, total_steps=5)], [])
