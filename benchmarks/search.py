"""A coarse-to-fine random search over Adam's learning rate and weight decay for LeNet-5 on
Fashion-MNIST, then the best configuration trained longer against the default recipe.

    nice -n 19 python benchmarks/search.py                  # 12 + 12 trials, 2 workers
    nice -n 19 python benchmarks/search.py --trials 4 --limit-train 1000 --final-epochs 1

1. ``strided search``: round 1 draws ``--trials`` configurations, lr log-uniform in
   [1e-4, 1e-1] and weight decay log-uniform in [1e-6, 1e-2]; round 2 draws as many again
   from the ranges narrowed around the 3 best. Each trial trains ``--epochs`` epochs on a
   fixed random ``--limit-train`` images (10% of them held out for the validation accuracy
   the trials are ranked by; their test accuracy, for information only, on a fixed 2,000 of
   the test images); ``--workers`` trials at once.
2. ``strided train --config best_config.json`` and the default ``strided train`` (Adam lr
   1e-3, no weight decay), both ``--final-epochs`` epochs on ``--final-limit-train``
   images with seed 0, and their test accuracies on the 10,000 test images.

Prints Markdown tables and writes them as JSON to ``--out``/results.json.
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

SPACE = {"lr": {"log-uniform": [1e-4, 1e-1]}, "weight_decay": {"log-uniform": [1e-6, 1e-2]}}


def run(argv: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = strided(argv)
    if rc != 0:
        raise SystemExit(f"strided {' '.join(argv)} failed ({rc})")
    return buf.getvalue()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=12, help="trials per round (2 rounds)")
    p.add_argument("--epochs", type=int, default=2, help="epochs per trial")
    p.add_argument("--limit-train", type=int, default=3000, help="images per trial")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--final-epochs", type=int, default=3)
    p.add_argument(
        "--final-limit-train",
        type=int,
        help="images of the final runs (default: all 60,000, 54,000 after the validation split)",
    )
    p.add_argument("--out", default="runs/bench-search")
    args = p.parse_args()
    out = Path(args.out)
    search_dir = out / "search"
    print(
        run(
            [
                "search",
                "--space",
                json.dumps(SPACE),
                "--trials",
                str(args.trials),
                "--rounds",
                "2",
                "--keep",
                "3",
                "--epochs",
                str(args.epochs),
                "--limit-train",
                str(args.limit_train),
                "--limit-test",
                "2000",
                "--workers",
                str(args.workers),
                "--out",
                str(search_dir),
            ]
        ),
        flush=True,
    )
    results = json.loads((search_dir / "results.json").read_text())
    rows = results["trials"]

    final = []
    limit = ["--limit-train", str(args.final_limit_train)] if args.final_limit_train else []
    for name, extra in (
        ("default", []),
        ("best of search", ["--config", str(search_dir / "best_config.json")]),
    ):
        folder = out / name.replace(" ", "-")
        if not (folder / "results.json").exists():
            run(
                [
                    "train",
                    *extra,
                    "--epochs",
                    str(args.final_epochs),
                    "--seed",
                    "0",
                    *limit,
                    "--out",
                    str(folder),
                    "--quiet",
                    "--no-progress",
                ]
            )
        cfg = json.loads((folder / "config.json").read_text())
        res = json.loads((folder / "results.json").read_text())
        final.append(
            {
                "run": name,
                "lr": cfg["lr"] if cfg["lr"] is not None else 1e-3,
                "weight_decay": cfg["weight_decay"],
                "val_accuracy": res["final"].get("val_accuracy"),
                "test_accuracy": res["test_accuracy"],
                "test_loss": res["test_loss"],
            }
        )

    lines = [
        f"**Search** ({len(rows)} trials of {args.epochs} epochs on {args.limit_train} "
        f"images, 2 rounds of {args.trials}; the 8 best by validation accuracy)",
        "",
        "| trial | round | lr | weight decay | val accuracy | test accuracy |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows[:8]:
        score = "failed" if r["score"] is None else f"{r['score']:.4f}"
        lines.append(
            f"| {r['trial'] + 1} | {r['round'] + 1} | {r['lr']:.3g} | "
            f"{r['weight_decay']:.3g} | {score} | {r.get('test_accuracy', 0):.4f} |"
        )
    for k in (0, 1):
        rk = [r for r in rows if r["round"] == k]
        lines.append(
            f"| round {k + 1} range | | {min(r['lr'] for r in rk):.3g}–"
            f"{max(r['lr'] for r in rk):.3g} | {min(r['weight_decay'] for r in rk):.3g}"
            f"–{max(r['weight_decay'] for r in rk):.3g} | best "
            f"{max(r['score'] or 0 for r in rk):.4f} | |"
        )
    n = args.final_limit_train or 54000
    lines += [
        "",
        f"**Full-length runs** ({args.final_epochs} epochs on "
        f"{n if args.final_limit_train else '54,000'} images, seed 0)",
        "",
        "| run | lr | weight decay | val accuracy | test accuracy | test loss |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in final:
        lines.append(
            f"| {f['run']} | {f['lr']:.3g} | {f['weight_decay']:.3g} | "
            f"{f['val_accuracy']:.4f} | {f['test_accuracy']:.4f} | "
            f"{f['test_loss']:.4f} |"
        )
    print("\n".join(lines))
    (out / "results.json").write_text(
        json.dumps({"args": vars(args), "search": rows, "final": final}, indent=1)
    )


if __name__ == "__main__":
    main()
