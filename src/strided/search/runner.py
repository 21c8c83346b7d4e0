"""The search loop: rounds of trials, each trial a short training in its own folder.

``search(space, objective, directory, ...)`` runs ``rounds`` rounds of ``trials`` trials
each, drawn at random (``strategy="random"``) or on a grid (``"grid"``) from the space;
every round after the first draws from the space narrowed around the ``keep`` best trials
so far (the notes' coarse-to-fine loop). With ``halving=η`` each round is a successive
halving: all its configurations train for ``min_epochs``, the best ⌈n/η⌉ again for η times
as many epochs, and so on up to the full ``epochs``, so that bad configurations stop early.

Each trial calls ``objective(config, folder)`` with the trial's configuration (the drawn
parameters, its own ``seed`` and its ``epochs``) and a fresh folder, and gets back a dict
of metrics; its score is ``metrics[metric]``. A finished trial is recorded at once,
atomically, in ``directory/trials/trial-NNNN.json``; a search started again in the same
folder (after a crash, or a ``kill -9``) skips the recorded trials and, since each round's
draws depend only on the seed and the earlier rounds' results, ends with the same table as
one that was never interrupted. The table goes to ``results.csv``/``results.json`` (best
first), the best configuration to ``best_config.json``.

``workers=N`` runs the trials of a round in N processes, each allowed ``cores // N``
threads (BLAS, OpenMP, Numba), so that together they do not oversubscribe the cores.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write_text, to_jsonable
from .space import SearchSpace, parse_space

__all__ = ["search", "SearchResult", "Trial", "available_cores"]

STRATEGIES = ("random", "grid")
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


@dataclass
class Trial:
    """One trial: where it stands in the search, what it tried, and what it scored.

    Parameters
    ----------
    trial : int
        Number of the trial in the search.
    round : int
        Round of the coarse-to-fine search it belongs to (0 for the first).
    rung : int
        Rung of successive halving it was run at (0 for the first, cheapest one).
    seed : int
        Seed of its training run.
    epochs : int or None
        Epochs it trains for (the recipe's when None).
    params : dict
        The hyper-parameter values it tried.
    status : str
        'planned', then 'ok' or 'failed' once run.
    score : float or None
        The value of the searched metric it reached (None until run).
    metrics : dict
        Every final metric of its run.
    error : str or None
        Why it failed, for a failed trial.
    seconds : float or None
        Wall time of its run.
    """

    trial: int
    round: int
    rung: int
    seed: int
    epochs: int | None
    params: dict
    status: str = "planned"  # "ok" or "failed" once run
    score: float | None = None
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float | None = None

    def same_plan(self, other: Trial) -> bool:
        """Whether ``other`` is the same trial of the same search (results aside)."""
        return (self.round, self.rung, self.seed, self.epochs, self.params) == (
            other.round,
            other.rung,
            other.seed,
            other.epochs,
            other.params,
        )

    def to_json(self) -> dict:
        """The trial as JSON-able data (its record file)."""
        return to_jsonable(self.__dict__)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Trial:
        """A trial from its record."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class SearchResult:
    """What a search found: every trial, best first, and the best configuration.

    Parameters
    ----------
    trials : list of Trial
        Every trial, best first.
    best : Trial
        The best trial.
    best_config : dict
        The full configuration of the best trial.
    directory : Path
        Folder holding the search's records and runs.
    """

    trials: list[Trial]
    best: Trial
    best_config: dict
    directory: Path

    def table(self) -> list[dict]:
        """The trials as rows (best first): trial, round, rung, seed, epochs, parameters,
        score, metrics, status."""
        return [_row(t) for t in self.trials]


def available_cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- planning -----------------------------------------------------------------------------


def _sortable(score: float | None, mode: str) -> float:
    if score is None or not math.isfinite(score):
        return math.inf  # failed trials last
    return -score if mode == "max" else score


def _ranked(trials: Sequence[Trial], mode: str) -> list[Trial]:
    return sorted(trials, key=lambda t: (_sortable(t.score, mode), t.trial))


def _draw(
    space: SearchSpace, strategy: str, n: int, grid_points: int, rng: np.random.Generator
) -> list[dict]:
    if strategy == "grid":
        return space.grid(grid_points)
    return [space.sample(rng) for _ in range(n)]


def _rungs(epochs: int | None, halving: int | None, min_epochs: int) -> list[int | None]:
    """The epochs of each rung of a successive halving: min_epochs·η^k, up to ``epochs``."""
    if halving is None:
        return [epochs]
    assert epochs is not None
    budgets: list[int | None] = []
    b = min_epochs
    while b < epochs:
        budgets.append(b)
        b *= halving
    return budgets + [epochs]


# -- running ------------------------------------------------------------------------------


def _set_parent_death_signal() -> None:
    """Worker processes die with the search: a killed search must not leave trials running
    into folders that its restart reuses (Linux; elsewhere nothing happens)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _init_worker(threads: int) -> None:
    _set_parent_death_signal()
    import strided

    setter = getattr(strided, "set_num_threads", None)
    if setter is not None:
        setter(threads)


@contextmanager
def _thread_environment(threads: int) -> Iterator[None]:
    """Thread counts for processes started inside the block (they read them at start)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    os.environ.update({k: str(threads) for k in _THREAD_VARIABLES})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_trial(objective: Callable, config: dict, folder: str, metric: str) -> dict:
    """Run one trial; its metrics, or the error that ended it (as data, so that one
    diverging trial does not end the search)."""
    start = time.perf_counter()
    try:
        metrics = dict(objective(dict(config), Path(folder)))
    except (ArithmeticError, ValueError, TypeError, KeyError, OSError, RuntimeError) as exc:
        return {
            "status": "failed",
            "error": f"{type(exc).__name__}: {' '.join(str(exc).split())}",
            "seconds": time.perf_counter() - start,
        }
    if metric not in metrics:
        raise KeyError(
            f"search: the objective's results have no {metric!r} (they have: "
            f"{', '.join(sorted(metrics)) or 'nothing'})"
        )
    score = metrics[metric]
    return {
        "status": "ok",
        "metrics": metrics,
        "seconds": time.perf_counter() - start,
        "score": None if score is None else float(score),
    }


def _row(t: Trial) -> dict:
    row = {
        "trial": t.trial,
        "round": t.round,
        "rung": t.rung,
        "seed": t.seed,
        "epochs": t.epochs,
        **t.params,
        "score": t.score,
        **{k: v for k, v in t.metrics.items() if isinstance(v, (int, float, str))},
        "status": t.status,
        "seconds": t.seconds,
    }
    if t.error:
        row["error"] = t.error
    return row


# -- the search ---------------------------------------------------------------------------


def search(
    space: Mapping[str, Any] | SearchSpace,
    objective: Callable[[dict, Path], Mapping],
    directory: str | os.PathLike,
    *,
    strategy: str = "random",
    trials: int = 12,
    rounds: int = 1,
    keep: int | None = None,
    grid_points: int = 3,
    halving: int | None = None,
    min_epochs: int = 1,
    epochs: int | None = None,
    metric: str = "val_accuracy",
    mode: str = "max",
    seed: int = 0,
    workers: int = 1,
    base: Mapping[str, Any] | None = None,
    keep_out: Sequence[str] = (),
    on_trial: Callable[[Trial, bool], None] | None = None,
) -> SearchResult:
    """Search ``space`` for the configuration that scores best under ``objective``.

    Parameters
    ----------
    space : dict or SearchSpace
        The parameters to search (see ``strided.search.space``).
    objective : callable
        ``objective(config, folder) -> metrics``: trains with ``config`` (``base``, the
        drawn parameters, ``seed`` and ``epochs``) in ``folder`` and returns a dict holding
        ``metric``. With ``workers > 1`` it must be picklable (a module-level function or
        an instance of a module-level class).
    directory : path
        The search folder: ``search.json``, ``trials/``, one folder per trial, the tables
        and ``best_config.json``. Running the same search again in it resumes it.
    strategy : {"random", "grid"}
        How each round draws: ``trials`` random configurations, or the grid of
        ``grid_points`` values per range (every option of a choice).
    trials, rounds : int
        Configurations per round (random search) and rounds; each round after the first
        narrows the space around the ``keep`` best trials so far (default: a quarter of a
        round, at least 2).
    halving : int, optional
        Successive halving with this η: rungs of ``min_epochs``·η^k epochs up to ``epochs``,
        the best ⌈n/η⌉ of each rung going on to the next.
    epochs : int, optional
        Each trial's training length (the last rung's with ``halving``); given to the
        objective as ``config["epochs"]``.
    metric, mode : the score (a key of the objective's metrics) and whether "max" or "min"
        is better.
    seed : int
        Seeds the draws; trial ``i`` trains with seed ``seed + i``.
    workers : int
        Trials run at once, in separate processes, with ``cores // workers`` threads each.
    base : dict, optional
        Options every trial's config starts from (recorded in ``best_config``).
    keep_out : names of ``base`` options left out of ``best_config`` (those that only
        make the trials short, such as a limit on the training images).
    on_trial : callable, optional
        ``on_trial(trial, skipped)`` after each trial is recorded, or found recorded by an
        earlier run of the search (``skipped``): for progress output.
    """
    space = parse_space(space)
    where = "search"
    if strategy not in STRATEGIES:
        raise ValueError(f"{where}: unknown strategy {strategy!r}; choose from random, grid")
    if mode not in ("max", "min"):
        raise ValueError(f"{where}: mode must be 'max' or 'min', got {mode!r}")
    for name, v, low in (
        ("trials", trials, 1),
        ("rounds", rounds, 1),
        ("workers", workers, 1),
        ("grid_points", grid_points, 1),
        ("min_epochs", min_epochs, 1),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{where}: {name} must be an integer >= {low}, got {v!r}")
    if halving is not None:
        if isinstance(halving, bool) or not isinstance(halving, int) or halving < 2:
            raise ValueError(f"{where}: halving (η) must be an integer >= 2, got {halving!r}")
        if epochs is None or epochs < min_epochs:
            raise ValueError(
                f"{where}: successive halving needs the full epochs (>= "
                f"min_epochs {min_epochs}), got {epochs!r}"
            )
    if "epochs" in space and (epochs is not None or halving is not None):
        raise ValueError(
            f"{where}: 'epochs' is searched, so it cannot also be the trials' "
            "fixed length or the halving budget"
        )
    cores = available_cores()
    if workers > cores:
        raise ValueError(
            f"{where}: {workers} workers would oversubscribe the {cores} cores "
            "this process may use; give at most that many"
        )
    keep = keep if keep is not None else max(2, trials // 4)
    directory = Path(directory)
    spec = to_jsonable(
        {
            "space": space.to_json(),
            "strategy": strategy,
            "trials": trials,
            "rounds": rounds,
            "keep": keep,
            "grid_points": grid_points,
            "halving": halving,
            "min_epochs": min_epochs,
            "epochs": epochs,
            "metric": metric,
            "mode": mode,
            "seed": seed,
            "base": dict(base or {}),
        }
    )
    _claim(directory, spec)
    done = _recorded(directory)
    base = dict(base or {})
    budgets = _rungs(epochs, halving, min_epochs)

    pool = None
    threads = max(1, cores // workers)
    all_trials: list[Trial] = []
    next_id = 0
    try:
        if workers > 1:
            import multiprocessing

            with _thread_environment(threads):
                pool = ProcessPoolExecutor(
                    workers,
                    multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(threads,),
                )
                # start every worker now, while the thread variables are set
                for f in [pool.submit(os.getpid) for _ in range(workers)]:
                    f.result()
        current = space
        for r in range(rounds):
            if r > 0:
                top_rung = max(t.rung for t in all_trials)
                finished = [t for t in all_trials if t.rung == top_rung and t.status == "ok"]
                if finished:
                    current = current.narrow([t.params for t in _ranked(finished, mode)[:keep]])
            configs = _draw(
                current, strategy, trials, grid_points, np.random.default_rng([seed, r])
            )
            seeds = {}
            for rung, budget in enumerate(budgets):
                planned = []
                for c in configs:
                    key = json.dumps(to_jsonable(c), sort_keys=True)
                    if key not in seeds:
                        seeds[key] = seed + next_id
                    planned.append(Trial(next_id, r, rung, seeds[key], budget, dict(c)))
                    next_id += 1
                finished = _run_round(
                    planned, done, objective, directory, base, metric, pool, on_trial
                )
                all_trials += finished
                if halving is not None and rung + 1 < len(budgets):
                    ok = _ranked([t for t in finished if t.status == "ok"], mode)
                    configs = [t.params for t in ok[: max(1, math.ceil(len(configs) / halving))]]
                    if not configs:
                        break
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    return _finish(
        all_trials, directory, {k: v for k, v in base.items() if k not in keep_out}, mode, metric
    )


def _claim(directory: Path, spec: dict) -> None:
    """Write ``search.json``, or check that the folder's search is this one."""
    path = directory / "search.json"
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            raise ValueError(
                f"search: {path} is not valid JSON; it was not written by a search"
            ) from None
        if saved != spec:
            diff = sorted(k for k in set(spec) | set(saved) if spec.get(k) != saved.get(k))
            raise ValueError(
                f"search: {directory} holds a different search (it differs in "
                f"{', '.join(diff)}); choose another folder to start a new one"
            )
        return
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(
            f"search: {directory} is not empty and holds no search.json; choose another folder"
        )
    atomic_write_text(path, json.dumps(spec, indent=1) + "\n")


def _recorded(directory: Path) -> dict[int, Trial]:
    done = {}
    folder = directory / "trials"
    if folder.is_dir():
        for p in sorted(folder.glob("trial-*.json")):
            t = Trial.from_json(json.loads(p.read_text()))
            done[t.trial] = t
    return done


def _run_round(
    planned: list[Trial],
    done: dict[int, Trial],
    objective: Callable,
    directory: Path,
    base: dict,
    metric: str,
    pool: ProcessPoolExecutor | None,
    on_trial: Callable | None,
) -> list[Trial]:
    """Run the trials not yet recorded; every trial, finished."""
    results: dict[int, Trial] = {}
    todo = []
    for t in planned:
        old = done.get(t.trial)
        if old is not None:
            if not old.same_plan(t):
                raise ValueError(
                    f"search: the recorded trial {t.trial} of {directory} is not "
                    "the one this search plans; was the folder edited?"
                )
            results[t.trial] = old
            if on_trial:
                on_trial(old, True)
        else:
            todo.append(t)

    def submit(t: Trial) -> tuple[dict, str]:
        folder = directory / f"trial-{t.trial:04d}"
        if folder.exists():  # left by a search that was killed during this trial
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        config = {**base, **t.params, "seed": t.seed}
        if t.epochs is not None:
            config["epochs"] = t.epochs
        return config, str(folder)

    def record(t: Trial, outcome: dict) -> None:
        for k, v in outcome.items():
            setattr(t, k, v)
        atomic_write_text(
            directory / "trials" / f"trial-{t.trial:04d}.json",
            json.dumps(t.to_json(), indent=1) + "\n",
        )
        results[t.trial] = t
        if on_trial:
            on_trial(t, False)

    if pool is None:
        for t in todo:
            record(t, _run_trial(objective, *submit(t), metric))
    else:
        running: dict[Future, Trial] = {
            pool.submit(_run_trial, objective, *submit(t), metric): t for t in todo
        }
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in sorted(finished, key=lambda f: running[f].trial):
                record(running.pop(f), f.result())
    return [results[t.trial] for t in planned]


def _finish(
    trials: list[Trial], directory: Path, base: dict, mode: str, metric: str
) -> SearchResult:
    ranked = _ranked(trials, mode)
    ok = [t for t in ranked if t.status == "ok" and t.score is not None]
    if not ok:
        errors = [t.error for t in trials if t.error]
        raise RuntimeError(
            f"search: all {len(trials)} trials failed"
            + (f"; the first: {errors[0]}" if errors else "")
        )
    # the best of the trials that trained longest (with halving, those of a last rung)
    longest = max(t.epochs or 0 for t in ok)
    best = next(t for t in ok if (t.epochs or 0) == longest)
    best_config = {**base, **best.params}
    rows = [_row(t) for t in ranked]
    atomic_write_text(
        directory / "results.json",
        json.dumps(
            to_jsonable(
                {
                    "metric": metric,
                    "mode": mode,
                    "best": _row(best),
                    "best_config": best_config,
                    "trials": rows,
                }
            ),
            indent=1,
        )
        + "\n",
    )
    atomic_write_text(directory / "results.csv", _csv(rows))
    atomic_write_text(
        directory / "best_config.json", json.dumps(to_jsonable(best_config), indent=1) + "\n"
    )
    return SearchResult(ranked, best, best_config, directory)


def _csv(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()
