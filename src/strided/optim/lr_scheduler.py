"""Learning-rate schedules, with PyTorch's names, arguments and step semantics.

A scheduler wraps an optimiser; constructing it sets each group's lr to the schedule's
value at step 0 (and records `initial_lr`), and every `scheduler.step()` (after
`optimizer.step()`) advances it. Each declares how it is meant to be stepped, so a
training loop need not know the classes: `interval` is "epoch" or "batch" (OneCycleLR),
and `needs_metric` says that `step(metric)` wants the monitored value (ReduceLROnPlateau).

Every schedule here (OneCycleLR and the warm restarts included) is computed in closed form
from the group's `initial_lr` and the step count — `lrs_at(step)` — so it does not drift and
can be resumed from its state dict; schedules that also move the momentum say so in
`momenta_at(step)`. The price is that two schedulers on one optimiser do not compose by
multiplication as torch's "chainable" ones do: use `SequentialLR` to run schedules one
after another (e.g. warm-up then cosine).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

from .optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "InverseScalingLR",
    "SequentialLR",
    "ReduceLROnPlateau",
    "SCHEDULERS",
    "create",
]


def _check_optimizer(name: str, optimizer: Optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: expected a strided Optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class: subclasses implement `lr_at(base_lr, step) -> lr` (closed form), or
    `lrs_at(step)` when the groups differ by more than their initial lr.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    interval = "epoch"  # step() once per "epoch" or once per "batch"
    needs_metric = False  # step(metric) with the monitored value

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    raise KeyError(
                        f"{type(self).__name__}: param 'initial_lr' is not "
                        f"specified in param_groups[{i}] when resuming"
                    )
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()

    def lr_at(self, base_lr: float, step: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def lrs_at(self, step: float) -> list[float]:
        """The learning rates of the groups at `step` (closed form)."""
        return [self.lr_at(b, step) for b in self.base_lrs]

    def momenta_at(self, step: float) -> list[float] | None:
        """The momentum (SGD) or β₁ (Adam) of each group at `step`, for schedules that
        cycle it; None for those that leave it alone."""
        return None

    def get_lr(self) -> list[float]:
        """The learning rates for the current `last_epoch`."""
        return self.lrs_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last `step()`, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to `epoch`) and set the groups' learning rates (and
        momenta, for schedules that cycle them)."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        self._set(self.get_lr(), self.momenta_at(self.last_epoch))

    def _set(self, lrs: Sequence[float], momenta: Sequence[float] | None = None) -> None:
        groups = self.optimizer.param_groups
        for g, lr in zip(groups, lrs, strict=True):
            g["lr"] = lr
        if momenta is not None:
            for g, m in zip(groups, momenta, strict=True):
                if "betas" in g:
                    g["betas"] = (m, *g["betas"][1:])
                else:
                    g["momentum"] = m
        self._last_lr = [g["lr"] for g in groups]

    def state_dict(self) -> dict:
        """Everything but the optimiser (and callables) as plain Python values."""
        return {
            k: v
            for k, v in self.__dict__.items()
            if k != "optimizer" and not callable(v) and k != "schedulers"
        }

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """lr = initial_lr · lr_lambda(step) (one function, or one per group).

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[float], float] | Sequence[Callable[[float], float]],
        last_epoch: int = -1,
    ) -> None:
        n = len(optimizer.param_groups)
        fns = [lr_lambda] * n if callable(lr_lambda) else list(lr_lambda)
        if len(fns) != n:
            raise ValueError(f"LambdaLR: expected {n} lr_lambdas, got {len(fns)}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, step: float) -> list[float]:
        return [b * f(step) for b, f in zip(self.base_lrs, self.lr_lambdas, strict=True)]

    def state_dict(self) -> dict:
        d = super().state_dict()
        d.pop("lr_lambdas", None)
        return d


class StepLR(LRScheduler):
    """lr = initial_lr · γ^⌊step / step_size⌋: divide by 1/γ every `step_size` epochs.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    gamma : float
        Multiplicative factor of the learning-rate decay.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, t: float) -> float:
        return base * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = initial_lr · γ^(number of milestones ≤ step).

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    gamma : float
        Multiplicative factor of the learning-rate decay.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        ms = sorted(int(m) for m in milestones)
        self.milestones, self.gamma = ms, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, t: float) -> float:
        return base * self.gamma ** bisect_right(self.milestones, t)


class ConstantLR(LRScheduler):
    """lr = initial_lr · factor for the first `total_iters` steps, then initial_lr.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, t: float) -> float:
        return base * (self.factor if t < self.total_iters else 1.0)


class LinearLR(LRScheduler):
    """Linear warm-up: the factor goes linearly from `start_factor` to `end_factor` over
    `total_iters` steps, then stays: lr = initial_lr·(s + (e − s)·min(t, T)/T).

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        if total_iters <= 0:
            raise ValueError(f"LinearLR: total_iters must be positive, got {total_iters}")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, t: float) -> float:
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return base * (s + (e - s) * min(t, T) / T)


class ExponentialLR(LRScheduler):
    """lr = initial_lr · γ^step.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    gamma : float
        Multiplicative factor of the learning-rate decay.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, t: float) -> float:
        return base * self.gamma**t


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (initial_lr − η_min)·(1 + cos(π·t/T_max))/2 (Loshchilov & Hutter 2017,
    without restarts): from initial_lr at t = 0 down to η_min at t = T_max.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    eta_min : float
        Minimum learning rate (default 0).
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, t: float) -> float:
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: cosine annealing from initial_lr to η_min over T_i steps, then restart, with
    T_0 for the first period and each next one T_mult times longer. `step(epoch)` accepts
    fractional epochs (call it per batch with epoch + i/n_batches).

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    eta_min : float
        Minimum learning rate (default 0).
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: T_0 must be a positive int, got {T_0!r}"
            )
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: T_mult must be an int >= 1, got {T_mult!r}"
            )
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        self.position = float(last_epoch)  # in epochs, fractional when stepped per batch
        super().__init__(optimizer, last_epoch)

    def period_at(self, t: float) -> tuple[float, int]:
        """`(T_cur, T_i)` at epoch `t`: the time since the last restart and the length of
        the current period, the periods being T_0, T_0·T_mult, T_0·T_mult², ..."""
        if self.T_mult == 1:
            return t % self.T_0, self.T_0
        start, length = 0, self.T_0
        while t >= start + length:  # exact, where log_T_mult would round at the boundaries
            start, length = start + length, length * self.T_mult
        return t - start, length

    def lr_at(self, base: float, t: float) -> float:
        T_cur, T_i = self.period_at(t)
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2

    def get_lr(self) -> list[float]:
        return self.lrs_at(self.position)

    def step(self, epoch: float | None = None) -> None:
        """One epoch on, or to `epoch` (fractional epochs for per-batch stepping, e.g.
        `epoch + i / n_batches`)."""
        if epoch is not None and epoch < 0:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: epoch must be non-negative, got {epoch}"
            )
        self.position = self.position + 1 if epoch is None else epoch
        self.last_epoch = math.floor(self.position)
        self._set(self.get_lr())

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        # states saved before the closed form kept T_cur/T_i instead of the position
        state_dict.setdefault("position", float(state_dict.get("last_epoch", 0)))
        for stale in ("T_cur", "T_i"):
            state_dict.pop(stale, None)
        super().load_state_dict(state_dict)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith 2018), stepped once per batch: lr rises from
    max_lr/div_factor to max_lr over the first pct_start of the steps, then anneals to
    max_lr/(div_factor·final_div_factor); momentum (SGD) or β₁ (Adam) moves inversely
    between max_momentum and base_momentum. Defaults as torch's.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    total_steps : int or None
        Steps in the cycle; else epochs × steps_per_epoch.
    epochs : int or None
        Epochs to train, with steps_per_epoch, when total_steps is not given.
    steps_per_epoch : int or None
        Steps per epoch, with epochs, when total_steps is not given.
    anneal_strategy : str
        'cos' (default) or 'linear' annealing between the phases.
    cycle_momentum : bool
        Cycle the momentum (or β1) inversely to the learning rate, between base_momentum and
        max_momentum.
    three_phase : bool
        Add a third phase that anneals to the final rate after the symmetric warm-up and decay
        (fast.ai's form when False).
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    interval = "batch"

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer("OneCycleLR", optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(
                    f"OneCycleLR: total_steps must be a positive int, got {total_steps!r}"
                )
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if epochs <= 0 or steps_per_epoch <= 0:
                raise ValueError(
                    f"OneCycleLR: epochs and steps_per_epoch must be positive, "
                    f"got {epochs}, {steps_per_epoch}"
                )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.anneal_strategy = anneal_strategy
        T = self.total_steps
        if three_phase:
            self._phases = [
                (float(pct_start * T) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (
                    float(2 * pct_start * T) - 2,
                    "max_lr",
                    "initial_lr",
                    "base_momentum",
                    "max_momentum",
                ),
                (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (float(pct_start * T) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, Sequence) else [float(max_lr)] * len(groups)
        if len(max_lrs) != len(groups):
            raise ValueError(
                f"OneCycleLR: expected {len(groups)} max_lr values, got {len(max_lrs)}"
            )
        if last_epoch == -1:
            for g, m in zip(groups, max_lrs, strict=True):
                g["initial_lr"] = m / div_factor
                g["max_lr"] = m
                g["min_lr"] = g["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    "OneCycleLR: optimizer must support momentum or betas "
                    "with cycle_momentum enabled"
                )
            bms = (
                base_momentum
                if isinstance(base_momentum, (list, tuple))
                else [base_momentum] * len(groups)
            )
            mms = (
                max_momentum
                if isinstance(max_momentum, (list, tuple))
                else [max_momentum] * len(groups)
            )
            if last_epoch == -1:
                for g, bm, mm in zip(groups, bms, mms, strict=True):
                    g["max_momentum"], g["base_momentum"] = mm, bm
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _phase_at(self, t: float) -> tuple[int, float]:
        """The phase that step `t` falls in, and how far through it (0 to 1)."""
        start = 0.0
        for i, (end, *_) in enumerate(self._phases):
            if t <= end or i == len(self._phases) - 1:
                return i, (t - start) / (end - start)
            start = end
        raise AssertionError("unreachable")

    def lrs_at(self, t: float) -> list[float]:
        if t > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {t} times; the specified number of "
                f"total steps is {self.total_steps}"
            )
        i, pct = self._phase_at(t)
        _, lr0, lr1, _, _ = self._phases[i]
        return [self._anneal(g[lr0], g[lr1], pct) for g in self.optimizer.param_groups]

    def momenta_at(self, t: float) -> list[float] | None:
        """The momentum moves against the lr: from max_momentum down to base_momentum while
        the lr rises, and back."""
        if not self.cycle_momentum:
            return None
        i, pct = self._phase_at(t)
        _, _, _, m0, m1 = self._phases[i]
        return [self._anneal(g[m0], g[m1], pct) for g in self.optimizer.param_groups]


class InverseScalingLR(LRScheduler):
    """scikit-learn's "invscaling": lr = initial_lr / (t + 1)^power_t (t = steps taken),
    a Robbins–Monro schedule (Σ lr = ∞, Σ lr² < ∞ for ½ < power_t ≤ 1).

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(self, optimizer: Optimizer, power_t: float = 0.5, last_epoch: int = -1) -> None:
        if power_t < 0:
            raise ValueError(f"InverseScalingLR: power_t must be non-negative, got {power_t}")
        self.power_t = power_t
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, t: float) -> float:
        return base / (t + 1) ** self.power_t


class SequentialLR(LRScheduler):
    """Run `schedulers` one after another, switching at the step counts in `milestones`;
    each restarts from its own step 0 (e.g. LinearLR warm-up, then CosineAnnealingLR).

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are scheduled.
    last_epoch : int
        Index of the last step taken; -1 (default) starts a new schedule.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer("SequentialLR", optimizer)
        if len(schedulers) < 1 or len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected len(milestones) == len(schedulers) − 1, "
                f"got {len(milestones)} milestones for {len(schedulers)} schedulers"
            )
        for s in schedulers:
            if s.optimizer is not optimizer:
                raise ValueError("SequentialLR: every scheduler must wrap the same optimizer")
            if isinstance(s, OneCycleLR):
                raise TypeError(
                    "SequentialLR: OneCycleLR sets the groups' initial lr and "
                    "momentum itself; step it directly"
                )
        self.schedulers, self.milestones = list(schedulers), list(milestones)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        i = bisect_right(self.milestones, self.last_epoch)
        start = self.milestones[i - 1] if i else 0
        return self.schedulers[i].lrs_at(self.last_epoch - start)

    def state_dict(self) -> dict:
        d = super().state_dict()
        d["_schedulers"] = [s.state_dict() for s in self.schedulers]
        return d

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        subs = state_dict.pop("_schedulers", [])
        super().load_state_dict(state_dict)
        for s, sd in zip(self.schedulers, subs, strict=True):
            s.load_state_dict(sd)


class ReduceLROnPlateau:
    """Multiply the lr by `factor` when a metric has stopped improving for `patience`
    epochs: `scheduler.step(val_loss)`. Torch's semantics: `threshold_mode` "rel" counts
    an improvement when the metric beats best·(1 ∓ threshold), "abs" when it beats
    best ∓ threshold; after a reduction, `cooldown` epochs pass before counting again;
    the lr never goes below `min_lr`, and changes smaller than `eps` are skipped.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer whose learning rates are reduced.
    mode : str
        'min' or 'max': whether the monitored quantity should decrease or increase.
    """

    interval = "epoch"
    needs_metric = True

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        _check_optimizer("ReduceLROnPlateau", optimizer)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(self.min_lrs) != n:
            raise ValueError(
                f"ReduceLROnPlateau: expected {n} min_lr values, got {len(self.min_lrs)}"
            )
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            limit = (
                best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else best - self.threshold
            )
            return a < limit
        limit = (
            best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        )
        return a > limit

    def step(self, metrics: SupportsFloat) -> None:
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            for g, lo in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old = g["lr"]
                new = max(old * self.factor, lo)
                if old - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


# name → class, for configs and the command line
SCHEDULERS: dict[str, type] = {
    "lambda": LambdaLR,
    "step": StepLR,
    "multistep": MultiStepLR,
    "constant": ConstantLR,
    "linear": LinearLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "cosine_warm_restarts": CosineAnnealingWarmRestarts,
    "onecycle": OneCycleLR,
    "invscaling": InverseScalingLR,
    "sequential": SequentialLR,
    "plateau": ReduceLROnPlateau,
}


def create(name: str, optimizer: Optimizer, **kwargs: Any) -> LRScheduler | ReduceLROnPlateau:
    """The schedule registered as ``name`` (one of ``SCHEDULERS``, case-insensitive) over
    ``optimizer``, with the class's own arguments: ``create("cosine", opt, T_max=30)``."""
    key = str(name).lower()
    if key not in SCHEDULERS:
        raise ValueError(f"unknown schedule {name!r}; choose from {', '.join(SCHEDULERS)}")
    return SCHEDULERS[key](optimizer, **kwargs)
