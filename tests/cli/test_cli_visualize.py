"""`strided visualize RUN` and `strided train --grad-stats` on a tiny fake data set."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from fake_data import write_fake_fashion  # noqa: E402
from strided.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A LeNet-5 trained for one epoch with --grad-stats on a small fake Fashion-MNIST."""
    root = write_fake_fashion(tmp_path_factory.mktemp("data"), n_train=160, n_test=40)
    out = tmp_path_factory.mktemp("runs") / "lenet"
    rc = main(
        [
            "train",
            "--data-root",
            str(root),
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--out",
            str(out),
            "--quiet",
            "--grad-stats",
            "2",
        ]
    )
    assert rc == 0
    return out, root


def test_train_grad_stats_writes_the_table_and_the_plot(run):
    out, _ = run
    with open(out / "grad_stats.csv") as f:
        rows = list(csv.DictReader(f))
    # 144 training images (10% held out) in batches of 32: 5 steps, every 2nd recorded
    assert sorted({int(r["step"]) for r in rows}) == [2, 4]
    layers = {r["layer"] for r in rows if r["grad_norm"]}
    assert {"features.0", "features.3", "classifier.4"} <= layers
    assert all(float(r["grad_norm"]) > 0 for r in rows if r["grad_norm"])
    assert (out / "grad_stats.json").is_file()
    assert (out / "grad-flow.png").read_bytes()[:4] == b"\x89PNG"


def test_visualize_writes_and_names_every_picture(run, capsys):
    out, root = run
    rc = main(
        [
            "visualize",
            str(out),
            "--data-root",
            str(root),
            "--images",
            "0",
            "5",
            "--pool",
            "40",
            "--top",
            "4",
            "--channel",
            "2",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    names = sorted(p.name for p in (out / "viz").iterdir())
    assert names == sorted(
        [
            "filters-features-0.png",
            "filters-features-3.png",
            "feature-maps-features-0-test0.png",
            "feature-maps-features-0-test5.png",
            "feature-maps-features-3-test0.png",
            "feature-maps-features-3-test5.png",
            "top4-features-3-channel2.png",
            "saliency.png",
            "confusion.png",
            "grad-flow.png",
        ]
    )
    assert f"wrote 10 pictures to {out / 'viz'}" in printed
    for name in names:
        assert str(out / "viz" / name) in printed
        assert (out / "viz" / name).read_bytes()[:4] == b"\x89PNG"


def test_visualize_chosen_layer_as_svg_into_another_folder(run, tmp_path, capsys):
    out, root = run
    image = tmp_path / "one.npy"
    np.save(image, np.zeros((28, 28), np.uint8)[None])
    rc = main(
        [
            "visualize",
            str(out),
            "--data-root",
            str(root),
            "--layer",
            "classifier.0",
            "--images",
            str(image),
            "--format",
            "svg",
            "--out",
            str(tmp_path / "v"),
        ]
    )
    assert rc == 0
    names = sorted(p.name for p in (tmp_path / "v").iterdir())
    assert "feature-maps-classifier-0-one.svg" in names and "saliency.svg" in names
    assert not any(n.startswith("filters") for n in names)  # a linear layer has no filters


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--layer", "conv9"], "has no layer 'conv9'; its layers are: features, features.0"),
        (["--images", "999"], "test image 999 does not exist: the test set has 40 images"),
    ],
)
def test_visualize_bad_input_is_one_clear_line(run, extra, message, capsys):
    out, root = run
    assert main(["visualize", str(out), "--data-root", str(root), *extra]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_visualize_wrong_image_shape_says_the_expected_shape(run, tmp_path, capsys):
    out, root = run
    bad = tmp_path / "rgb.npy"
    np.save(bad, np.zeros((3, 32, 32), np.uint8))
    assert main(["visualize", str(out), "--data-root", str(root), "--images", str(bad)]) == 1
    assert "expected one image of shape (1, 28, 28)" in capsys.readouterr().err


def test_visualize_folder_without_weights_says_what_is_missing(tmp_path, capsys):
    assert main(["visualize", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "neither model.safetensors nor checkpoint.safetensors" in err


def test_visualize_a_run_without_results_measures_the_confusion_matrix(run, tmp_path):
    import shutil

    out, root = run
    copy = tmp_path / "run"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("results.json", "viz"))
    assert (
        main(
            [
                "visualize",
                str(copy),
                "--data-root",
                str(root),
                "--layer",
                "features.0",
                "--pool",
                "40",
            ]
        )
        == 0
    )
    assert (copy / "viz" / "confusion.png").is_file()
