"""A search trial that is a ``strided train`` run: the objective of ``strided search``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..train import recipe

__all__ = ["TrainObjective"]


class TrainObjective:
    """Train with ``strided train``'s recipe on a trial's options; return its metrics.

    Parameters
    ----------
    data_root : path, optional
        Folder with the data set files (as ``strided train --data-root``).
    download : bool
        Fetch the data set when it is not on disk.

    Notes
    -----
    Calling it with ``(config, folder)`` trains in ``folder`` (which becomes a normal run
    folder: ``config.json``, ``model.safetensors``, ``history.json``, ...) without
    printing, and returns the last epoch's ``train_*``/``val_*`` metrics, the best
    ``val_accuracy`` of any epoch (``best_val_accuracy``) and the test results. Rank
    trials by a validation metric: the test set is for the end.
    """

    def __init__(self, data_root: str | os.PathLike | None = None, download: bool = False):
        self.data_root = None if data_root is None else str(data_root)
        self.download = download

    @staticmethod
    def check_options(names: Iterable[str], where: str) -> None:
        """Refuse names that are not options of ``strided train``."""
        unknown = sorted(set(names) - set(recipe.DEFAULTS))
        if unknown:
            raise ValueError(
                f"{where}: {', '.join(map(repr, unknown))} "
                f"{'is not an option' if len(unknown) == 1 else 'are not options'}"
                f" of strided train; known: {', '.join(recipe.DEFAULTS)}"
            )

    def __call__(self, config: dict, folder: Path) -> dict:
        """Train with ``config`` in ``folder``; the run's metrics."""
        self.check_options(config, "search trial")
        run = recipe.prepare_run(
            config,
            out=folder,
            data_root=self.data_root,
            download=self.download,
            progress=False,
            verbose=False,
        )
        run.trainer.fit(run.train_loader, run.val_loader, epochs=int(run.cfg["epochs"]))
        results = recipe.finish_run(run)
        return self.metrics_of(run.trainer.history.records, results)

    @staticmethod
    def metrics_of(records: list[dict], results: dict) -> dict[str, Any]:
        """A trial's metrics from its history's records and its test results."""
        metrics: dict[str, Any] = {}
        if records:
            metrics.update(
                {k: v for k, v in records[-1].items() if k.startswith(("train_", "val_"))}
            )
            vals = [r["val_accuracy"] for r in records if r.get("val_accuracy") is not None]
            if vals:
                metrics["best_val_accuracy"] = max(vals)
        metrics.update({k: results[k] for k in ("test_accuracy", "test_loss") if k in results})
        return metrics
