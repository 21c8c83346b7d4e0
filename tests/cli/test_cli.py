"""The command line: each command on a small data set the test writes, --help, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fake_data import write_fake_fashion  # other CLI tests import it from here
from strided.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_fake_fashion(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def trained_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lenet"
    rc = main(
        [
            "train",
            "--data-root",
            str(data_root),
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--out",
            str(out),
            "--quiet",
            "--seed",
            "3",
        ]
    )
    assert rc == 0
    return out


def run_cli(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("STRIDED_DEBUG", None)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "strided", *args],
        capture_output=True,
        text=True,
        env=e,
        cwd=cwd,
        timeout=120,
    )


def test_train_writes_checkpoint_curves_model_and_results(trained_run):
    names = {p.name for p in trained_run.iterdir()}
    assert {
        "config.json",
        "checkpoint.safetensors",
        "history.csv",
        "history.json",
        "model.safetensors",
        "results.json",
    } <= names
    results = json.loads((trained_run / "results.json").read_text())
    assert results["epochs"] == 2 and results["test_images"] == 80
    assert results["test_accuracy"] > 0.5  # chance is 0.1
    assert set(results["per_class_accuracy"]) == {
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    }
    config = json.loads((trained_run / "config.json").read_text())
    assert config["model"] == "lenet5" and config["dataset"] == "fashion-mnist"
    assert config["optimizer"] == "adam" and config["seed"] == 3
    history = json.loads((trained_run / "history.json").read_text())["records"]
    assert [r["epoch"] for r in history] == [1, 2]
    assert "val_accuracy" in history[0]  # 10% held out by default


def test_train_output_shows_progress_and_epochs(data_root, tmp_path, capsys):
    rc = main(
        [
            "train",
            "--data-root",
            str(data_root),
            "--epochs",
            "1",
            "--limit-train",
            "64",
            "--out",
            str(tmp_path / "r"),
            "--augment",
            "crop+flip",
            "--schedule",
            "cosine",
            "--optimizer",
            "sgd",
            "--val-split",
            "0",
        ]
    )
    assert rc == 0
    out, err = capsys.readouterr()
    assert "training lenet5 (61,706 parameters) on fashion-mnist: 64 training" in out
    assert "test accuracy" in out
    assert "epoch 1/1" in err and "img/s" in err  # the bar and the epoch line (stderr)


def test_evaluate_prints_accuracy_per_class_and_confusion(trained_run, data_root, capsys):
    assert main(["evaluate", str(trained_run), "--data-root", str(data_root)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "per-class accuracy" in out and "confusion matrix" in out
    assert "Ankle boot" in out
    assert (
        main(
            [
                "evaluate",
                str(trained_run / "checkpoint.safetensors"),
                "--data-root",
                str(data_root),
                "--json",
                "--limit",
                "40",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["test_images"] == 40
    assert np.array(r["confusion_matrix"]).sum() == 40
    results = json.loads((trained_run / "results.json").read_text())
    # the final weights give the accuracy the training run reported
    assert (
        main(
            [
                "evaluate",
                str(trained_run / "model.safetensors"),
                "--data-root",
                str(data_root),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["test_accuracy"] == results["test_accuracy"]


def test_summary_table_and_list(capsys):
    assert main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "61,706" in out and "mult-adds" in out and "CONV5-6" in out
    assert main(["summary", "--list"]) == 0
    assert "resnet20" in capsys.readouterr().out
    assert main(["summary", "lenet5", "--input-shape", "3", "28", "28", "--num-classes", "4"]) == 0
    assert "[1x1x4]" in capsys.readouterr().out


def test_predict_npy_single_and_batch(trained_run, data_root, tmp_path, capsys):
    from strided.data import FashionMNIST

    test = FashionMNIST(root=data_root, train=False)
    np.save(tmp_path / "one.npy", test.images[0, 0])
    np.save(tmp_path / "three.npy", test.images[:3])
    assert (
        main(
            [
                "predict",
                str(trained_run),
                str(tmp_path / "one.npy"),
                str(tmp_path / "three.npy"),
                "--top",
                "2",
                "--json",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert [x["image"] for x in r] == [str(tmp_path / "one.npy")] + [
        f"{tmp_path / 'three.npy'}[{i}]" for i in range(3)
    ]
    for item in r:
        probs = [t["probability"] for t in item["top"]]
        assert len(probs) == 2 and probs[0] >= probs[1] and 0 < sum(probs) <= 1 + 1e-6
    # the same image, alone or in a batch (BLAS may round differently by batch size)
    assert [t["class"] for t in r[0]["top"]] == [t["class"] for t in r[1]["top"]]
    assert [t["probability"] for t in r[0]["top"]] == pytest.approx(
        [t["probability"] for t in r[1]["top"]], rel=1e-5
    )
    assert main(["predict", str(trained_run), str(tmp_path / "one.npy")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'one.npy'}: ")


def test_predict_png(trained_run, tmp_path, capsys):
    try:
        from PIL import Image
    except ImportError:
        Path(tmp_path / "x.png").write_bytes(b"\x89PNG\r\n")
        assert main(["predict", str(trained_run), str(tmp_path / "x.png")]) == 1
        assert "Pillow" in capsys.readouterr().err
        return
    Image.fromarray(np.full((40, 40), 128, np.uint8)).save(tmp_path / "x.png")
    assert main(["predict", str(trained_run), str(tmp_path / "x.png")]) == 0
    assert "x.png:" in capsys.readouterr().out


def test_resume_refuses_changed_options_and_taken_folders(trained_run, data_root, capsys):
    rc = main(["train", "--data-root", str(data_root), "--out", str(trained_run), "--quiet"])
    assert rc == 2 and "--resume" in capsys.readouterr().err
    rc = main(
        [
            "train",
            "--resume",
            str(trained_run),
            "--lr",
            "0.5",
            "--quiet",
            "--data-root",
            str(data_root),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "--lr 0.5" in err and "checkpoint" in err
    # the cosine schedule (the default) was laid out for 2 epochs
    rc = main(
        [
            "train",
            "--resume",
            str(trained_run),
            "--epochs",
            "3",
            "--quiet",
            "--data-root",
            str(data_root),
        ]
    )
    assert rc == 2 and "--epochs 2" in capsys.readouterr().err


def test_finished_run_with_a_constant_lr_continues_with_more_epochs(data_root, tmp_path):
    out = tmp_path / "r"
    args = ["--data-root", str(data_root), "--quiet", "--limit-train", "64", "--val-split", "0"]
    assert main(["train", "--epochs", "1", "--schedule", "none", "--out", str(out), *args]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "2", *args]) == 0
    history = json.loads((out / "history.json").read_text())["records"]
    assert [r["epoch"] for r in history] == [1, 2]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--model", "lenet6", "--out", "{tmp}/x"], "unknown model 'lenet6'"),
        (["train", "--dataset", "imagenet", "--out", "{tmp}/x"], "unknown data set 'imagenet'"),
        (
            [
                "train",
                "--data-root",
                "{tmp}/empty",
                "--dataset",
                "kmnist",
                "--no-download",
                "--out",
                "{tmp}/x",
            ],
            "KMNIST",
        ),
        (["evaluate", "{tmp}/missing.safetensors"], "no such checkpoint"),
        (["evaluate", "{tmp}/broken.safetensors"], "broken.safetensors is truncated"),
        (["predict", "{tmp}/broken.safetensors", "x.npy"], "broken.safetensors"),
        (["summary", "resnet7"], "did you mean"),
        (["train", "--resume", "{tmp}/nowhere"], "no checkpoint at"),
    ],
)
def test_errors_are_one_line_without_traceback(args, message, tmp_path):
    (tmp_path / "broken.safetensors").write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00{"a":')
    r = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], cwd=tmp_path)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert message in lines[0] and lines[0].startswith("strided ")


def test_debug_env_shows_the_traceback(tmp_path):
    r = run_cli("evaluate", str(tmp_path / "missing.safetensors"), env={"STRIDED_DEBUG": "1"})
    assert r.returncode != 0 and "Traceback" in r.stderr


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["summary"], ["predict"]])
def test_help_everywhere(command):
    r = run_cli(*command, "--help")
    assert r.returncode == 0 and "usage: strided" in r.stdout


def test_argparse_errors_exit_2():
    r = run_cli("train", "--batch-size", "0")
    assert r.returncode == 2 and "positive integer" in r.stderr
    r = run_cli("frobnicate")
    assert r.returncode == 2


def test_console_script_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'strided = "strided.cli:main"' in text
