"""strided.search.search: random, grid, coarse-to-fine, successive halving, failures,
resuming and worker processes, on a synthetic objective (no training: milliseconds)."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pytest

from strided.search import available_cores, search

SPACE = {"lr": {"log-uniform": [1e-5, 1e-1]}, "wd": {"log-uniform": [1e-6, 1e-2]}}


def bowl(config: dict, folder: Path) -> dict:
    """A score that peaks at lr = 1e-3, wd = 1e-4, and grows with the epochs."""
    assert folder.is_dir() and not any(folder.iterdir())
    (folder / "seen.json").write_text(json.dumps(config))
    d = (math.log10(config["lr"]) + 3) ** 2 + 0.1 * (math.log10(config["wd"]) + 4) ** 2
    e = config.get("epochs") or 1
    return {
        "val_accuracy": 1 / (1 + d) * e / (e + 1),
        "val_loss": d,
        "threads": os.environ.get("OMP_NUM_THREADS"),
    }


def no_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_random_search_writes_sorted_tables_and_the_best_config(tmp_path):
    r = search(
        SPACE,
        bowl,
        tmp_path / "s",
        trials=8,
        seed=3,
        epochs=2,
        base={"model": "lenet5", "limit_train": 100},
        keep_out=("limit_train",),
    )
    scores = [t.score for t in r.trials]
    assert len(scores) == 8 and scores == sorted(scores, reverse=True)
    assert r.best is r.trials[0]
    assert r.best_config == {"model": "lenet5", **r.best.params}
    assert sorted(t.seed for t in r.trials) == list(range(3, 11))  # seed + trial index
    for t in r.trials:
        seen = json.loads((tmp_path / "s" / f"trial-{t.trial:04d}" / "seen.json").read_text())
        assert seen == {
            "model": "lenet5",
            "limit_train": 100,
            **t.params,
            "seed": t.seed,
            "epochs": 2,
        }
    saved = json.loads((tmp_path / "s" / "results.json").read_text())
    assert [row["score"] for row in saved["trials"]] == scores
    assert json.loads((tmp_path / "s" / "best_config.json").read_text()) == r.best_config
    with open(tmp_path / "s" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["trial"]) for row in rows] == [t.trial for t in r.trials]
    assert float(rows[0]["lr"]) == pytest.approx(r.best.params["lr"])
    assert len(list((tmp_path / "s" / "trials").glob("trial-*.json"))) == 8


def test_min_mode_and_another_metric(tmp_path):
    r = search(SPACE, bowl, tmp_path, trials=6, metric="val_loss", mode="min")
    assert [t.score for t in r.trials] == sorted(t.score for t in r.trials)


def test_coarse_to_fine_draws_inside_the_narrowed_ranges(tmp_path):
    r = search(SPACE, bowl, tmp_path, trials=12, rounds=3, keep=3, seed=0)
    by_round = [[t for t in r.trials if t.round == k] for k in range(3)]
    assert [len(b) for b in by_round] == [12, 12, 12]
    for k in (1, 2):
        earlier = sorted((t for t in r.trials if t.round < k), key=lambda t: -t.score)[:3]
        for name, (lo, hi) in (("lr", (1e-5, 1e-1)), ("wd", (1e-6, 1e-2))):
            logs = [math.log(t.params[name]) for t in earlier]
            # the margin is a quarter of the previous range, at most of the first one
            margin = 0.25 * (math.log(hi) - math.log(lo)) + 1e-9
            for t in by_round[k]:
                assert min(logs) - margin <= math.log(t.params[name]) <= max(logs) + margin
    # the finer rounds find better configurations than the coarse one did
    assert max(t.score for t in by_round[2]) >= max(t.score for t in by_round[0])


def test_grid_search_tries_every_combination(tmp_path):
    r = search(
        {"lr": {"log-uniform": [1e-4, 1e-2]}, "wd": {"choice": [1e-5, 1e-4]}},
        bowl,
        tmp_path,
        strategy="grid",
        grid_points=3,
    )
    got = sorted((t.params["lr"], t.params["wd"]) for t in r.trials)
    want = sorted((lr, wd) for lr in (1e-4, 1e-3, 1e-2) for wd in (1e-5, 1e-4))
    assert len(got) == 6 and all(t.status == "ok" for t in r.trials)
    assert [x for pair in got for x in pair] == pytest.approx([x for pair in want for x in pair])


def test_successive_halving_promotes_the_best_third(tmp_path):
    r = search(SPACE, bowl, tmp_path, trials=9, halving=3, min_epochs=1, epochs=9, seed=1)
    rungs = {k: [t for t in r.trials if t.rung == k] for k in range(3)}
    assert [len(rungs[k]) for k in range(3)] == [9, 3, 1]
    assert [{t.epochs for t in rungs[k]} for k in range(3)] == [{1}, {3}, {9}]
    top3 = sorted(rungs[0], key=lambda t: -t.score)[:3]
    assert {json.dumps(t.params) for t in rungs[1]} == {json.dumps(t.params) for t in top3}
    # a promoted configuration keeps its seed
    assert {t.seed for t in rungs[1]} == {t.seed for t in top3}
    assert r.best.rung == 2 and r.best.epochs == 9


def flaky(config: dict, folder: Path) -> dict:
    if config["lr"] > 1e-2:
        raise FloatingPointError("Trainer: the loss became nan at epoch 1")
    return bowl(config, folder)


def test_failed_trials_are_recorded_and_ranked_last(tmp_path):
    r = search(SPACE, flaky, tmp_path, trials=10, seed=0)
    failed = [t for t in r.trials if t.status == "failed"]
    assert failed and all(t.params["lr"] > 1e-2 for t in failed)
    assert r.trials[-len(failed) :] == failed
    assert "FloatingPointError: Trainer: the loss became nan" in failed[0].error
    assert r.best.status == "ok"
    with pytest.raises(RuntimeError, match="all 3 trials failed; the first: FloatingPoint"):
        search({"lr": {"uniform": [0.02, 0.1]}}, flaky, tmp_path / "x", trials=3)


class Crash(Exception):
    pass


def test_a_restarted_search_skips_recorded_trials_and_ends_the_same(tmp_path):
    whole = search(SPACE, bowl, tmp_path / "a", trials=5, rounds=2, seed=7)
    calls = []

    def crashing(config, folder):
        calls.append(config["seed"])
        if len(calls) == 7:
            (folder / "partial").write_text("half-written")
            raise Crash
        return bowl(config, folder)

    with pytest.raises(Crash):
        search(SPACE, crashing, tmp_path / "b", trials=5, rounds=2, seed=7)
    assert len(list((tmp_path / "b" / "trials").glob("*.json"))) == 6
    calls.clear()
    skipped = []
    again = search(
        SPACE,
        crashing,
        tmp_path / "b",
        trials=5,
        rounds=2,
        seed=7,
        on_trial=lambda t, was: skipped.append(was),
    )
    assert len(calls) == 4 and skipped == [True] * 6 + [False] * 4
    assert no_seconds(again.table()) == no_seconds(whole.table())
    assert again.best_config == whole.best_config


def test_a_folder_holds_one_search(tmp_path):
    search(SPACE, bowl, tmp_path / "s", trials=2)
    with pytest.raises(ValueError, match="holds a different search \\(it differs in trials\\)"):
        search(SPACE, bowl, tmp_path / "s", trials=3)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("")
    with pytest.raises(ValueError, match="not empty and holds no search.json"):
        search(SPACE, bowl, tmp_path / "other", trials=2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strategy": "bayes"}, "unknown strategy 'bayes'"),
        ({"trials": 0}, "trials must be an integer >= 1"),
        ({"halving": 1, "epochs": 4}, "halving \\(η\\) must be an integer >= 2"),
        ({"halving": 3}, "successive halving needs the full epochs"),
        ({"mode": "best"}, "mode must be 'max' or 'min'"),
        ({"workers": 10_000}, "10000 workers would oversubscribe the"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        search(SPACE, bowl, tmp_path, **kwargs)


def test_missing_metric_stops_the_search(tmp_path):
    with pytest.raises(KeyError, match="no 'val_acc'.*val_accuracy"):
        search(SPACE, bowl, tmp_path, trials=2, metric="val_acc")


@pytest.mark.skipif(available_cores() < 2, reason="needs two cores")
def test_workers_share_the_cores_and_give_the_same_table(tmp_path):
    one = search(SPACE, bowl, tmp_path / "one", trials=6, rounds=2, seed=2)
    two = search(SPACE, bowl, tmp_path / "two", trials=6, rounds=2, seed=2, workers=2)
    strip = [{k: v for k, v in r.items() if k not in ("seconds", "threads")} for r in one.table()]
    assert [
        {k: v for k, v in r.items() if k not in ("seconds", "threads")} for r in two.table()
    ] == strip
    threads = {t.metrics["threads"] for t in two.trials}
    assert threads == {str(available_cores() // 2)}
    assert os.environ.get("OMP_NUM_THREADS") == one.trials[0].metrics["threads"]
