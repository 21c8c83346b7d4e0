"""`strided ensemble` and `strided train --config`, on small data sets the tests write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fake_data import write_fake_fashion
from strided.cli import main


def write_bars(
    root: Path, name: str = "fashion-mnist", n_train: int = 200, n_test: int = 60
) -> Path:
    """``test_cli``'s small learnable data set, in the folder of data set ``name``."""
    folder = write_fake_fashion(root / f".{name}", n_train, n_test) / "fashion-mnist"
    folder.rename(root / name)
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = write_bars(tmp_path_factory.mktemp("data"))
    write_bars(root, "mnist")
    out = tmp_path_factory.mktemp("runs")
    paths = []
    for seed, dataset in ((1, "fashion-mnist"), (2, "fashion-mnist"), (3, "mnist")):
        p = out / f"{dataset}-{seed}"
        assert (
            main(
                [
                    "train",
                    "--data-root",
                    str(root),
                    "--dataset",
                    dataset,
                    "--epochs",
                    "1",
                    "--batch-size",
                    "32",
                    "--seed",
                    str(seed),
                    "--out",
                    str(p),
                    "--quiet",
                    "--no-download",
                ]
            )
            == 0
        )
        paths.append(str(p))
    return root, paths


def test_ensemble_prints_members_and_each_method(runs, capsys):
    root, (a, b, _) = runs
    capsys.readouterr()
    assert main(["ensemble", a, b, "--method", "all", "--data-root", str(root)]) == 0
    text = capsys.readouterr().out
    assert "2 models on the fashion-mnist test set (60 images)" in text
    for needle in (
        a,
        b,
        "ensemble (average, 2 members)",
        "ensemble (vote, 2 members)",
        "ensemble (geometric, 2 members)",
        "accuracy against the best member",
    ):
        assert needle in text


def test_ensemble_json_agrees_with_evaluate(runs, capsys):
    root, (a, b, _) = runs
    capsys.readouterr()
    assert main(["ensemble", a, b, "--json", "--data-root", str(root), "--weights", "1", "3"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["test_images"] == 60 and r["weights"] == [1.0, 3.0]
    assert set(r) >= {"members", "average"} and "vote" not in r
    for member, run in zip(r["members"], (a, b), strict=True):
        assert main(["evaluate", run, "--json", "--data-root", str(root)]) == 0
        solo = json.loads(capsys.readouterr().out)
        assert member["accuracy"] == pytest.approx(solo["test_accuracy"])
        assert member["loss"] == pytest.approx(solo["test_loss"], rel=1e-5)
    assert 0.0 <= r["average"]["accuracy"] <= 1.0 and r["average"]["loss"] > 0


def test_ensemble_bad_input_is_one_line(runs, tmp_path, capsys):
    root, (a, b, other) = runs
    capsys.readouterr()
    assert main(["ensemble", a, str(tmp_path), "--data-root", str(root)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds neither model.safetensors" in err
    assert main(["ensemble", a, other, "--data-root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert "trained on mnist" in err and "must share a data set" in err
    assert main(["ensemble", a, b, "--weights", "1", "--data-root", str(root)]) == 1
    assert "2 members need 2 weights, got 1" in capsys.readouterr().err


def test_train_config_file_with_flags_on_top(runs, tmp_path, capsys):
    root, _ = runs
    config = tmp_path / "best_config.json"
    config.write_text(
        json.dumps(
            {
                "lr": 0.003,
                "weight_decay": 1e-4,
                "epochs": 1,
                "seed": 5,
                "limit_train": 64,
                "optimizer": "adamw",
            }
        )
    )
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                str(config),
                "--seed",
                "7",
                "--data-root",
                str(root),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    saved = json.loads((out / "config.json").read_text())
    assert saved["lr"] == 0.003 and saved["weight_decay"] == 1e-4 and saved["seed"] == 7
    assert saved["optimizer"] == "adamw" and saved["limit_train"] == 64
    # a run's own config.json is a valid --config (its derived keys are ignored)
    assert (
        main(
            [
                "train",
                "--config",
                str(out / "config.json"),
                "--data-root",
                str(root),
                "--out",
                str(tmp_path / "again"),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    config.write_text(json.dumps({"lr": 0.1, "learning_rate": 0.1}))
    assert main(["train", "--config", str(config), "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "unknown option 'learning_rate'" in err and str(config) in err
    config.write_text("[1, 2]")
    assert main(["train", "--config", str(config)]) == 2
    assert "must hold a JSON object" in capsys.readouterr().err
