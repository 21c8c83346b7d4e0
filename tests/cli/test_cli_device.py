"""`strided train --device`: cpu (the default), cuda, cuda:N, and one-line errors that say
what is missing (CuPy, a GPU) before any data is read."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import strided
from fake_data import write_fake_fashion
from strided.cli import main
from strided.train import recipe


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_fake_fashion(tmp_path_factory.mktemp("data"))


def train(data_root, out, *extra, quiet=True):
    return main(
        [
            "train",
            "--data-root",
            str(data_root),
            "--epochs",
            "1",
            "--limit-train",
            "48",
            "--limit-test",
            "32",
            "--batch-size",
            "16",
            "--val-split",
            "0",
            "--out",
            str(out),
            "--quiet" if quiet else "--no-progress",
            "--seed",
            "2",
            *extra,
        ]
    )


def test_without_cupy_cuda_names_the_extra_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(strided.device("cuda").backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` fails
    rc = main(["train", "--device", "cuda", "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1
    assert "--device cuda" in err and "pip install 'strided[cuda]'" in err
    assert not (tmp_path / "r").exists()  # nothing was started


@pytest.mark.skipif(strided.cuda.is_available(), reason="a GPU is present here")
def test_cuda_without_a_gpu_says_none_is_visible(tmp_path, capsys):
    pytest.importorskip("cupy")
    rc = main(["train", "--device", "cuda:1", "--out", str(tmp_path / "r"), "--quiet"])
    assert rc == 2
    assert "--device cuda:1: 0 cuda devices visible here" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "cpu:1"])
def test_a_bad_device_name_is_a_usage_error(tmp_path, capsys, name):
    rc = main(["train", "--device", name, "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and f"--device {name}: device:" in err


def test_training_device_resolves_names():
    assert recipe.training_device(None) == strided.device("cpu")
    assert recipe.training_device("cpu") == strided.device("cpu")
    assert recipe.training_device("sim") == strided.device("sim")
    with pytest.raises(recipe.ConfigError, match="1 sim device visible"):
        recipe.training_device("sim:1")


def test_train_on_the_cpu_by_name_equals_the_default(data_root, tmp_path):
    assert train(data_root, tmp_path / "a") == 0
    assert train(data_root, tmp_path / "b", "--device", "cpu") == 0
    a = json.loads((tmp_path / "a" / "results.json").read_text())
    b = json.loads((tmp_path / "b" / "results.json").read_text())
    assert a["device"] == b["device"] == "cpu"
    assert a["test_loss"] == b["test_loss"]
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert "device" not in config  # a run may resume on another device
    np.testing.assert_equal(a["confusion_matrix"], b["confusion_matrix"])


def test_train_on_a_device_equals_the_cpu(data_root, tmp_path, capsys):
    assert train(data_root, tmp_path / "cpu") == 0
    capsys.readouterr()
    assert train(data_root, tmp_path / "sim", "--device", "sim", quiet=False) == 0
    out = capsys.readouterr().out
    assert "; on sim:0; output in" in out
    a = json.loads((tmp_path / "cpu" / "results.json").read_text())
    b = json.loads((tmp_path / "sim" / "results.json").read_text())
    assert b["device"] == "sim:0"
    assert b["test_loss"] == pytest.approx(a["test_loss"], rel=1e-4)
    assert b["test_accuracy"] == a["test_accuracy"]
    # the saved model is device-free: it loads and evaluates on the CPU, on the same images
    args = ["evaluate", str(tmp_path / "sim"), "--data-root", str(data_root), "--limit", "32"]
    assert main([*args, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["test_accuracy"] == b["test_accuracy"]
    assert again["test_loss"] == pytest.approx(b["test_loss"], rel=1e-4)
