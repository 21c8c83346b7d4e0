"""The stochastic solvers of `MLPClassifier`/`MLPRegressor`, with scikit-learn's semantics.

They differ from `strided.optim` where scikit-learn's MLP does: the velocity of SGD holds
the learning rate (v ← μv − η g, so a schedule that changes η changes only new steps),
the learning rate follows the estimator's 'constant' / 'invscaling' / 'adaptive' schedule
between epochs, and Adam folds its bias corrections into the step size. Updates are in
place; the gradient arrays are scratch space and are overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["SGDSolver", "AdamSolver"]


class _Solver:
    def __init__(self, learning_rate_init: float):
        self.learning_rate = float(learning_rate_init)

    def iteration_ends(self, time_step: int) -> None:
        """Called after each epoch with the number of samples seen so far."""

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """Whether to stop when the loss stopped improving (the adaptive schedule first
        divides the learning rate by 5, until it falls below 1e-6)."""
        if verbose:
            print(msg + " Stopping.")
        return True


class SGDSolver(_Solver):
    """v ← μv − η∇; θ ← θ + μv − η∇ (Nesterov) or θ ← θ + v.

    Schedules: 'constant' η = η₀; 'invscaling' η = η₀ / (t + 1)^power_t with t the samples
    seen; 'adaptive' η ← η/5 whenever the loss stops improving.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        learning_rate_init: float = 0.1,
        lr_schedule: str = "constant",
        momentum: float = 0.9,
        nesterov: bool = True,
        power_t: float = 0.5,
    ):
        super().__init__(learning_rate_init)
        self.learning_rate_init = float(learning_rate_init)
        self.lr_schedule, self.momentum, self.nesterov = lr_schedule, momentum, nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def iteration_ends(self, time_step: int) -> None:
        """Apply the 'invscaling' schedule after an epoch (t = samples seen)."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """Stop, or with the 'adaptive' schedule divide the learning rate by 5 first."""
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False

    def update_params(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """One momentum step of every parameter, in place (grads are overwritten)."""
        mu, lr = self.momentum, self.learning_rate
        for p, g, v in zip(params, grads, self.velocities, strict=True):
            g *= lr  # g ← η∇
            v *= mu
            v -= g
            if self.nesterov:
                p -= g
                np.multiply(v, mu, out=g)
                p += g
            else:
                p += v


class AdamSolver(_Solver):
    """m ← β₁m + (1−β₁)∇, v ← β₂v + (1−β₂)∇², θ ← θ − η·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε)
    (Kingma & Ba 2015, the step size with the bias corrections folded in)."""

    def __init__(
        self,
        params: Sequence[np.ndarray],
        learning_rate_init: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ):
        super().__init__(learning_rate_init)
        self.learning_rate_init = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update_params(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """One Adam step of every parameter, in place (grads are overwritten)."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        self.learning_rate = self.learning_rate_init * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(params, grads, self.ms, self.vs, strict=True):
            m *= b1
            m += (1 - b1) * g
            g *= g
            g *= 1 - b2
            v *= b2
            v += g
            np.sqrt(v, out=g)
            g += self.epsilon
            np.divide(m, g, out=g)
            g *= self.learning_rate
            p -= g
