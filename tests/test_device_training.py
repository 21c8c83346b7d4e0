"""The GPU benchmark (benchmarks/gpu.py) and the GPU check script (.ci/gpu) run here, with
the CPU standing in for the GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_benchmark_runs_on_the_cpu(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    out = tmp_path / "bench.json"
    rows = gpu.main(
        ["--device", "cpu", "--steps", "1", "--rounds", "1", "--warmup", "0", "--batches", "4"]
        + ["--json", str(out)]
    )
    assert [(r["model"], r["batch"]) for r in rows] == [("lenet5", 4), ("resnet20", 4)]
    assert json.loads(out.read_text())["rows"] == json.loads(json.dumps(rows))
    for r in rows:
        assert r["strided_img_s"] > 0
        if "torch" in r["first_loss"]:  # the same weights and architecture: the same loss
            assert r["first_loss"]["strided"] == pytest.approx(r["first_loss"]["torch"], rel=1e-5)
            assert r["ratio"] == pytest.approx(r["strided_img_s"] / r["torch_img_s"])


def test_the_gpu_check_script_runs_with_the_cpu_standing_in(tmp_path):
    from fake_data import write_fake_fashion

    data = write_fake_fashion(tmp_path / "data")
    env = dict(os.environ)
    env.update(
        OUT=str(tmp_path / "out"),
        GPU_CHECK_DEVICE="cpu",
        FASHION_MNIST=str(data),
        GPU_CHECK_MODULES="tests/optim/test_optim_parity.py",  # a quick subset here
    )
    done = subprocess.run(
        [str(ROOT / ".ci" / "gpu"), sys.executable],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASS: " in summary and "passed" in summary
    assert "PASS: the same accuracy on cpu and cpu" in summary
    assert "== all GPU checks passed" in summary
    compare = json.loads((tmp_path / "out" / "lenet5-compare.json").read_text())
    assert compare["same"] and compare["difference"] == 0.0
    bench = json.loads((tmp_path / "out" / "gpu-benchmark.json").read_text())
    assert [r["model"] for r in bench["rows"]] == ["lenet5", "resnet20"]
