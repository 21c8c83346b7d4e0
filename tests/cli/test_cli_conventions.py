"""The command line's rough edges, each seen by a new user: every flag checked before the
run starts, unknown flags said by the subcommand, clean one-line errors for bad files,
predict's array layouts and pixel checks, the resume rules, Ctrl-C's resume command,
checkpoints inside an epoch, file permissions, wording, and `--data FOLDER`."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from fake_data import write_fake_fashion
from strided.cli import main
from strided.io import load

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_fake_fashion(tmp_path_factory.mktemp("data"), n_train=120, n_test=40)


@pytest.fixture(scope="module")
def run1(data_root, tmp_path_factory):
    """A finished one-epoch run."""
    out = tmp_path_factory.mktemp("runs") / "one"
    assert (
        main(
            [
                "train",
                "--data-root",
                str(data_root),
                "--epochs",
                "1",
                "--batch-size",
                "32",
                "--out",
                str(out),
                "--quiet",
                "--val-split",
                "0",
            ]
        )
        == 0
    )
    return out


def cli(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("STRIDED_DEBUG", None)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "strided", *map(str, args)],
        capture_output=True,
        text=True,
        env=e,
        cwd=cwd,
        timeout=300,
    )


def one_line_error(r, *needles):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--epochs", "0"], "--epochs must be a positive number of epochs, got 0"),
        (["--top-k", "0"], "--top-k must be a positive int, got 0"),
        (["--top-k", "11"], "--top-k 11 is more than the 10 classes"),
        (["--grad-clip", "-1"], "--grad-clip must be a positive, finite norm, got -1"),
        (["--seed", "-1"], "--seed must be a non-negative int, got -1"),
        (["--lr", "nan"], "--lr must be positive, got nan"),
        (["--momentum", "1.5"], "--momentum must be in [0, 1)"),
        (["--out", ""], "--out must name a folder"),
    ],
)
def test_bad_flags_are_refused_before_the_run_starts(flags, needle, data_root, tmp_path):
    out = [] if "--out" in flags else ["--out", tmp_path / "r"]
    r = cli("train", "--data-root", data_root, "--epochs", "1", *out, *flags, cwd=tmp_path)
    assert r.returncode == 2
    one_line_error(r, needle, "strided train: error:")
    assert not (tmp_path / "r").exists() and not (tmp_path / "runs").exists()


def test_unknown_flags_are_reported_by_the_subcommand(tmp_path):
    r = cli("train", "--frobnicate", "3", cwd=tmp_path)
    assert r.returncode == 2
    assert "strided train: error: unrecognized arguments: --frobnicate 3" in r.stderr
    assert "usage: strided train" in r.stderr


def test_data_root_without_the_files_says_where_they_were_found(data_root, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    os.environ["STRIDED_DATA"] = str(data_root)
    try:
        assert (
            main(
                [
                    "train",
                    "--data-root",
                    str(tmp_path / "empty"),
                    "--epochs",
                    "1",
                    "--limit-train",
                    "32",
                    "--out",
                    str(tmp_path / "r"),
                    "--val-split",
                    "0",
                    "--no-progress",
                ]
            )
            == 0
        )
    finally:
        del os.environ["STRIDED_DATA"]
    out = capsys.readouterr().out
    assert (
        f"--data-root {tmp_path / 'empty'} holds no fashion-mnist files; using the ones "
        f"found in {data_root / 'fashion-mnist'}"
    ) in out
    assert "1 epoch," in out and "after 1 epoch;" in out  # not "1 epochs"


def test_missing_data_speaks_in_the_cli_flags(tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli(
        "train",
        "--dataset",
        "kmnist",
        "--data-root",
        tmp_path / "empty",
        "--no-download",
        "--out",
        tmp_path / "r",
        env={"STRIDED_DATA": str(tmp_path / "empty"), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    line = one_line_error(r, "KMNIST")
    assert "--download" in line and "--data-root FOLDER" in line
    assert "download=True" not in line and "root=..." not in line


def test_predict_takes_hwc_arrays_and_refuses_bad_pixels(run1, tmp_path, capsys):
    img = np.zeros((28, 28), np.uint8)
    img[4:7, 4:24] = 230
    np.save(tmp_path / "hw.npy", img)
    np.save(tmp_path / "hwc.npy", img[:, :, None])
    np.save(tmp_path / "nhwc.npy", np.stack([img, img])[..., None])
    assert (
        main(["predict", str(run1), str(tmp_path / "hw.npy"), str(tmp_path / "hwc.npy"), "--json"])
        == 0
    )
    first, second = json.loads(capsys.readouterr().out)
    assert first["top"] == second["top"]  # the same image, two layouts
    assert main(["predict", str(run1), str(tmp_path / "nhwc.npy")]) == 0
    capsys.readouterr()
    bad = {
        "nan.npy": np.full((28, 28), np.nan, np.float32),
        "big.npy": np.full((28, 28), 3.0, np.float32),
        "neg.npy": np.full((28, 28), -5, np.int16),
        "odd.npy": np.zeros((5, 28, 27), np.uint8),
    }
    needles = {
        "nan.npy": "NaN or infinite pixels",
        "big.npy": "must lie in [0, 1]",
        "neg.npy": "must lie in [0, 255]",
        "odd.npy": "do not fit the model's input",
    }
    for name, a in bad.items():
        np.save(tmp_path / name, a)
        one_line_error(cli("predict", run1, tmp_path / name), name, needles[name])
    r = cli("predict", run1, tmp_path / "hw.npy", "--top", "11")
    one_line_error(r, "--top 11 is more than the model's 10 classes")


def _png_claiming(path: Path, width: int, height: int) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )
    return path


def test_bad_files_are_one_line_errors(run1, tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "junk.npy").write_bytes(b"\x00garbage" * 10)
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100), }"
    header += " " * (118 - len(header)) + "\n"
    (tmp_path / "huge.npy").write_bytes(
        b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + header.encode()
    )
    _png_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    for name, needle in (
        ("empty.npy", "is empty"),
        ("junk.npy", "not a .npy array"),
        ("huge.npy", "truncated"),
        ("bomb.png", "decompression bomb"),
    ):
        one_line_error(cli("predict", run1, tmp_path / name), name, needle)


def test_files_follow_the_umask(run1):
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("config.json", "checkpoint.safetensors", "model.safetensors", "history.json"):
        assert (run1 / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


def test_resuming_a_finished_run_says_so(run1, data_root):
    r = cli("train", "--resume", run1, "--data-root", data_root)
    assert r.returncode == 2
    one_line_error(r, "has already finished", "nothing to resume")


def test_resume_without_out_continues_the_latest_unfinished_run(data_root, tmp_path):
    args = [
        "--data-root",
        data_root,
        "--batch-size",
        "32",
        "--limit-train",
        "96",
        "--val-split",
        "0",
        "--schedule",
        "none",
        "--quiet",
    ]
    # two runs in runs/: an old finished one and an interrupted one (killed mid-run)
    assert cli("train", "--epochs", "1", "--out", "runs/done", *args, cwd=tmp_path).returncode == 0
    killer = KILLER.replace("KILL_AT", "4")
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            killer,
            "train",
            "--epochs",
            "3",
            "--out",
            "runs/cut",
            *map(str, args),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr
    r = cli("train", "--resume", *args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "runs" / "cut" / "model.safetensors").exists()
    r = cli("train", "--resume", *args, cwd=tmp_path)
    one_line_error(r, "no unfinished run in runs/")


def test_ctrl_c_prints_the_resume_command(data_root, tmp_path, capsys):
    from strided.train import LambdaCallback

    def interrupt(trainer, logs):
        if trainer.global_step == 3:
            raise KeyboardInterrupt

    out = tmp_path / "r"
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
            "--checkpoint-every",
            "2",
        ],
        extra_callbacks=[LambdaCallback(on_batch_end=interrupt)],
    )
    assert rc == 130
    err = capsys.readouterr().err
    assert (
        f"interrupted; continue with: strided train --resume {out} --data-root {data_root}" in err
    )
    assert main(["train", "--resume", str(out), "--data-root", str(data_root), "--quiet"]) == 0


KILLER = """
import os, signal, sys
from strided.cli import main
from strided.train import LambdaCallback

def maybe_kill(trainer, logs):
    if trainer.global_step == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)

sys.exit(main(sys.argv[1:], extra_callbacks=[LambdaCallback(on_batch_end=maybe_kill)]))
"""


def test_checkpoint_every_n_steps_resumes_bit_identical_after_sigkill(data_root, tmp_path):
    args = [
        "--data-root",
        data_root,
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--augment",
        "crop+flip",
        "--seed",
        "4",
        "--quiet",
        "--checkpoint-every",
        "3",
    ]
    r = cli("train", "--out", tmp_path / "straight", *args)
    assert r.returncode == 0, r.stderr
    # 108 training images, 7 batches an epoch: killed at step 11, the last step
    # checkpoint is step 9, two batches into the second epoch
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER.replace("KILL_AT", "11"),
            "train",
            "--out",
            str(tmp_path / "cut"),
            *map(str, args),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr
    from strided.train import load_checkpoint

    state = load_checkpoint(tmp_path / "cut" / "checkpoint.safetensors")
    assert (state["epoch"], state["global_step"], state["batch_in_epoch"]) == (1, 9, 2)
    r = cli("train", "--resume", tmp_path / "cut", "--data-root", data_root, "--quiet")
    assert r.returncode == 0, r.stderr
    a, _ = load(tmp_path / "straight" / "model.safetensors")
    b, _ = load(tmp_path / "cut" / "model.safetensors")
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_missing_matplotlib_is_said_once(data_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    assert (
        main(
            [
                "train",
                "--data-root",
                str(data_root),
                "--epochs",
                "2",
                "--limit-train",
                "32",
                "--out",
                str(tmp_path / "r"),
                "--no-progress",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert err.count("curves.png skipped: drawing it needs matplotlib") == 1
    assert not (tmp_path / "r" / "curves.png").exists()


def _image_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for c, name in enumerate(["circle", "cross", "stripe"]):
        for i in range(12):
            a = rng.integers(0, 40, (28, 28, 3)).astype(np.uint8)
            a[3 + 8 * c : 7 + 8 * c, 2:26] = 220
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(a).save(folder / f"{i}.{'png' if i % 3 else 'jpg'}")
    return root


def test_train_on_your_own_images(tmp_path, capsys):
    from strided.data import ImageFolder

    folder = _image_folder(tmp_path / "shapes")
    out = tmp_path / "r"
    assert (
        main(
            [
                "train",
                "--data",
                str(folder),
                "--epochs",
                "3",
                "--batch-size",
                "8",
                "--out",
                str(out),
                "--val-split",
                "0",
                "--no-progress",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert f"data: 3 classes from {folder}" in text and "30 training and 6 test images" in text
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["classes"] == ["circle", "cross", "stripe"] and cfg["in_channels"] == 3
    train, _ = ImageFolder(folder).split(0.2, seed=1)
    mean, std = ImageFolder.channel_stats(train.arrays[0])
    assert cfg["mean"] == pytest.approx(mean) and cfg["std"] == pytest.approx(std)
    results = json.loads((out / "results.json").read_text())
    assert results["test_images"] == 6  # 2 of each class's 12 held out
    assert main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test_images"] == results["test_images"]
    assert main(["predict", str(out), str(folder / "cross" / "1.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["top"][0]["class"] in cfg["classes"]
    r = cli("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "x")
    one_line_error(r, "--data:", "is not a folder")
