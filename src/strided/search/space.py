"""Search spaces: named distributions over hyper-parameters, written as a small dict or JSON.

    {"lr":           {"log-uniform": [1e-4, 1e-1]},
     "weight_decay": {"log-uniform": [1e-6, 1e-2]},
     "momentum":     {"uniform": [0.8, 0.99]},
     "batch_size":   {"choice": [64, 128, 256]},
     "epochs":       {"integer": [1, 3]},
     "optimizer":    "sgd"}                          # a constant

The notes' advice: sample learning rates and regularisation strengths on a log scale
(``log-uniform``: uniform in log x), draw at random rather than on a grid (a random search
tries a new value of every parameter in every trial), and search coarse to fine: after a
round, narrow each range around the best trials and search again (``narrow``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Distribution",
    "LogUniform",
    "Uniform",
    "Integer",
    "Choice",
    "Constant",
    "SearchSpace",
    "parse_space",
    "read_space",
]

# How far a narrowed range reaches beyond the best trials' values, as a fraction of the
# current range's width (in log x for log-uniform ranges).
NARROW_MARGIN = 0.25


class Distribution:
    """One hyper-parameter's distribution."""

    kind: str = ""

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng``."""
        raise NotImplementedError

    def grid(self, points: int) -> list:
        """``points`` evenly spaced values (all of them for a choice or small integer range)."""
        raise NotImplementedError

    def narrow(self, values: Sequence[Any]) -> Distribution:
        """A smaller distribution around ``values`` (the best trials'), inside this one."""
        raise NotImplementedError

    def to_json(self) -> Any:
        """The JSON form ``parse_space`` reads back."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Range(Distribution):
    low: float
    high: float
    name: str = "?"

    def __post_init__(self) -> None:
        for v in (self.low, self.high):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(
                    f"search space: {self.name!r}: {self.kind} bounds must be "
                    f"finite numbers, got [{self.low!r}, {self.high!r}]"
                )
        if not self.low < self.high:
            raise ValueError(
                f"search space: {self.name!r}: empty range [{self.low}, "
                f"{self.high}] ({self.kind} needs low < high)"
            )

    # the scale the range is uniform on, and back
    def _to(self, x: float) -> float:
        return x

    def _from(self, t: float) -> Any:
        return float(t)

    def sample(self, rng: np.random.Generator) -> Any:
        return self._from(rng.uniform(self._to(self.low), self._to(self.high)))

    def grid(self, points: int) -> list:
        ts = np.linspace(self._to(self.low), self._to(self.high), max(1, points))
        return list(dict.fromkeys(self._from(t) for t in ts))

    def narrow(self, values: Sequence[Any]) -> Distribution:
        lo_t, hi_t = self._to(self.low), self._to(self.high)
        ts = [self._to(float(v)) for v in values]
        margin = NARROW_MARGIN * (hi_t - lo_t)
        new_lo, new_hi = min(ts) - margin, max(ts) + margin
        # a bound that reaches past the old range stays exactly the old one
        low = self.low if new_lo <= lo_t else self._from_bound(new_lo)
        high = self.high if new_hi >= hi_t else self._from_bound(new_hi)
        return type(self)(low, high, self.name)

    def _from_bound(self, t: float) -> float:
        return float(t)

    def to_json(self) -> Any:
        return {self.kind: [self.low, self.high]}


class Uniform(_Range):
    """Uniform on ``[low, high]``."""

    kind = "uniform"


class LogUniform(_Range):
    """Log-uniform on ``[low, high]`` (uniform in log x; ``0 < low < high``)."""

    kind = "log-uniform"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.low <= 0:
            raise ValueError(
                f"search space: {self.name!r}: log-uniform needs 0 < low, got "
                f"[{self.low}, {self.high}]"
            )

    def _to(self, x: float) -> float:
        return math.log(x)

    def _from(self, t: float) -> float:
        return float(math.exp(t))

    _from_bound = _from


class Integer(_Range):
    """Integers ``low, low + 1, ..., high``, each equally likely."""

    kind = "integer"

    def __post_init__(self) -> None:
        for v in (self.low, self.high):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(
                    f"search space: {self.name!r}: integer bounds must be "
                    f"integers, got [{self.low!r}, {self.high!r}]"
                )
        if not self.low <= self.high:
            raise ValueError(
                f"search space: {self.name!r}: empty range [{self.low}, "
                f"{self.high}] (integer needs low <= high)"
            )

    def sample(self, rng: np.random.Generator) -> int:
        """One value drawn with ``rng``."""
        return int(rng.integers(int(self.low), int(self.high) + 1))

    def grid(self, points: int) -> list:
        """``points`` evenly spaced values (all of them for a choice or small integer range)."""
        ts = np.linspace(self.low, self.high, max(1, points))
        return sorted({int(round(t)) for t in ts})

    def narrow(self, values: Sequence[Any]) -> Distribution:
        """A smaller distribution around ``values`` (the best trials'), inside this one."""
        margin = NARROW_MARGIN * (self.high - self.low)
        lo = max(self.low, int(math.floor(min(values) - margin)))
        hi = min(self.high, int(math.ceil(max(values) + margin)))
        return Integer(lo, hi, self.name)


@dataclass(frozen=True)
class Choice(Distribution):
    """One of ``options``, each equally likely.

    Parameters
    ----------
    options : tuple
        The values to choose from.
    name : str
        Name of the hyper-parameter, used in error messages.
    """

    options: tuple
    name: str = "?"
    kind = "choice"

    def __post_init__(self) -> None:
        if len(self.options) == 0:
            raise ValueError(f"search space: {self.name!r}: choice needs at least one option")

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng``."""
        return self.options[int(rng.integers(len(self.options)))]

    def grid(self, points: int) -> list:
        """``points`` evenly spaced values (all of them for a choice or small integer range)."""
        return list(self.options)

    def narrow(self, values: Sequence[Any]) -> Distribution:
        """A smaller distribution around ``values`` (the best trials'), inside this one."""
        return Choice(tuple(o for o in self.options if o in values), self.name)

    def to_json(self) -> Any:
        """The JSON form ``parse_space`` reads back."""
        return {"choice": list(self.options)}


@dataclass(frozen=True)
class Constant(Distribution):
    """Always ``value``.

    Parameters
    ----------
    value : Any
        The value every trial gets.
    name : str
        Name of the hyper-parameter, used in error messages.
    """

    value: Any
    name: str = "?"
    kind = "constant"

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng``."""
        return self.value

    def grid(self, points: int) -> list:
        """``points`` evenly spaced values (all of them for a choice or small integer range)."""
        return [self.value]

    def narrow(self, values: Sequence[Any]) -> Distribution:
        """A smaller distribution around ``values`` (the best trials'), inside this one."""
        return self

    def to_json(self) -> Any:
        """The JSON form ``parse_space`` reads back."""
        return self.value


_KINDS = {
    "log-uniform": LogUniform,
    "loguniform": LogUniform,
    "log_uniform": LogUniform,
    "uniform": Uniform,
    "integer": Integer,
    "int": Integer,
    "randint": Integer,
    "choice": Choice,
}


def _parse_one(name: str, spec: Any) -> Distribution:
    if isinstance(spec, Distribution):
        return spec
    if not isinstance(spec, Mapping):
        return Constant(spec, name)
    if len(spec) != 1:
        raise ValueError(
            f"search space: {name!r}: write one distribution as "
            f'{{"log-uniform": [low, high]}}, got {dict(spec)!r}'
        )
    ((kind, args),) = spec.items()
    cls = _KINDS.get(str(kind).lower())
    if cls is None:
        raise ValueError(
            f"search space: {name!r}: unknown distribution {kind!r}; choose "
            "from log-uniform, uniform, integer, choice"
        )
    if not isinstance(args, (list, tuple)):
        raise ValueError(f"search space: {name!r}: {kind} takes a list, got {args!r}")
    if cls is Choice:
        return Choice(tuple(args), name)
    if len(args) != 2:
        raise ValueError(f"search space: {name!r}: {kind} takes [low, high], got {list(args)}")
    return cls(args[0], args[1], name)


class SearchSpace:
    """Named distributions (``parse_space`` builds one from a dict or JSON).

    Parameters
    ----------
    dists : Mapping of str to Distribution
        Each hyper-parameter's name and distribution (at least one).
    """

    def __init__(self, dists: Mapping[str, Distribution]):
        if not dists:
            raise ValueError("search space: no parameters to search")
        self.dists = dict(dists)

    def __iter__(self) -> Iterator[str]:
        return iter(self.dists)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_json() == other.to_json()

    def sample(self, rng: np.random.Generator) -> dict:
        """One configuration, each parameter drawn independently."""
        return {k: d.sample(rng) for k, d in self.dists.items()}

    def grid(self, points: int) -> list[dict]:
        """Every combination of ``points`` values per range (all options of a choice)."""
        combos: list[dict] = [{}]
        for k, d in self.dists.items():
            combos = [{**c, k: v} for c in combos for v in d.grid(points)]
        return combos

    def narrow(self, best: Sequence[Mapping[str, Any]]) -> SearchSpace:
        """Each range narrowed around the values of the configurations ``best``."""
        if not best:
            return self
        return SearchSpace({k: d.narrow([b[k] for b in best]) for k, d in self.dists.items()})

    def to_json(self) -> dict:
        """The JSON form ``parse_space`` reads back."""
        return {k: d.to_json() for k, d in self.dists.items()}

    def __repr__(self) -> str:
        return f"SearchSpace({self.to_json()})"


def parse_space(spec: Mapping[str, Any] | SearchSpace) -> SearchSpace:
    """A ``SearchSpace`` from a dict: each value a distribution ``{"log-uniform": [lo, hi]}``,
    ``{"uniform": [lo, hi]}``, ``{"integer": [lo, hi]}``, ``{"choice": [a, b, ...]}``, a
    ``Distribution``, or a constant.

    Parameters
    ----------
    spec : Mapping or SearchSpace
        The dict described above (a SearchSpace is returned as it is).
    """
    if isinstance(spec, SearchSpace):
        return spec
    if not isinstance(spec, Mapping):
        raise ValueError(
            f"search space: expected a dict of parameter -> distribution, got {type(spec).__name__}"
        )
    return SearchSpace({str(k): _parse_one(str(k), v) for k, v in spec.items()})


def read_space(source: str | os.PathLike) -> SearchSpace:
    """A ``SearchSpace`` from a JSON file, or from JSON text (starting with ``{``).

    Parameters
    ----------
    source : str or PathLike
        Path of the JSON file, or the JSON text itself.
    """
    text = str(source).strip()
    if not text.startswith("{"):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"search space: no such file: {path}")
        text, where = path.read_text(), str(path)
    else:
        where = "the JSON given"
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"search space: {where} is not valid JSON ({exc})") from None
    return parse_space(spec)
