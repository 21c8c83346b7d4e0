"""Optimisers and LR schedules against PyTorch, step for step, on the same gradients; on
every device present (the parameters, gradients and optimiser state live there)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.parity, pytest.mark.on_devices]

import strided  # noqa: E402
import strided.optim as optim  # noqa: E402
from strided import Tensor  # noqa: E402
from strided.device import to_numpy  # noqa: E402
from strided.nn import Parameter  # noqa: E402
from strided.optim import lr_scheduler as sched  # noqa: E402


def grad_fn(theta: np.ndarray) -> np.ndarray:
    """∇ of a non-quadratic test function: Σ ¼θ⁴ − θ²·cos(i) + sin(θ)·i/10 (in float64)."""
    i = np.arange(theta.size, dtype=np.float64).reshape(theta.shape)
    return theta**3 - 2 * theta * np.cos(i) + np.cos(theta) * i / 10


def run_pair(
    ours_cls, theirs_cls, kwargs, dtype=np.float64, steps=25, groups=False, torch_kwargs=None
):
    rng = np.random.default_rng(0)
    inits = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(5).astype(dtype)]
    ps = [Parameter(a.copy()) for a in inits]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in inits]
    if groups:  # second group: its own lr and no weight decay
        o = ours_cls(
            [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.003, "weight_decay": 0.0}], **kwargs
        )
        t = theirs_cls(
            [{"params": [ts[0]]}, {"params": [ts[1]], "lr": 0.003, "weight_decay": 0.0}],
            **(torch_kwargs or kwargs),
        )
    else:
        o, t = ours_cls(ps, **kwargs), theirs_cls(ts, **(torch_kwargs or kwargs))
    sign = -1 if kwargs.get("maximize") else 1  # maximise −f: the same well-posed problem
    for _ in range(steps):
        for p, q in zip(ps, ts, strict=True):
            p.grad = Tensor(sign * grad_fn(to_numpy(p.data).astype(np.float64)).astype(dtype))
            assert p.grad.device == p.device == strided.get_default_device()
            q.grad = torch.tensor(
                sign * grad_fn(q.detach().numpy().astype(np.float64)).astype(dtype)
            )
        o.step()
        t.step()
        for p, q in zip(ps, ts, strict=True):
            assert p.dtype == dtype
            np.testing.assert_allclose(to_numpy(p.data), q.detach().numpy(), rtol=1e-5, atol=1e-5)
    return ps, ts


CASES = [
    (optim.SGD, torch.optim.SGD, dict(lr=0.05)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.02, momentum=0.5, maximize=True)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True, eps=1e-6)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9, weight_decay=0.05)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True, alpha=0.9)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
    (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.1)),
    (
        optim.Adagrad,
        torch.optim.Adagrad,
        dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5),
    ),
]


@pytest.mark.parametrize(
    "ours,theirs,kwargs", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trajectory_matches_torch(ours, theirs, kwargs, dtype):
    run_pair(ours, theirs, kwargs, dtype=dtype)


@pytest.mark.parametrize("ours,theirs,kwargs", [CASES[3], CASES[7], CASES[9], CASES[13]])
def test_param_groups_match_torch(ours, theirs, kwargs):
    run_pair(ours, theirs, kwargs, groups=True)


def _lrs(o_sched, t_sched, o_opt, t_opt, steps, extra=None):
    for i in range(steps):
        np.testing.assert_allclose(
            o_sched.get_last_lr(),
            t_sched.get_last_lr(),
            rtol=1e-10,
            atol=1e-14,
            err_msg=f"step {i}",
        )
        if extra:
            extra(o_opt, t_opt, i)
        o_opt.step()
        t_opt.step()
        o_sched.step()
        t_sched.step()


def _opts(cls_o=optim.SGD, cls_t=torch.optim.SGD, **kw):
    p = Parameter(np.zeros(2))
    q = torch.zeros(2, requires_grad=True)
    o = cls_o([{"params": [p]}, {"params": [Parameter(np.zeros(1))], "lr": 0.5}], lr=0.1, **kw)
    t = cls_t(
        [{"params": [q]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5}], lr=0.1, **kw
    )
    return o, t


SCHEDULES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 10, 11], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.1, total_iters=8)),
    ("ConstantLR", dict(factor=0.25, total_iters=4)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=0.01)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4)),
]


@pytest.mark.parametrize("name,kw", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedules_match_torch(name, kw):
    o, t = _opts()
    _lrs(getattr(sched, name)(o, **kw), getattr(torch.optim.lr_scheduler, name)(t, **kw), o, t, 30)


def test_lambda_and_sequential_match_torch():
    o, t = _opts()
    f = lambda e: 0.95**e + 0.1  # noqa: E731
    _lrs(sched.LambdaLR(o, f), torch.optim.lr_scheduler.LambdaLR(t, f), o, t, 20)
    o, t = _opts()
    so = sched.SequentialLR(
        o,
        [sched.LinearLR(o, start_factor=0.1, total_iters=5), sched.CosineAnnealingLR(o, T_max=15)],
        milestones=[5],
    )
    st = torch.optim.lr_scheduler.SequentialLR(
        t,
        [
            torch.optim.lr_scheduler.LinearLR(t, start_factor=0.1, total_iters=5),
            torch.optim.lr_scheduler.CosineAnnealingLR(t, T_max=15),
        ],
        milestones=[5],
    )
    _lrs(so, st, o, t, 20)


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(anneal_strategy="linear", pct_start=0.4),
        dict(three_phase=True, div_factor=10, final_div_factor=100),
    ],
)
@pytest.mark.parametrize("adam", [False, True])
def test_one_cycle_matches_torch(kw, adam):
    if adam:
        o, t = _opts(optim.Adam, torch.optim.Adam)
    else:
        o, t = _opts(momentum=0.9)

    def momenta(oo, tt, i):
        for go, gt in zip(oo.param_groups, tt.param_groups, strict=True):
            key = "betas" if adam else "momentum"
            np.testing.assert_allclose(np.array(go[key]), np.array(gt[key]), rtol=1e-10)

    _lrs(
        sched.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=40, **kw),
        torch.optim.lr_scheduler.OneCycleLR(t, max_lr=[1.0, 2.0], total_steps=40, **kw),
        o,
        t,
        40,
        momenta,
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(patience=2),
        dict(
            mode="max",
            factor=0.5,
            patience=1,
            cooldown=2,
            threshold_mode="abs",
            threshold=0.1,
            min_lr=0.02,
        ),
    ],
)
def test_reduce_on_plateau_matches_torch(kw):
    o, t = _opts()
    so = sched.ReduceLROnPlateau(o, **kw)
    st = torch.optim.lr_scheduler.ReduceLROnPlateau(t, **kw)
    metrics = [
        1.0,
        0.9,
        0.95,
        0.95,
        0.97,
        0.89,
        0.9,
        0.9,
        0.9,
        0.9,
        1.2,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
    ]
    for m in metrics:
        so.step(m)
        st.step(m)
        assert [g["lr"] for g in o.param_groups] == pytest.approx(
            [g["lr"] for g in t.param_groups], rel=1e-12
        )
