"""Ensembles of LeNet-5 on Fashion-MNIST: independent members against a snapshot ensemble.

    nice -n 19 python benchmarks/ensemble.py                     # 5 members × 2 epochs
    nice -n 19 python benchmarks/ensemble.py --members 3 --epochs 1 --limit-train 6000

1. ``--members`` runs of the default ``strided train`` recipe (LeNet-5, Adam 1e-3, batch
   128, cosine schedule, 10% of the training set held out) with seeds 0, 1, 2, ..., each
   ``--epochs`` long; then ``strided ensemble`` on them: each member's test accuracy and the
   averaged, voted and geometric ensembles'.
2. One run of the same total epochs (members × epochs) with a ``SnapshotEnsemble`` of
   ``--members`` cycles in place of the cosine schedule (Huang et al. 2017: the rate
   restarts at 1e-3 each cycle); the snapshots evaluated the same way, all of them and the
   last 3.

With ``--limit-train`` each member trains on its own random subset (drawn from its seed),
the snapshot run on seed 0's. On a shared machine set ``OMP_NUM_THREADS=1
OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1``: two threads fighting other processes for
two cores spin far more than they compute.

Prints both tables in Markdown and writes them as JSON to ``--out``/results.json.
Accuracy, not speed: the epochs are short because the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from strided.cli import main as strided  # noqa: E402
from strided.ensemble import SnapshotEnsemble  # noqa: E402


def run(argv: list[str], **kwargs) -> str:
    """``strided ARGV`` in this process; its standard output."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = strided(argv, **kwargs)
    if rc != 0:
        raise SystemExit(f"strided {' '.join(argv)} failed ({rc})")
    return buf.getvalue()


def table(title: str, r: dict) -> str:
    lines = [f"**{title}**", "", "| model | test accuracy | test loss |", "|---|---:|---:|"]
    for m in r["members"]:
        lines.append(f"| {Path(m['run']).name} | {m['accuracy']:.4f} | {m['loss']:.4f} |")
    for method in ("average", "vote", "geometric"):
        loss = r[method]["loss"]
        lines.append(
            f"| ensemble: {method} | {r[method]['accuracy']:.4f} | "
            + ("-" if loss is None else f"{loss:.4f}")
            + " |"
        )
    best = max(m["accuracy"] for m in r["members"])
    lines.append(f"| best member → average | {r['average']['accuracy'] - best:+.4f} | |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--epochs", type=int, default=2, help="epochs per member")
    p.add_argument("--limit-train", type=int, help="train on a fixed random N images")
    p.add_argument("--out", default="runs/bench-ensemble")
    args = p.parse_args()
    out = Path(args.out)
    common = ["--quiet", "--no-progress"]
    if args.limit_train:
        common += ["--limit-train", str(args.limit_train)]

    members = []
    for seed in range(args.members):
        folder = out / f"member-{seed}"
        if not (folder / "model.safetensors").exists():
            print(
                run(
                    [
                        "train",
                        "--epochs",
                        str(args.epochs),
                        "--seed",
                        str(seed),
                        "--out",
                        str(folder),
                        *common,
                    ]
                ).strip(),
                flush=True,
            )
        members.append(str(folder))
    independent = json.loads(run(["ensemble", *members, "--method", "all", "--json"]))

    snap_dir = out / "snapshots"
    cycles, total = args.members, args.members * args.epochs
    if not (snap_dir / "model.safetensors").exists():
        print(
            run(
                [
                    "train",
                    "--epochs",
                    str(total),
                    "--schedule",
                    "none",
                    "--seed",
                    "0",
                    "--out",
                    str(snap_dir),
                    *common,
                ],
                extra_callbacks=[SnapshotEnsemble(snap_dir, cycles)],
            ).strip(),
            flush=True,
        )
    snaps = [str(snap_dir / f"snapshot-{k}.safetensors") for k in range(1, cycles + 1)]
    snapshot = json.loads(run(["ensemble", *snaps, "--method", "all", "--json"]))
    # Huang et al. also combine only the last snapshots: the early ones are weaker
    last = json.loads(run(["ensemble", *snaps[-3:], "--method", "all", "--json"]))

    setup = (
        f"LeNet-5, Fashion-MNIST, {args.limit_train or 54000} training images, "
        f"{snapshot['test_images']} test images"
    )
    text = "\n\n".join(
        [
            table(
                f"{args.members} independent runs of {args.epochs} epochs ({setup})", independent
            ),
            table(
                f"one snapshot-ensemble run of {total} epochs, {cycles} cycles ({setup})", snapshot
            ),
            table("the same run's last 3 snapshots", last),
        ]
    )
    print("\n" + text)
    (out / "results.json").write_text(
        json.dumps(
            {
                "members": args.members,
                "epochs": args.epochs,
                "limit_train": args.limit_train,
                "independent": independent,
                "snapshot": snapshot,
                "last_3_snapshots": last,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
