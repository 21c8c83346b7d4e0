"""Data-parallel training under `mpirun -n 2`, against one process with the global batch."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")

WORKER = Path(__file__).with_name("mpi_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def _mpirun() -> str:
    found = Path(sys.executable).with_name("mpirun")
    if found.exists():
        return str(found)
    path = shutil.which("mpirun")
    if path is None:
        pytest.skip("no mpirun (pip install 'strided[mpi]')")
    return path


def _env(**extra) -> dict:
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        NUMBA_NUM_THREADS="1",
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        STRIDED_DIST_TIMEOUT="60",
        PYTHONPATH=str(ROOT / "src"),
    )
    env.update(extra)
    return env


def _run(args: list, ranks: int | None, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    command = [sys.executable, str(WORKER)] + [str(a) for a in args]
    if ranks is not None:
        command = [_mpirun(), "--allow-run-as-root", "--oversubscribe", "-n", str(ranks)] + command
    return subprocess.run(command, env=_env(**env), capture_output=True, text=True, timeout=timeout)


def _result(out: Path) -> tuple[dict, list]:
    with np.load(str(out) + ".npz") as f:
        params = {k: f[k] for k in f.files}
    return params, json.loads(Path(str(out) + ".json").read_text())


@pytest.mark.parametrize("mode", ["plain", "bn"])
def test_two_ranks_take_the_steps_of_one_process_with_the_global_batch(mode, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    r1 = _run([mode, one, 2], None, STRIDED_TEST_SINGLE="1")
    assert r1.returncode == 0, r1.stderr
    r2 = _run([mode, two, 2], 2)
    assert r2.returncode == 0, r2.stderr
    (p1, h1), (p2, h2) = _result(one), _result(two)
    assert p1.keys() == p2.keys()
    for k in p1:  # running statistics included, for the SyncBatchNorm model
        np.testing.assert_allclose(p2[k], p1[k], rtol=2e-4, atol=2e-5, err_msg=k)
    for a, b in zip(h1, h2, strict=True):  # the epoch's loss and accuracy, combined over the ranks
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["train_accuracy"] == pytest.approx(b["train_accuracy"], abs=1e-9)


def test_mismatched_models_are_found_at_start(tmp_path):
    r = _run(["mismatch", tmp_path / "x"], 2, timeout=120)
    assert r.returncode != 0
    assert "ranks built different models" in r.stderr and "rank 1 has" in r.stderr


def test_a_killed_rank_ends_the_job_instead_of_hanging(tmp_path):
    start = time.monotonic()
    r = _run(["die", tmp_path / "x", 3], 2, timeout=240, STRIDED_DIST_TIMEOUT="20")
    assert r.returncode != 0
    assert time.monotonic() - start < 200
    text = (r.stdout + r.stderr).lower()
    assert "signal 9" in text or "killed" in text or "stopped answering" in text, text[-2000:]


def test_resume_after_the_whole_job_is_killed_matches_an_uninterrupted_run(tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    ckpt = tmp_path / "ckpt"
    r = _run(["plain", whole, 3], 2)
    assert r.returncode == 0, r.stderr
    killed = _run(["die-after-epoch", resumed, 3], 2, STRIDED_TEST_CHECKPOINT=str(ckpt))
    assert killed.returncode != 0 and (ckpt / "checkpoint.safetensors").is_file()
    again = _run(
        ["plain", resumed, 3, ckpt / "checkpoint.safetensors"], 2, STRIDED_TEST_CHECKPOINT=str(ckpt)
    )
    assert again.returncode == 0, again.stderr
    (p1, _), (p2, h2) = _result(whole), _result(resumed)
    for k in p1:
        np.testing.assert_array_equal(p2[k], p1[k], err_msg=k)
    assert [r["epoch"] for r in h2] == [1, 2, 3]


def _cli(args: list, ranks: int | None, timeout: float = 400) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "strided"] + [str(a) for a in args]
    if ranks is not None:
        command = [_mpirun(), "--allow-run-as-root", "--oversubscribe", "-n", str(ranks)] + command
    return subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=timeout)


def test_strided_train_distributed_matches_one_process_and_resumes(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fake_data import write_fake_fashion

    root = write_fake_fashion(tmp_path / "data", n_train=160, n_test=40)
    common = [
        "train",
        "--data-root",
        root / "fashion-mnist",
        "--no-download",
        "--batch-size",
        16,
        "--val-split",
        0.2,
        "--schedule",
        "none",
        "--no-progress",
        "--prefetch",
        0,
    ]
    one = _cli(common + ["--epochs", 2, "--out", tmp_path / "one"], None)
    assert one.returncode == 0, one.stderr
    two = _cli(common + ["--epochs", 1, "--out", tmp_path / "two", "--distributed"], 2)
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("test accuracy") == 1  # rank 0 speaks for the job
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["world_size"] == 2
    wrong = _cli(common + ["--epochs", 2, "--out", tmp_path / "two", "--resume"], None)
    assert wrong.returncode != 0 and "resume it on as many" in wrong.stderr
    again = _cli(
        common + ["--epochs", 2, "--out", tmp_path / "two", "--resume", "--distributed"], 2
    )
    assert again.returncode == 0, again.stderr
    from strided.io import read_model_file

    a, _ = read_model_file(tmp_path / "one" / "model.safetensors")
    b, _ = read_model_file(tmp_path / "two" / "model.safetensors")
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-3, atol=1e-4, err_msg=k)
