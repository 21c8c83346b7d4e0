"""The command line: ``strided train | evaluate | summary | predict | export | ensemble |
search`` (also ``python -m strided``).

    strided train                                   # LeNet-5 on Fashion-MNIST, 10 epochs
    strided train --model resnet20 --dataset cifar10 --optimizer sgd --lr 0.1 \\
                  --schedule cosine --augment crop+flip --epochs 30
    strided train --resume runs/lenet5-fashion-mnist      # continue an interrupted run
    strided evaluate runs/lenet5-fashion-mnist            # test accuracy, per class, confusion
    strided summary vgg16                                 # per-layer shapes, params, mult-adds
    strided predict runs/lenet5-fashion-mnist shoe.png x.npy
    strided visualize runs/lenet5-fashion-mnist           # filters, feature maps, saliency...
    strided ensemble runs/a runs/b runs/c --method all     # members and their ensemble
    strided search --space space.json --trials 12 --rounds 2 --limit-train 6000

A training run writes into its output folder (``--out``, default ``runs/<model>-<dataset>``):
``config.json`` (the options), ``checkpoint.safetensors`` (the whole training state,
rewritten atomically after every epoch), ``history.csv``/``history.json`` and
``curves.png`` (learning curves; the PNG when matplotlib is installed), and at the end
``model.safetensors`` (the final weights with the options, class names and test results)
and ``results.json``; with ``--tensorboard``, TensorBoard's event files in ``tb/``.

Errors are reported as one line on stderr with a non-zero exit status; set
``STRIDED_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .data.registry import list_datasets
from .functional.stable import stable_softmax
from .train import recipe

if TYPE_CHECKING:
    from .train.gradient_stats import GradientStats

__all__ = ["main", "build_parser"]

# The recipe (defaults, building a run from its options, resuming, reading a run back)
# lives in strided.train.recipe; this module parses the command line and prints.
CLIError = recipe.ConfigError


def _say(args: argparse.Namespace, message: str = "") -> None:
    if not getattr(args, "quiet", False):
        print(message, flush=True)


# -- train --------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace, extra_callbacks: Sequence = ()) -> int:
    placement = None
    if args.distributed:
        from .distributed import MPIPlacement

        placement = MPIPlacement(sync_batchnorm=args.sync_batchnorm)
        if not placement.is_writer:  # rank 0 speaks for the job
            args.quiet = True
    quiet = args.quiet
    options = recipe.read_config(args.config) if args.config else {}
    options.update({k: v for k, v in vars(args).items() if v is not None})
    run = recipe.prepare_run(
        options,
        out=args.out,
        resume=args.resume,
        data_root=args.data_root,
        download=args.download,
        progress=not (quiet or args.no_progress),
        verbose=not quiet,
        extra_callbacks=extra_callbacks,
        placement=placement,
        device=args.device,
    )
    cfg = run.cfg
    args.run_folder = run.folder.path  # for the resume command if interrupted
    for note in run.notes:
        _say(args, note)
    what = "resuming" if run.resume else "training"
    data = Path(cfg["data"]).name if cfg.get("data") else cfg["dataset"]
    _say(
        args,
        f"{what} {cfg['model']} ({run.model.num_parameters():,} parameters) on "
        f"{data}: {run.num_train} training, {run.num_val} validation images; "
        f"{recipe.plural(int(cfg['epochs']), 'epoch')}, batch {cfg['batch_size']}, "
        f"{cfg['optimizer']} lr {run.optimizer.param_groups[0]['lr']:g}; "
        + (f"on {run.trainer.device}; " if run.trainer.device.type != "cpu" else "")
        + f"output in {run.folder.path}",
    )
    run.started = time.perf_counter()
    run.trainer.fit(run.train_loader, run.val_loader, epochs=int(cfg["epochs"]), resume=run.resume)
    results = recipe.finish_run(run)
    if not run.placement.is_writer:
        return 0
    if run.grad_stats is not None:
        _say(
            args,
            "gradient statistics: "
            + ", ".join(map(str, _write_grad_stats(run.grad_stats, run.folder.path))),
        )
    print(
        f"test accuracy {results['test_accuracy']:.4f} (loss {results['test_loss']:.4f}) on "
        f"{results['test_images']} images after {recipe.plural(results['epochs'], 'epoch')}; "
        f"saved {run.folder.model}",
        flush=True,
    )
    return 0


def _resume_command(args: argparse.Namespace) -> str:
    """The command that continues an interrupted ``strided train``."""
    import shlex

    words = ["strided", "train", "--resume", str(args.run_folder)]
    if args.data_root:
        words += ["--data-root", args.data_root]
    return " ".join(shlex.quote(w) for w in words)


def _write_grad_stats(stats: GradientStats, out: Path) -> list[Path]:
    paths = stats.write(out)
    try:
        from .viz import plot_gradient_flow, pyplot

        pyplot().close(plot_gradient_flow(stats, path=out / "grad-flow.png"))
        paths.append(out / "grad-flow.png")
    except (ImportError, ValueError):
        pass  # without matplotlib (or with nothing recorded) the CSV/JSON stand alone
    return paths


# -- evaluate -----------------------------------------------------------------------------


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import DataLoader
    from .train import Trainer
    from .train.metrics import format_confusion

    model, cfg, classes, file = recipe.load_trained(args.checkpoint)
    test = recipe.subset(
        recipe.test_set(cfg, args.data_root, args.download), args.limit, int(cfg.get("seed", 0))
    )
    loader = DataLoader(test, batch_size=args.batch_size, transform=recipe.eval_transform(cfg))
    top_k = (5,) if len(classes) > 5 else ()
    trainer = Trainer(model, None, progress=False, verbose=False)
    r = trainer.evaluate(loader, top_k=top_k, confusion=True, num_classes=len(classes))
    per_class = r["per_class_accuracy"]
    if args.json:
        print(
            json.dumps(
                {
                    "checkpoint": str(file),
                    "test_images": len(test),
                    "test_loss": r["loss"],
                    "test_accuracy": r["accuracy"],
                    **{f"test_{k}": v for k, v in r.items() if k.startswith("top")},
                    "per_class_accuracy": {
                        c: (None if math.isnan(a) else a)
                        for c, a in zip(classes, per_class.tolist(), strict=False)
                    },
                    "confusion_matrix": r["confusion_matrix"].tolist(),
                },
                indent=1,
            )
        )
        return 0
    data = Path(cfg["data"]).name if cfg.get("data") else cfg["dataset"]
    print(f"{cfg['model']} from {file} on the {data} test set ({len(test)} images)")
    line = f"test accuracy {r['accuracy']:.4f}   loss {r['loss']:.4f}"
    for k in top_k:
        line += f"   top-{k} {r[f'top{k}']:.4f}"
    print(line)
    print("\nper-class accuracy")
    width = max(len(c) for c in classes)
    for i, (c, a) in enumerate(zip(classes, per_class, strict=False)):
        n = int(r["confusion_matrix"][i].sum())
        print(
            f"  {i:>2} {c.ljust(width)}  "
            + ("   -  " if math.isnan(a) else f"{a:.4f}")
            + f"  ({recipe.plural(n, 'image')})"
        )
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    print(format_confusion(r["confusion_matrix"], classes))
    return 0


# -- ensemble -----------------------------------------------------------------------------


def _test_outputs(model: Any, loader: Any) -> tuple[np.ndarray, np.ndarray]:
    from .autograd import Tensor, no_grad

    outs, ys = [], []
    with no_grad():
        for x, y in loader:
            outs.append(model(Tensor(x)).data)
            ys.append(np.asarray(y))
    return np.concatenate(outs), np.concatenate(ys)


def cmd_ensemble(args: argparse.Namespace) -> int:
    from .data import DataLoader
    from .ensemble import METHODS, evaluate_outputs

    methods = list(METHODS) if args.method == "all" else [args.method]
    members = [recipe.load_trained(p) for p in args.runs]
    _, first, classes, first_file = members[0]
    for _, cfg, cls, file in members[1:]:
        if cfg["dataset"] != first["dataset"]:
            raise CLIError(
                f"{file} was trained on {cfg['dataset']} but {first_file} on "
                f"{first['dataset']}; ensemble members must share a data set"
            )
        if list(cls) != list(classes):
            raise CLIError(
                f"{file} predicts {len(cls)} classes but {first_file} predicts "
                f"{len(classes)}; ensemble members must predict the same classes"
            )
    test = recipe.subset(
        recipe.load_dataset(first["dataset"], False, args.data_root, args.download), args.limit, 0
    )
    outputs = []
    for model, cfg, _, _ in members:  # each member with its own input transform
        loader = DataLoader(test, batch_size=args.batch_size, transform=recipe.eval_transform(cfg))
        out, targets = _test_outputs(model, loader)
        outputs.append(out)
    r = evaluate_outputs(outputs, targets, methods, args.weights)
    names = [
        str(file.parent if file.name == "model.safetensors" else file) for _, _, _, file in members
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "dataset": first["dataset"],
                    "test_images": len(test),
                    "weights": args.weights,
                    "members": [
                        {"run": n, "model": cfg["model"], **m}
                        for n, (_, cfg, _, _), m in zip(names, members, r["members"], strict=False)
                    ],
                    **{m: r[m] for m in methods},
                },
                indent=1,
            )
        )
        return 0
    rows = [
        (n, cfg["model"], f"{m['accuracy']:.4f}", f"{m['loss']:.4f}")
        for n, (_, cfg, _, _), m in zip(names, members, r["members"], strict=False)
    ]
    weighted = " weighted" if args.weights else ""
    rows += [
        (
            f"ensemble ({m}{weighted}, {len(members)} members)",
            "",
            f"{r[m]['accuracy']:.4f}",
            "-" if r[m]["loss"] is None else f"{r[m]['loss']:.4f}",
        )
        for m in methods
    ]
    head = ("member", "model", "test accuracy", "test loss")
    widths = [max(len(row[k]) for row in (head, *rows)) for k in range(4)]
    print(f"{len(members)} models on the {first['dataset']} test set ({len(test)} images)")
    for i, row in enumerate((head, *rows)):
        if i == 1 or i == len(members) + 1:
            print("-" * (sum(widths) + 6))
        print(
            "  ".join(
                c.ljust(w) if k < 2 else c.rjust(w)
                for k, (c, w) in enumerate(zip(row, widths, strict=False))
            )
        )
    best = max(m["accuracy"] for m in r["members"])
    print(
        "\n"
        + "; ".join(f"{m}: {r[m]['accuracy'] - best:+.4f}" for m in methods)
        + " accuracy against the best member"
    )
    return 0


# -- search -------------------------------------------------------------------------------

# Options that only make the trials short: left out of best_config.json.
_TRIAL_ONLY = ("limit_train", "limit_test")


def cmd_search(args: argparse.Namespace) -> int:
    from .search import TrainObjective, read_space, search

    space = read_space(args.space)
    base = recipe.read_config(args.config) if args.config else {}
    base.update(
        {
            k: v
            for k, v in vars(args).items()
            if k
            in (
                "model",
                "dataset",
                "limit_train",
                "limit_test",
                "batch_size",
                "optimizer",
                "schedule",
                "val_split",
            )
            and v is not None
        }
    )
    TrainObjective.check_options(space, "search space")
    epochs = args.epochs if args.epochs is not None else base.pop("epochs", None)
    if epochs is None and "epochs" not in space:
        epochs = 2
    base.pop("epochs", None)
    mode = args.mode or ("min" if "loss" in args.metric else "max")
    total = args.trials * args.rounds if args.strategy == "random" else None

    def progress(t: Any, skipped: bool) -> None:
        params = "  ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items()
        )
        if t.status == "ok":
            result = f"{args.metric} {t.score:.4f}"
        else:
            result = f"failed: {t.error}"
        when = "recorded earlier" if skipped else f"{t.seconds:.1f}s"
        of = f"/{total}" if total and not args.halving else ""
        _say(
            args,
            f"trial {t.trial + 1}{of} (round {t.round + 1}"
            + (f", rung {t.rung + 1}" if args.halving else "")
            + f", {t.epochs} epochs): {params}  →  {result}  ({when})",
        )

    out = Path(args.out)
    _say(
        args,
        f"searching {', '.join(space)} ({args.strategy}, {args.rounds} round"
        f"{'s' * (args.rounds > 1)}) with {args.workers} worker"
        f"{'s' * (args.workers > 1)}; trials in {out}",
    )
    result = search(
        space,
        TrainObjective(args.data_root, args.download),
        out,
        strategy=args.strategy,
        trials=args.trials,
        rounds=args.rounds,
        keep=args.keep,
        grid_points=args.grid_points,
        halving=args.halving,
        min_epochs=args.min_epochs,
        epochs=epochs,
        metric=args.metric,
        mode=mode,
        seed=args.seed,
        workers=args.workers,
        base=base,
        keep_out=_TRIAL_ONLY,
        on_trial=progress,
    )
    rows = result.table()
    names = list(space)
    head = ["trial", "round", "epochs", *names, args.metric, "test_accuracy"]
    cells = [
        [
            str(r["trial"] + 1),
            str(r["round"] + 1),
            str(r["epochs"]),
            *[f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in names],
            "failed" if r["score"] is None else f"{r['score']:.4f}",
            f"{r['test_accuracy']:.4f}" if "test_accuracy" in r else "-",
        ]
        for r in rows[: args.show]
    ]
    widths = [max(len(c[k]) for c in (head, *cells)) for k in range(len(head))]
    print(
        f"\nbest {min(args.show, len(rows))} of {len(rows)} trials by {args.metric} "
        f"(all in {out / 'results.csv'})"
    )
    for c in (head, *cells):
        print("  ".join(x.rjust(w) for x, w in zip(c, widths, strict=False)))
    print(
        f"\nbest configuration (trial {result.best.trial + 1}): "
        f"{json.dumps(result.best_config)}\nwritten to {out / 'best_config.json'}; train it "
        f"with: strided train --config {out / 'best_config.json'} --epochs N"
    )
    return 0


# -- summary ------------------------------------------------------------------------------


def cmd_summary(args: argparse.Namespace) -> int:
    from .models.registry import (
        describe_model,
        get_model,
        input_shape_of,
        list_models,
        takes_in_channels,
    )
    from .nn.summary import summary

    if args.list or args.model is None:
        for name in list_models():
            print(f"{name:22s} {' '.join(str(describe_model(name) or '').split())[:70]}")
        return 0
    shape = tuple(args.input_shape) if args.input_shape else input_shape_of(args.model)
    kwargs: dict = {"num_classes": args.num_classes} if args.num_classes else {}
    if len(shape) == 3 and takes_in_channels(args.model):
        kwargs["in_channels"] = shape[0]
    model = get_model(args.model, **kwargs)
    summary(model, shape, name=args.model)
    return 0


# -- predict ------------------------------------------------------------------------------


def _read_image(path: Path, in_channels: int, size: int) -> np.ndarray:
    """``(N, C, H, W)`` images from a ``.npy`` file (one image or a batch, in any layout
    that fits the model) or a picture file (via Pillow)."""
    from .data.image_files import as_image_batch, read_image, read_npy

    if not path.exists():
        raise FileNotFoundError(f"no such image: {path}")
    if path.suffix.lower() == ".npy":
        return as_image_batch(read_npy(path), in_channels, (size, size), str(path))
    return read_image(path, in_channels, (size, size))[None]


def cmd_predict(args: argparse.Namespace) -> int:
    from .autograd import Tensor, no_grad

    model, cfg, classes, file = recipe.load_trained(args.checkpoint)
    transform = recipe.eval_transform(cfg)
    in_channels = int(cfg.get("in_channels", 1))
    size = recipe.input_size(cfg)
    if args.top > len(classes):
        raise CLIError(f"--top {args.top} is more than the model's {len(classes)} classes")
    k = args.top
    results: list[dict[str, Any]] = []
    for name in args.images:
        x = _read_image(Path(name), in_channels, size)
        with no_grad():
            logits = model(Tensor(transform(x).astype(np.float32, copy=False))).data
        probs = stable_softmax(logits, axis=1)
        for j, p in enumerate(probs):
            top = np.argsort(-p, kind="stable")[:k]
            label = name if len(probs) == 1 else f"{name}[{j}]"
            results.append(
                {
                    "image": label,
                    "top": [
                        {"class": classes[c], "index": int(c), "probability": float(p[c])}
                        for c in top
                    ],
                }
            )
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        best = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"])
        print(f"{r['image']}: {best}")
    return 0


# -- visualize ----------------------------------------------------------------------------


def cmd_visualize(args: argparse.Namespace) -> int:
    from .viz.run_report import visualize_run

    paths = visualize_run(
        args.run,
        args.out,
        layers=args.layer,
        images=args.images,
        channel=args.channel,
        k=args.top,
        pool_size=args.pool,
        data_root=args.data_root,
        download=args.download,
        fmt=args.format,
    )
    out = paths[0].parent if paths else args.out
    print(f"wrote {len(paths)} pictures to {out}:")
    for p in paths:
        print(f"  {p}")
    return 0


# -- the parser ---------------------------------------------------------------------------

# -- export -------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from .onnx import export_run

    done = export_run(args.run, args.output, opset=args.opset)
    shape = "×".join(str(n) for n in done.input_shape)
    print(
        f"wrote {done.path}: {done.model}, ONNX opset {args.opset}, input 'input' float32 "
        f"(N, {shape}) = pixels/255 normalised with mean {list(done.mean)} and std "
        f"{list(done.std)}; output 'output' (N, {len(done.classes)}) class scores"
    )
    return 0


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _add_test_set_options(p: argparse.ArgumentParser) -> None:
    """The options of commands that evaluate on a data set's test split."""
    p.add_argument("--data-root", help="folder with the data set files")
    p.add_argument(
        "--download",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fetch the data set from its official mirror when it is not found "
        "on disk (default: yes)",
    )
    p.add_argument("--batch-size", type=_positive_int, default=512)
    p.add_argument("--limit", type=_positive_int, metavar="N", help="a fixed random N test images")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


def build_parser() -> argparse.ArgumentParser:
    """The `strided` command line: one sub-command per job, each with its own flags."""
    from . import __version__

    p = argparse.ArgumentParser(
        prog="strided",
        description="strided: convolutional neural networks from first principles, on NumPy.",
        epilog="Run `strided COMMAND --help` for a command's options. "
        "STRIDED_DEBUG=1 shows tracebacks.",
    )
    p.add_argument("--version", action="version", version=f"strided {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser(
        "train",
        help="train a model (default: LeNet-5 on Fashion-MNIST)",
        description="Train a model; checkpoints, learning curves and the final "
        "weights go to --out. Defaults: LeNet-5 (modern) on Fashion-MNIST, "
        "Adam lr 1e-3, batch 128, 10 epochs.",
    )
    t.add_argument(
        "--config",
        metavar="FILE",
        help="a JSON file of train options (e.g. "
        "a search's best_config.json); options given on the command line win",
    )
    t.add_argument(
        "--model", help="a registered model (see `strided summary --list`); default lenet5"
    )
    t.add_argument(
        "--data",
        metavar="FOLDER",
        help="train on your own images: FOLDER holds one sub-folder of PNG/JPEG "
        "images per class; --test-split of each class is held out, images are "
        "resized to --image-size and normalised with the training images' mean "
        "and std",
    )
    t.add_argument(
        "--image-size",
        type=_positive_int,
        metavar="PIXELS",
        help="with --data: resize the images to PIXELS×PIXELS (default: their most common size)",
    )
    t.add_argument(
        "--test-split",
        type=float,
        help="with --data: the fraction of each class held out for testing (default 0.2)",
    )
    t.add_argument("--dataset", help=f"one of {', '.join(list_datasets())}; default fashion-mnist")
    t.add_argument(
        "--data-root",
        help="folder with the data set files (also searched: "
        "$STRIDED_DATA, the user cache, /usr/share/datasets)",
    )
    t.add_argument(
        "--download",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fetch the data set from its official mirror when it is not found "
        "on disk (default: yes)",
    )
    t.add_argument(
        "--epochs",
        type=int,
        help="total epochs (default 10); with --resume, "
        "training continues up to this many — except a run with a schedule "
        "planned over its length (step, cosine, onecycle), which cannot be "
        "extended: start a new run for more epochs",
    )
    t.add_argument("--batch-size", type=_positive_int, help="default 128")
    t.add_argument("--optimizer", choices=list(recipe.DEFAULT_LR), help="default adam")
    t.add_argument(
        "--lr",
        type=float,
        help="learning rate (default: adam/adamw/rmsprop 1e-3, sgd/nesterov 0.05, adagrad 1e-2)",
    )
    t.add_argument("--momentum", type=float, help="for sgd/nesterov (default 0.9)")
    t.add_argument("--weight-decay", type=float, help="L2 penalty (AdamW: decoupled); default 0")
    t.add_argument(
        "--schedule",
        choices=recipe.SCHEDULES,
        help="learning-rate schedule (default cosine: from --lr down to 0 over the run)",
    )
    t.add_argument(
        "--seed", type=int, help="seeds weights, shuffling, dropout and augmentation (default 0)"
    )
    t.add_argument(
        "--augment", choices=recipe.AUGMENTATIONS, help="training augmentation (default none)"
    )
    t.add_argument(
        "--val-split",
        type=float,
        help="fraction of the training set held out for "
        "validation each epoch (default 0.1; 0 for none)",
    )
    t.add_argument(
        "--patience",
        type=_positive_int,
        help="early stopping: stop after this many "
        "epochs without a better validation loss and keep the best weights",
    )
    t.add_argument("--grad-clip", type=float, help="clip the gradient norm to this value")
    t.add_argument("--top-k", type=int, help="also report top-k accuracy (default 5)")
    t.add_argument(
        "--limit-train",
        type=_positive_int,
        metavar="N",
        help="train on a fixed random N images (quick runs, tests)",
    )
    t.add_argument(
        "--limit-test", type=_positive_int, metavar="N", help="test on a fixed random N images"
    )
    t.add_argument(
        "--out", help="output folder (default runs/<model>-<dataset>, numbered if taken)"
    )
    t.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        metavar="PATH",
        help="continue an interrupted run from its checkpoint (a file or run folder; "
        "without PATH, the one in --out, or without --out the latest unfinished "
        "run in runs/); a finished run is not resumed",
    )
    t.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        metavar="N",
        help="also checkpoint every N steps inside an epoch, so that an "
        "interrupted run loses at most N steps (and still ends as if never "
        "interrupted)",
    )
    t.add_argument(
        "--tensorboard",
        nargs="?",
        const="",
        metavar="DIR",
        help="also log for TensorBoard (scalars, histograms, images, hparams) to DIR "
        "(default: the run's tb folder); view with `tensorboard --logdir DIR`",
    )
    t.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training over the processes of `mpirun -n N strided "
        "train --distributed` (needs the [mpi] extra); --batch-size is the global "
        "batch, split evenly; rank 0 writes the run",
    )
    t.add_argument(
        "--sync-batchnorm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --distributed: BatchNorm statistics over all processes (default: yes)",
    )
    t.add_argument(
        "--grad-stats",
        nargs="?",
        type=_positive_int,
        const=1,
        metavar="EVERY",
        help="record per-layer gradient, weight, update and activation statistics "
        "every EVERY steps (default 1) to grad_stats.csv/.json and grad-flow.png",
    )
    t.add_argument("--prefetch", type=int, help="batches prepared ahead in a thread (default 2)")
    t.add_argument(
        "--device",
        metavar="DEVICE",
        help="train on cpu (default), cuda or cuda:N (an NVIDIA GPU through CuPy: "
        "pip install 'strided[cuda]')",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar (epoch lines only)")
    t.add_argument("--quiet", "-q", action="store_true", help="print only the final result")

    e = sub.add_parser(
        "evaluate",
        help="test accuracy, per-class accuracy and confusion matrix",
        description="Evaluate a trained model on its data set's test split.",
    )
    e.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        help="a run folder, its model.safetensors or checkpoint.safetensors",
    )
    _add_test_set_options(e)

    s = sub.add_parser(
        "summary",
        help="per-layer output shape, parameters and multiply-adds",
        description="Print a model's layers: output shape, parameters, "
        "activation memory and multiply-adds.",
    )
    s.add_argument("model", nargs="?", metavar="MODEL", help="a registered model name")
    s.add_argument("--list", action="store_true", help="list the registered models")
    s.add_argument(
        "--input-shape",
        type=_positive_int,
        nargs="+",
        metavar="D",
        help="one example's shape, e.g. 3 32 32 (default: the model's usual input)",
    )
    s.add_argument("--num-classes", type=_positive_int, help="size of the output layer")

    n = sub.add_parser(
        "ensemble",
        help="evaluate trained models and their ensemble",
        description="Evaluate each trained model and their ensemble on the "
        "test set of their data set, and print the table.",
    )
    n.add_argument(
        "runs", nargs="+", metavar="RUN", help="run folders, model.safetensors files or snapshots"
    )
    n.add_argument(
        "--method",
        choices=("average", "vote", "geometric", "all"),
        default="average",
        help="how to combine the members: average the "
        "probabilities (default), majority vote, geometric mean, or all three",
    )
    n.add_argument(
        "--weights",
        type=float,
        nargs="+",
        metavar="W",
        help="one weight per member (default: equal)",
    )
    _add_test_set_options(n)

    h = sub.add_parser(
        "search",
        help="hyper-parameter search over short training runs",
        description="Random or grid search, coarse to fine, over train options "
        "(each trial a short `strided train` run in its own folder). The "
        "results go to OUT/results.csv and results.json (best first), the best "
        "options to OUT/best_config.json. Run the same command again to resume "
        "an interrupted search.",
    )
    h.add_argument(
        "--space",
        required=True,
        metavar="JSON",
        help="the search space: a JSON "
        'file or text, e.g. \'{"lr": {"log-uniform": [1e-4, 1e-2]}, '
        '"weight_decay": {"log-uniform": [1e-6, 1e-3]}}\' (also uniform, '
        "integer, choice, or a constant)",
    )
    h.add_argument("--strategy", choices=("random", "grid"), default="random")
    h.add_argument(
        "--trials",
        type=_positive_int,
        default=12,
        help="configurations per round of a random search (default 12)",
    )
    h.add_argument(
        "--rounds",
        type=_positive_int,
        default=1,
        help="rounds; each after the "
        "first narrows the ranges around the best trials so far (default 1)",
    )
    h.add_argument(
        "--keep",
        type=_positive_int,
        help="best trials a narrowed round is drawn "
        "around (default: a quarter of --trials, at least 2)",
    )
    h.add_argument(
        "--grid-points",
        type=_positive_int,
        default=3,
        help="values per range of a grid search (default 3)",
    )
    h.add_argument(
        "--halving",
        type=int,
        metavar="ETA",
        help="successive halving: train all "
        "for --min-epochs, the best 1/ETA for ETA times as long, ..., up to --epochs",
    )
    h.add_argument("--min-epochs", type=_positive_int, default=1)
    h.add_argument(
        "--epochs", type=_positive_int, help="each trial's epochs (default: --config's, else 2)"
    )
    h.add_argument(
        "--metric",
        default="val_accuracy",
        help="the score trials are ranked by "
        "(default val_accuracy; also val_loss, best_val_accuracy)",
    )
    h.add_argument(
        "--mode",
        choices=("max", "min"),
        help="whether higher is better (default: min for losses, else max)",
    )
    h.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the draws; trial i trains with seed + i (default 0)",
    )
    h.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="trials at once, each in its own process with cores/N threads (default 1)",
    )
    h.add_argument(
        "--config", metavar="FILE", help="a JSON file of train options every trial starts from"
    )
    h.add_argument("--model", help="default lenet5")
    h.add_argument("--dataset", help="default fashion-mnist")
    h.add_argument("--optimizer", choices=list(recipe.DEFAULT_LR))
    h.add_argument("--schedule", choices=recipe.SCHEDULES)
    h.add_argument("--batch-size", type=_positive_int)
    h.add_argument("--val-split", type=float)
    h.add_argument(
        "--limit-train",
        type=_positive_int,
        metavar="N",
        help="train each trial on a fixed random N images",
    )
    h.add_argument("--limit-test", type=_positive_int, metavar="N")
    h.add_argument("--data-root", help="folder with the data set files")
    h.add_argument(
        "--download",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fetch the data set when it is not on disk (default: yes)",
    )
    h.add_argument(
        "--out",
        default="runs/search",
        help="the search folder (default runs/search); running again with it resumes the search",
    )
    h.add_argument("--show", type=_positive_int, default=10, help="table rows (default 10)")
    h.add_argument("--quiet", "-q", action="store_true", help="no line per trial")

    r = sub.add_parser(
        "predict",
        help="top classes with probabilities for images",
        description="Classify images with a trained model. Images are .npy "
        "arrays (one image or a batch; uint8 pixels, or floats in [0, 1]) or, "
        "with Pillow installed, PNG/JPEG files.",
    )
    r.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        help="a run folder, its model.safetensors or checkpoint.safetensors",
    )
    r.add_argument("images", nargs="+", metavar="IMAGE")
    r.add_argument("--top", type=_positive_int, default=3, help="classes to show (default 3)")
    r.add_argument("--json", action="store_true", help="print the results as JSON")

    x = sub.add_parser(
        "export",
        help="write a trained model as ONNX (for ONNX Runtime)",
        description="Export a trained run's model to an ONNX file that ONNX "
        "Runtime runs without strided (needs the [onnx] extra).",
    )
    x.add_argument("run", metavar="RUN", help="a run folder or its model.safetensors")
    x.add_argument("output", metavar="OUTPUT.onnx", help="the file to write")
    x.add_argument("--opset", type=_positive_int, default=17, help="ONNX opset (default 17)")
    v = sub.add_parser(
        "visualize",
        help="pictures of a trained run: filters, feature maps, "
        "top images per channel, saliency, confusion matrix, gradient flow",
        description="Draw what a trained run learned, into RUN/viz by default "
        "(needs matplotlib: pip install 'strided[plot]').",
    )
    v.add_argument("run", metavar="RUN", help="a run folder (or its model.safetensors)")
    v.add_argument(
        "--layer",
        action="append",
        metavar="NAME",
        help="a layer to draw (repeatable; default: every conv layer)",
    )
    v.add_argument(
        "--images",
        nargs="+",
        default=["0"],
        metavar="IMAGE",
        help="test-set indices or .npy images for the feature and saliency maps "
        "(default: test image 0)",
    )
    v.add_argument(
        "--channel",
        type=int,
        default=0,
        help="the channel of the last --layer whose top images to show (default 0)",
    )
    v.add_argument("--top", type=_positive_int, default=9, help="how many top images (default 9)")
    v.add_argument(
        "--pool",
        type=_positive_int,
        default=1000,
        help="test images searched for the top images (default 1000)",
    )
    v.add_argument("--out", help="output folder (default RUN/viz)")
    v.add_argument("--format", choices=("png", "svg"), default="png")
    v.add_argument("--data-root", help="folder with the data set files")
    v.add_argument(
        "--download",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="fetch the test set from its official mirror when it is not on disk",
    )
    return p


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, FileNotFoundError) and not text:
        text = f"file not found: {exc.filename}"
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None, *, extra_callbacks: Sequence = ()) -> int:
    """Run the command line; returns the exit status. ``extra_callbacks`` are added to a
    ``train`` run (for programs that embed the command line)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand, whose --help lists what it takes
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    debug = os.environ.get("STRIDED_DEBUG", "") not in ("", "0")
    try:
        if args.command == "train":
            return cmd_train(args, extra_callbacks)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "summary":
            return cmd_summary(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "visualize":
            return cmd_visualize(args)
        if args.command == "ensemble":
            return cmd_ensemble(args)
        if args.command == "search":
            return cmd_search(args)
        return cmd_predict(args)
    except BrokenPipeError:
        # the reader went away (`strided evaluate ... | head`): not an error of ours;
        # point stdout at devnull so that the interpreter's final flush stays quiet
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        if debug:
            raise
        again = ""
        folder = getattr(args, "run_folder", None)
        if args.command == "train" and folder is not None:
            again = (
                f"; continue with: {_resume_command(args)}"
                if recipe.RunFolder(folder).checkpoint.exists()
                else "; no checkpoint was written yet, so there is nothing to resume"
            )
        print(f"strided {args.command}: interrupted{again}", file=sys.stderr)
        return 130
    except CLIError as exc:
        if debug:
            raise
        print(f"strided {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (
        ValueError,
        TypeError,
        OSError,
        FloatingPointError,
        KeyError,
        ImportError,
        RuntimeError,
    ) as exc:
        if debug:
            raise
        print(f"strided {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
