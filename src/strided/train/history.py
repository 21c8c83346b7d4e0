"""``History``: one record per epoch (losses, accuracies, learning rate, timing), written
as CSV and JSON learning curves, and drawn to a PNG when matplotlib is installed."""

from __future__ import annotations

import csv
import io as _io
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..io import atomic_write_bytes, atomic_write_text, to_jsonable

__all__ = ["History"]


class History:
    """The per-epoch records of a training run.

    ``history.records`` is a list of dicts such as ``{"epoch": 1, "train_loss": 0.61,
    "train_accuracy": 0.78, "val_loss": 0.45, "val_accuracy": 0.84, "lr": 0.001,
    "seconds": 41.2, "images_per_s": 1456.0}``; ``history["val_loss"]`` is one column
    (``None`` where an epoch lacks it).
    """

    def __init__(self, records: list[dict] | None = None):
        self.records: list[dict] = [dict(r) for r in (records or [])]

    def append(self, record: dict) -> None:
        self.records.append(to_jsonable(dict(record)))

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records)

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self.records[key]
        if not any(key in r for r in self.records):
            known = ", ".join(self.keys()) or "none yet"
            raise KeyError(f"History: no column {key!r} (columns: {known})")
        return [r.get(key) for r in self.records]

    def keys(self) -> list[str]:
        """Column names, in first-seen order."""
        seen: dict[str, None] = {}
        for r in self.records:
            for k in r:
                seen.setdefault(k, None)
        return list(seen)

    def best(self, key: str = "val_loss", mode: str = "min") -> dict | None:
        """The record with the lowest (``mode="min"``) or highest value of ``key``."""
        rows = [
            r
            for r in self.records
            if isinstance(r.get(key), (int, float)) and not math.isnan(r[key])
        ]
        if not rows:
            return None
        return (min if mode == "min" else max)(rows, key=lambda r: r[key])

    # -- persistence ------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"records": [dict(r) for r in self.records]}

    def load_state_dict(self, state: dict) -> None:
        self.records = [dict(r) for r in state.get("records", [])]

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the records as CSV (one row per epoch), atomically."""
        buf = _io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.keys(), lineterminator="\n")
        writer.writeheader()
        for r in self.records:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
        return atomic_write_text(path, buf.getvalue())

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write ``{"records": [...]}`` as JSON, atomically."""
        return atomic_write_text(path, json.dumps({"records": self.records}, indent=1) + "\n")

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> History:
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f)["records"])

    def plot(self, path: str | os.PathLike) -> Path | None:
        """Draw loss and accuracy against epoch to a PNG; returns ``None`` (and draws
        nothing) when matplotlib is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")  # no display needed
            import matplotlib.pyplot as plt
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            return None
        epochs = self["epoch"] if self.records else []
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, what in zip(axes, ("loss", "accuracy"), strict=True):
            for split in ("train", "val", "test"):
                key = f"{split}_{what}"
                if any(r.get(key) is not None for r in self.records):
                    ax.plot(
                        epochs,
                        [r.get(key, float("nan")) for r in self.records],
                        marker="o",
                        label=split,
                    )
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(what)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        buf = _io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        return atomic_write_bytes(path, buf.getvalue())

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, columns {self.keys()})"
