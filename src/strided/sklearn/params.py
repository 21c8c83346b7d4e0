"""Checks of estimator hyper-parameters, raising the ValueError scikit-learn raises.

scikit-learn validates an estimator's parameters when `fit` is called, not in `__init__`
(so that `set_params` and `clone` never fail); these helpers do the same for ours.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["check_options", "check_number", "check_bool"]


def _fail(owner: str, name: str, expected: str, value: Any) -> None:
    raise ValueError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def check_options(owner: str, name: str, value: Any, options: Iterable[str]) -> None:
    """ValueError unless `value` is one of the strings `options`."""
    options = sorted(options)
    if not isinstance(value, str) or value not in options:
        _fail(owner, name, "a str among " + ", ".join(repr(o) for o in options), value)


def check_number(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    closed: str = "left",
    integer: bool = False,
    allow_inf: bool = False,
) -> None:
    """ValueError unless `value` is a real (an int if `integer`) in the interval from
    low to high, `closed` on the "left", "right", "both" or "neither" side(s).
    `allow_inf` also accepts +inf where an int is asked for (n_iter_no_change)."""
    kind = numbers.Integral if integer else numbers.Real
    if allow_inf and isinstance(value, numbers.Real) and value == np.inf:
        return
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value >= low if closed in ("left", "both") else value > low
    if ok and high is not None:
        ok = value <= high if closed in ("right", "both") else value < high
    if not ok:
        left = "[" if closed in ("left", "both") else "("
        right = "]" if closed in ("right", "both") else ")"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        what = "an int" if integer else "a float"
        _fail(owner, name, f"{what} in the range {left}{lo}, {hi}{right}", value)


def check_bool(owner: str, name: str, value: Any) -> None:
    """ValueError unless `value` is a bool (NumPy's included)."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(owner, name, "an instance of 'bool'", value)
