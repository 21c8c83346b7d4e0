"""TensorBoard logs of a data-parallel run: under `mpirun -n 2` only rank 0 writes, and what
it writes is the run's history (the metrics combined over the ranks)."""

import pytest
from test_distributed_mpi import _result, _run

pytest.importorskip("mpi4py")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def test_only_rank_zero_writes_the_tensorboard_logs(tmp_path):
    logs = tmp_path / "tb"
    r = _run(["plain", tmp_path / "two", 2], 2, STRIDED_TEST_TENSORBOARD=str(logs))
    assert r.returncode == 0, r.stderr
    files = list(logs.iterdir())
    assert len(files) == 1, files  # one writer for the job, not one per rank
    _, history = _result(tmp_path / "two")
    ea = EventAccumulator(str(logs), size_guidance={"scalars": 0, "histograms": 0})
    ea.Reload()
    for column in ("train_loss", "train_accuracy"):
        tag = f"{column.split('_')[1]}/train"
        got = [(e.step, e.value) for e in ea.Scalars(tag)]
        assert got == [(rec["step"], pytest.approx(rec[column], rel=1e-6)) for rec in history]
    steps = history[-1]["step"]
    assert [e.step for e in ea.Scalars("batch/loss")] == list(range(1, steps + 1))
    assert [h.step for h in ea.Histograms("weights/module.0.weight")] == list(
        range(2, steps + 1, 2)
    ) + ([steps] if steps % 2 else [])
