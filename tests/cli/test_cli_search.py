"""`strided search`: a real search of short trainings on a tiny data set, killed with
SIGKILL and restarted; its best configuration trained with `strided train --config`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from test_cli_ensemble import write_bars

from strided.cli import main

SPACE = json.dumps(
    {"lr": {"log-uniform": [1e-4, 3e-2]}, "weight_decay": {"log-uniform": [1e-6, 1e-3]}}
)


def argv(root, out, *extra):
    return [
        "search",
        "--space",
        SPACE,
        "--trials",
        "2",
        "--rounds",
        "2",
        "--keep",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--limit-train",
        "120",
        "--seed",
        "4",
        "--data-root",
        str(root),
        "--no-download",
        "--out",
        str(out),
        *extra,
    ]


def table(out):
    rows = json.loads((out / "results.json").read_text())["trials"]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_bars(tmp_path_factory.mktemp("data"), n_train=160, n_test=40)


@pytest.fixture(scope="module")
def whole(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "whole"
    assert main(argv(root, out, "--quiet")) == 0
    return out


def test_search_prints_trials_and_writes_tables(whole, root, tmp_path, capsys):
    rows = table(whole)
    assert len(rows) == 4 and {r["round"] for r in rows} == {0, 1}
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all("test_accuracy" in r and "val_loss" in r for r in rows)
    best = json.loads((whole / "best_config.json").read_text())
    assert set(best) == {"lr", "weight_decay", "batch_size"}  # limit_train left out
    assert best["lr"] == rows[0]["lr"]
    # every trial is a run folder that `strided evaluate` reads
    capsys.readouterr()
    assert main(["evaluate", str(whole / "trial-0000"), "--json", "--data-root", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["test_images"] == 40
    # the best configuration trains with `strided train --config`
    assert (
        main(
            [
                "train",
                "--config",
                str(whole / "best_config.json"),
                "--epochs",
                "1",
                "--limit-train",
                "64",
                "--data-root",
                str(root),
                "--out",
                str(tmp_path / "best"),
                "--quiet",
            ]
        )
        == 0
    )
    cfg = json.loads((tmp_path / "best" / "config.json").read_text())
    assert cfg["lr"] == best["lr"] and cfg["weight_decay"] == best["weight_decay"]


def test_search_killed_with_sigkill_resumes_to_the_same_table(whole, root, tmp_path):
    out = tmp_path / "killed"
    env = {k: v for k, v in os.environ.items() if k != "STRIDED_DEBUG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "strided", *argv(root, out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        finished = 0
        for line in proc.stdout:  # one line per finished trial
            if line.startswith("trial "):
                finished += 1
                if finished == 1:
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    recorded = len(list((out / "trials").glob("trial-*.json")))
    assert 1 <= recorded < 4 and not (out / "results.json").exists()
    again = subprocess.run(
        [sys.executable, "-m", "strided", *argv(root, out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("recorded earlier") == recorded
    assert table(out) == table(whole)


def test_search_bad_input_is_one_line(root, tmp_path, capsys):
    for space, message in (
        ('{"lr": {"normal": [0, 1]}}', "'lr': unknown distribution 'normal'"),
        ('{"lr": {"uniform": [1, 0]}}', "'lr': empty range [1, 0]"),
        (
            '{"learning_rate": {"uniform": [0, 1]}}',
            "'learning_rate' is not an option of strided train",
        ),
    ):
        rc = main(
            ["search", "--space", space, "--data-root", str(root), "--out", str(tmp_path / "s")]
        )
        err = capsys.readouterr().err.strip()
        assert rc == 1 and err.count("\n") == 0 and message in err, err
