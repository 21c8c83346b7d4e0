"""Hyper-parameter search: random, grid and coarse-to-fine, with successive halving.

>>> from strided.search import search, TrainObjective
>>> result = search({"lr": {"log-uniform": [1e-4, 1e-2]},
...                  "weight_decay": {"log-uniform": [1e-6, 1e-3]}},
...                 TrainObjective(), "runs/search", trials=12, rounds=2, epochs=2,
...                 base={"limit_train": 6000})                        # doctest: +SKIP
>>> result.best_config                                                 # doctest: +SKIP

``strided search`` is the same from the command line.
"""

from .runner import SearchResult, Trial, available_cores, search
from .space import (
    Choice,
    Constant,
    Distribution,
    Integer,
    LogUniform,
    SearchSpace,
    Uniform,
    parse_space,
    read_space,
)
from .trial import TrainObjective

__all__ = [
    "search",
    "SearchResult",
    "Trial",
    "available_cores",
    "TrainObjective",
    "parse_space",
    "read_space",
    "SearchSpace",
    "Distribution",
    "LogUniform",
    "Uniform",
    "Integer",
    "Choice",
    "Constant",
]
