"""The command line: ``strided train | evaluate | summary | predict`` (also ``python -m strided``).

    strided train                                   # LeNet-5 on Fashion-MNIST, 10 epochs
    strided train --model resnet20 --dataset cifar10 --optimizer sgd --lr 0.1 \\
                  --schedule cosine --augment crop+flip --epochs 30
    strided train --resume runs/lenet5-fashion-mnist      # continue an interrupted run
    strided evaluate runs/lenet5-fashion-mnist            # test accuracy, per class, confusion
    strided summary vgg16                                 # per-layer shapes, params, mult-adds
    strided predict runs/lenet5-fashion-mnist shoe.png x.npy

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
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["main", "build_parser"]

# name → (class name in strided.data, per-channel mean, std); statistics of the training sets
DATASETS: dict[str, tuple[str, tuple, tuple]] = {
    "fashion-mnist": ("FashionMNIST", (0.2860,), (0.3530,)),
    "mnist": ("MNIST", (0.1307,), (0.3081,)),
    "kmnist": ("KMNIST", (0.1918,), (0.3483,)),
    "cifar10": ("CIFAR10", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ("CIFAR100", (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
_DATASET_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist",
                    "cifar-10": "cifar10", "cifar-100": "cifar100"}

OPTIMIZERS = {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.05, "nesterov": 0.05, "rmsprop": 1e-3,
              "adagrad": 1e-2}
SCHEDULES = ("none", "step", "cosine", "exponential", "onecycle", "plateau")
AUGMENTATIONS = ("none", "flip", "crop", "crop+flip", "affine")

# Options a resumed run may change; every other option comes from the checkpoint.
_RESUMABLE_OVERRIDES = {"epochs", "data_root", "download", "quiet", "no_progress", "prefetch",
                        "limit_test", "tensorboard"}

# Schedules laid out over the whole run: its length cannot change on resume.
_PLANNED = {"step", "cosine", "onecycle"}

_TRAIN_DEFAULTS = {
    "model": "lenet5", "dataset": "fashion-mnist", "epochs": 10, "batch_size": 128,
    "optimizer": "adam", "lr": None, "momentum": 0.9, "weight_decay": 0.0, "schedule": "cosine",
    "seed": 0, "augment": "none", "limit_train": None, "limit_test": None, "val_split": 0.1,
    "patience": None, "top_k": 5, "prefetch": 2, "grad_clip": None, "tensorboard": None,
}


class CLIError(Exception):
    """A problem with what was asked for on the command line (one line, exit status 2)."""


# -- building blocks --------------------------------------------------------------------

def _dataset_key(name: str) -> str:
    key = _DATASET_ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise CLIError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    return key


def load_dataset(name: str, train: bool, root: str | None = None, download: bool = False):
    """The ``strided.data`` data set ``name`` (a key of ``DATASETS``)."""
    from . import data
    cls = getattr(data, DATASETS[_dataset_key(name)][0])
    return cls(root=root, train=train, download=download)


def _subset(ds, limit: int | None, seed: int):
    """A fixed random ``limit`` samples of ``ds`` (all of them without a limit)."""
    from .data import Subset
    if limit is None or limit >= len(ds):
        return ds
    if limit < 1:
        raise CLIError(f"a limit must be a positive number of samples, got {limit}")
    order = np.random.default_rng([int(seed), 7]).permutation(len(ds))[:limit]
    return Subset(ds, np.sort(order))


class _Flatten:
    """Batch (N, C, H, W) → (N, C·H·W), for models that take vectors (the MLP)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], -1)

    def __repr__(self) -> str:
        return "Flatten()"


def _model_input_rank(model_name: str) -> int:
    from .models.registry import input_shape_of
    try:
        return len(input_shape_of(model_name))
    except ValueError:
        return 3


def eval_transform(cfg: dict):
    """uint8 images → float32, normalised with the data set's statistics."""
    from .data import transforms as T
    _, mean, std = DATASETS[_dataset_key(cfg["dataset"])]
    steps = [T.ToFloat(), T.Normalize(mean, std)]
    if _model_input_rank(cfg["model"]) == 1:
        steps.append(_Flatten())
    return T.Compose(steps)


def train_transform(cfg: dict, image_size: int):
    """Augmentation (on the uint8 images, where it is cheapest) then ``eval_transform``.

    One generator, seeded from ``--seed``, draws for all augmentations; a checkpoint saves
    its state, so a resumed run augments the same way.
    """
    from .data import transforms as T
    aug = cfg["augment"]
    if aug not in AUGMENTATIONS:
        raise CLIError(f"unknown augmentation {aug!r}; choose from {', '.join(AUGMENTATIONS)}")
    rng = np.random.default_rng([int(cfg["seed"]), 1])
    steps: list = []
    if "crop" in aug:
        steps.append(T.RandomCrop(image_size, padding=max(2, image_size // 8), rng=rng))
    if "flip" in aug:
        steps.append(T.RandomHorizontalFlip(rng=rng))
    if aug == "affine":
        steps.append(T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), rng=rng))
    return T.Compose(steps + eval_transform(cfg).transforms)


def build_model(cfg: dict, num_classes: int, in_channels: int):
    """The registered model ``cfg["model"]`` for this many classes and input channels."""
    from .models.registry import get_model
    name = cfg["model"]
    try:
        return get_model(name, num_classes=num_classes, in_channels=in_channels)
    except TypeError:
        # constructors without in_channels (e.g. the MLP): the defaults must then fit
        return get_model(name, num_classes=num_classes)


def build_optimizer(cfg: dict, params):
    from . import optim
    name = cfg["optimizer"]
    if name not in OPTIMIZERS:
        raise CLIError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    lr = cfg["lr"] if cfg["lr"] is not None else OPTIMIZERS[name]
    if not lr > 0:
        raise CLIError(f"--lr must be positive, got {lr}")
    wd = cfg["weight_decay"]
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd or 1e-2)
    if name in ("sgd", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=cfg["momentum"], weight_decay=wd,
                         nesterov=name == "nesterov")
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=wd)
    return optim.Adagrad(params, lr=lr, weight_decay=wd)


def build_scheduler(cfg: dict, optimizer, steps_per_epoch: int):
    from .optim import lr_scheduler as S
    name, epochs = cfg["schedule"], int(cfg["epochs"])
    if name not in SCHEDULES:
        raise CLIError(f"unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}")
    if name == "none":
        return None
    if name == "step":
        return S.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if name == "exponential":
        return S.ExponentialLR(optimizer, gamma=0.9)
    if name == "onecycle":
        return S.OneCycleLR(optimizer, max_lr=optimizer.param_groups[0]["lr"],
                            epochs=max(1, epochs), steps_per_epoch=max(1, steps_per_epoch))
    return S.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)


def _write_json(path: Path, obj: Any) -> None:
    from .io import atomic_write_text, to_jsonable
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=1) + "\n")


def _say(args, message: str = "") -> None:
    if not getattr(args, "quiet", False):
        print(message, flush=True)


# -- reading a trained model back -------------------------------------------------------

def _find_weights(path: str) -> Path:
    p = Path(path)
    if p.is_dir():
        for name in ("model.safetensors", "checkpoint.safetensors"):
            if (p / name).is_file():
                return p / name
        raise FileNotFoundError(f"{p} holds neither model.safetensors nor checkpoint.safetensors")
    if not p.exists():
        raise FileNotFoundError(f"no such checkpoint: {p}")
    return p


def load_trained(path: str):
    """``(model, config, classes, file)`` from a run folder, a ``model.safetensors`` or a
    training checkpoint."""
    from .io import CheckpointError, load
    from .io import _decode  # the nested checkpoint layout
    file = _find_weights(path)
    arrays, meta = load(file)
    if "tree" in meta:
        tree = _decode(meta["tree"], arrays, str(file))
        state, cfg = tree.get("model"), tree.get("config")
    else:
        state, cfg = arrays, meta.get("config")
    if not isinstance(cfg, dict) or "model" not in cfg or "dataset" not in cfg:
        raise CheckpointError(f"{file} does not record which model and data set it was trained "
                              "with (it was not written by `strided train`)")
    classes = cfg.get("classes") or [str(i) for i in range(cfg.get("num_classes", 10))]
    model = build_model(cfg, len(classes), int(cfg.get("in_channels", 1)))
    try:
        model.load_state_dict(state)
    except ValueError as exc:
        raise CheckpointError(f"{file}: the weights do not fit {cfg['model']}: {exc}") from None
    model.eval()
    return model, cfg, classes, file


# -- train --------------------------------------------------------------------------------

def _resume_path(args) -> Path | None:
    if args.resume is None:
        return None
    if args.resume == "auto":
        if args.out is None:
            raise CLIError("--resume needs the run to continue: give --resume PATH or --out FOLDER")
        p = Path(args.out)
    else:
        p = Path(args.resume)
    if p.is_dir():
        p = p / "checkpoint.safetensors"
    if not p.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {p}")
    return p


def _train_config(args) -> tuple[dict, Path | None]:
    """The options of this run: the defaults, or a resumed checkpoint's, with the ones
    given on the command line on top."""
    given = {k: v for k, v in vars(args).items() if k in _TRAIN_DEFAULTS and v is not None}
    resume = _resume_path(args)
    if resume is None:
        cfg = dict(_TRAIN_DEFAULTS)
        cfg.update(given)
        return cfg, None
    from .train.checkpoint import load_checkpoint
    saved = load_checkpoint(resume).get("config") or {}
    if "model" not in saved:
        raise CLIError(f"--resume: {resume} was not written by `strided train`")
    cfg = {k: saved.get(k, v) for k, v in _TRAIN_DEFAULTS.items()}
    conflicts = [f"--{k.replace('_', '-')} {v} (checkpoint: {cfg[k]})" for k, v in given.items()
                 if k not in _RESUMABLE_OVERRIDES and cfg[k] != v]
    if conflicts:
        raise CLIError("a resumed run keeps the options it started with; these differ: "
                       + ", ".join(conflicts) + " (only --epochs and --data-root may change)")
    if "epochs" in given and given["epochs"] != cfg["epochs"] and cfg["schedule"] in _PLANNED:
        raise CLIError(f"the {cfg['schedule']} schedule of this run was planned for "
                       f"{cfg['epochs']} epochs; resume it with --epochs {cfg['epochs']} (or "
                       "start a new run)")
    cfg.update({k: v for k, v in given.items() if k in _RESUMABLE_OVERRIDES})
    return cfg, resume


def _default_out(cfg: dict) -> Path:
    base = Path("runs") / f"{cfg['model']}-{_dataset_key(cfg['dataset'])}"
    out, n = base, 1
    while (out / "checkpoint.safetensors").exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def cmd_train(args, extra_callbacks: Sequence = ()) -> int:
    from . import manual_seed
    from .data import DataLoader, train_val_split
    from .train import Checkpoint, EarlyStopping, LearningCurves, Trainer

    cfg, resume = _train_config(args)
    for key in ("epochs", "batch_size"):
        if int(cfg[key]) < (0 if key == "epochs" else 1):
            raise CLIError(f"--{key.replace('_', '-')} must be positive, got {cfg[key]}")
    if not 0.0 <= float(cfg["val_split"]) < 1.0:
        raise CLIError(f"--val-split must be in [0, 1), got {cfg['val_split']}")
    if args.out is not None:
        out = Path(args.out)
    elif resume is not None:
        out = resume.parent
    else:
        out = _default_out(cfg)
    if resume is None and (out / "checkpoint.safetensors").exists():
        raise CLIError(f"{out} already holds a training run; continue it with --resume, or "
                       "choose another --out")

    seed = int(cfg["seed"])
    key = _dataset_key(cfg["dataset"])
    from .models.registry import input_shape_of
    input_shape_of(cfg["model"])  # an unknown model fails here, before the data is read
    train_full = load_dataset(key, True, args.data_root, args.download)
    test_full = load_dataset(key, False, args.data_root, args.download)
    classes = list(train_full.classes)
    in_channels, image_size = train_full.images.shape[1], train_full.images.shape[-1]
    cfg.update(dataset=key, classes=classes, num_classes=len(classes), in_channels=in_channels)

    train_ds = _subset(train_full, cfg["limit_train"], seed)
    val_ds = None
    if cfg["val_split"] > 0:
        train_ds, val_ds = train_val_split(train_ds, float(cfg["val_split"]), seed=seed)
    test_ds = _subset(test_full, cfg["limit_test"], seed)

    # the model's initial weights, and dropout without its own generator, come from here
    manual_seed(seed)
    model = build_model(cfg, len(classes), in_channels)
    optimizer = build_optimizer(cfg, model.parameters())
    prefetch = int(cfg["prefetch"])
    train_loader = DataLoader(train_ds, batch_size=int(cfg["batch_size"]), shuffle=True,
                              seed=seed, transform=train_transform(cfg, image_size),
                              prefetch=prefetch)
    eval_t = eval_transform(cfg)
    val_loader = (DataLoader(val_ds, batch_size=512, transform=eval_t, prefetch=prefetch)
                  if val_ds is not None else None)
    scheduler = build_scheduler(cfg, optimizer, len(train_loader))

    callbacks: list = []
    if cfg["patience"]:
        callbacks.append(EarlyStopping("val_loss" if val_loader else "train_loss",
                                       patience=int(cfg["patience"])))
    callbacks += [LearningCurves(out), Checkpoint(out), *extra_callbacks]
    tensorboard = None
    if cfg["tensorboard"] is not None:
        from .train import TensorBoard
        cfg["tensorboard"] = str(Path(cfg["tensorboard"] or out / "tb"))
        tensorboard = TensorBoard(cfg["tensorboard"], class_names=classes,
                                  close_on_train_end=False, hparams={
                                      **{k: v for k, v in cfg.items()
                                         if k not in ("tensorboard", "classes", "prefetch")},
                                      "lr": optimizer.param_groups[0]["lr"]})
        callbacks.append(tensorboard)
    top_k = (int(cfg["top_k"]),) if cfg["top_k"] and 1 < int(cfg["top_k"]) < len(classes) else ()
    trainer = Trainer(model, optimizer, scheduler=scheduler, callbacks=callbacks, top_k=top_k,
                      grad_clip=cfg["grad_clip"], progress=not (args.quiet or args.no_progress),
                      verbose=not args.quiet, config=cfg)

    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", cfg)
    n_train, n_val = len(train_ds), len(val_ds) if val_ds is not None else 0
    what = "resuming" if resume else "training"
    _say(args, f"{what} {cfg['model']} ({model.num_parameters():,} parameters) on {key}: "
               f"{n_train} training, {n_val} validation images; {cfg['epochs']} epochs, "
               f"batch {cfg['batch_size']}, {cfg['optimizer']} lr "
               f"{optimizer.param_groups[0]['lr']:g}; output in {out}")
    start = time.perf_counter()
    history = trainer.fit(train_loader, val_loader, epochs=int(cfg["epochs"]), resume=resume)

    test_loader = DataLoader(test_ds, batch_size=512, transform=eval_t)
    test = trainer.evaluate(test_loader, confusion=True, num_classes=len(classes))
    results = {"test_loss": test["loss"], "test_accuracy": test["accuracy"],
               **{f"test_{k}": v for k, v in test.items() if k.startswith("top")},
               "test_images": len(test_ds), "epochs": trainer.epoch,
               "steps": trainer.global_step, "seconds": time.perf_counter() - start,
               "per_class_accuracy": dict(zip(classes, test["per_class_accuracy"].tolist())),
               "confusion_matrix": test["confusion_matrix"].tolist()}
    if len(history):
        results["final"] = history.records[-1]
    if tensorboard is not None:
        tensorboard.add_results({k: v for k, v in results.items() if k.startswith("test_")
                                 and k != "test_images"})
        tensorboard.close()
    from .io import save_model
    save_model(out / "model.safetensors", model, {"config": cfg, "results": {
        k: v for k, v in results.items() if k not in ("confusion_matrix", "final")}})
    _write_json(out / "results.json", results)
    msg = (f"test accuracy {test['accuracy']:.4f} (loss {test['loss']:.4f}) on "
           f"{len(test_ds)} images after {trainer.epoch} epochs; saved {out / 'model.safetensors'}")
    print(msg, flush=True)
    return 0


# -- evaluate -----------------------------------------------------------------------------

def cmd_evaluate(args) -> int:
    from .data import DataLoader
    from .train import Trainer
    from .train.metrics import format_confusion

    model, cfg, classes, file = load_trained(args.checkpoint)
    test = _subset(load_dataset(cfg["dataset"], False, args.data_root, args.download),
                   args.limit, int(cfg.get("seed", 0)))
    loader = DataLoader(test, batch_size=args.batch_size, transform=eval_transform(cfg))
    top_k = (5,) if len(classes) > 5 else ()
    trainer = Trainer(model, None, progress=False, verbose=False)
    r = trainer.evaluate(loader, top_k=top_k, confusion=True, num_classes=len(classes))
    per_class = r["per_class_accuracy"]
    if args.json:
        print(json.dumps({"checkpoint": str(file), "test_images": len(test),
                          "test_loss": r["loss"], "test_accuracy": r["accuracy"],
                          **{f"test_{k}": v for k, v in r.items() if k.startswith("top")},
                          "per_class_accuracy": {c: (None if math.isnan(a) else a)
                                                 for c, a in zip(classes, per_class.tolist())},
                          "confusion_matrix": r["confusion_matrix"].tolist()}, indent=1))
        return 0
    print(f"{cfg['model']} from {file} on the {cfg['dataset']} test set ({len(test)} images)")
    line = f"test accuracy {r['accuracy']:.4f}   loss {r['loss']:.4f}"
    for k in top_k:
        line += f"   top-{k} {r[f'top{k}']:.4f}"
    print(line)
    print("\nper-class accuracy")
    width = max(len(c) for c in classes)
    for i, (c, a) in enumerate(zip(classes, per_class)):
        n = int(r["confusion_matrix"][i].sum())
        print(f"  {i:>2} {c.ljust(width)}  " + ("   -  " if math.isnan(a) else f"{a:.4f}")
              + f"  ({n} images)")
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    print(format_confusion(r["confusion_matrix"], classes))
    return 0


# -- summary ------------------------------------------------------------------------------

def cmd_summary(args) -> int:
    from .models.registry import describe_model, get_model, input_shape_of, list_models
    from .nn.summary import summary
    if args.list or args.model is None:
        for name in list_models():
            print(f"{name:22s} {' '.join(str(describe_model(name) or '').split())[:70]}")
        return 0
    shape = tuple(args.input_shape) if args.input_shape else input_shape_of(args.model)
    kwargs: dict = {"num_classes": args.num_classes} if args.num_classes else {}
    if len(shape) == 3:
        kwargs["in_channels"] = shape[0]
    try:
        model = get_model(args.model, **kwargs)
    except TypeError:
        kwargs.pop("in_channels", None)
        model = get_model(args.model, **kwargs)
    summary(model, shape, name=args.model)
    return 0


# -- predict ------------------------------------------------------------------------------

def _read_image(path: Path, in_channels: int, size: int) -> np.ndarray:
    """``(N, C, H, W)`` images from a ``.npy`` file (one image or a batch) or a picture
    file (via Pillow)."""
    if not path.exists():
        raise FileNotFoundError(f"no such image: {path}")
    if path.suffix.lower() == ".npy":
        a = np.load(path, allow_pickle=False)
        if a.ndim == 2:
            a = a[None, None]
        elif a.ndim == 3:
            if a.shape[0] == in_channels:
                a = a[None]
            elif a.shape[-1] == in_channels and in_channels > 1:
                a = a.transpose(2, 0, 1)[None]
            elif in_channels == 1:
                a = a[:, None]  # a batch of grey images (N, H, W)
            else:
                raise ValueError(f"{path}: cannot read shape {a.shape} as images with "
                                 f"{in_channels} channels")
        elif a.ndim != 4:
            raise ValueError(f"{path}: expected an image (H, W), (C, H, W) or a batch "
                             f"(N, C, H, W), got shape {a.shape}")
        if a.dtype.kind not in "uif":
            raise ValueError(f"{path}: expected numeric pixels, got dtype {a.dtype}")
        if a.shape[1] != in_channels or a.shape[-2:] != (size, size):
            raise ValueError(f"{path}: images of shape {a.shape[1:]} do not fit the model's "
                             f"input ({in_channels}, {size}, {size})")
        # floats are taken as already scaled to [0, 1], as ToFloat leaves them
        return a
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: reading {path.suffix or 'this'} files needs Pillow "
                         "(pip install pillow); .npy files always work") from None
    try:
        with Image.open(path) as img:
            img = img.convert("L" if in_channels == 1 else "RGB")
            if img.size != (size, size):
                img = img.resize((size, size))
            a = np.asarray(img, dtype=np.uint8)
    except OSError as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from None
    return a[None, None] if a.ndim == 2 else a.transpose(2, 0, 1)[None]


def cmd_predict(args) -> int:
    from .autograd import Tensor, no_grad
    model, cfg, classes, file = load_trained(args.checkpoint)
    transform = eval_transform(cfg)
    in_channels = int(cfg.get("in_channels", 1))
    size = {"cifar10": 32, "cifar100": 32}.get(cfg["dataset"], 28)
    k = max(1, min(args.top, len(classes)))
    results = []
    for name in args.images:
        x = _read_image(Path(name), in_channels, size)
        with no_grad():
            logits = model(Tensor(transform(x).astype(np.float32, copy=False))).data
        z = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        for j, p in enumerate(probs):
            top = np.argsort(-p, kind="stable")[:k]
            label = name if len(probs) == 1 else f"{name}[{j}]"
            results.append({"image": label, "top": [
                {"class": classes[c], "index": int(c), "probability": float(p[c])} for c in top]})
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        best = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"])
        print(f"{r['image']}: {best}")
    return 0


# -- the parser ---------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = argparse.ArgumentParser(
        prog="strided",
        description="strided: convolutional neural networks from first principles, on NumPy.",
        epilog="Run `strided COMMAND --help` for a command's options. "
               "STRIDED_DEBUG=1 shows tracebacks.")
    p.add_argument("--version", action="version", version=f"strided {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser("train", help="train a model (default: LeNet-5 on Fashion-MNIST)",
                       description="Train a model; checkpoints, learning curves and the final "
                       "weights go to --out. Defaults: LeNet-5 (modern) on Fashion-MNIST, "
                       "Adam lr 1e-3, batch 128, 10 epochs.")
    t.add_argument("--model", help="a registered model (see `strided summary --list`); default lenet5")
    t.add_argument("--dataset", help=f"one of {', '.join(DATASETS)}; default fashion-mnist")
    t.add_argument("--data-root", help="folder with the data set files (also searched: "
                   "$STRIDED_DATA, the user cache, /usr/share/datasets)")
    t.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="fetch the data set from its official mirror when it is not found "
                   "on disk (default: yes)")
    t.add_argument("--epochs", type=int, help="total epochs (default 10); with --resume, "
                   "training continues up to this many")
    t.add_argument("--batch-size", type=_positive_int, help="default 128")
    t.add_argument("--optimizer", choices=list(OPTIMIZERS), help="default adam")
    t.add_argument("--lr", type=float, help="learning rate (default: adam/adamw/rmsprop 1e-3, "
                   "sgd/nesterov 0.05, adagrad 1e-2)")
    t.add_argument("--momentum", type=float, help="for sgd/nesterov (default 0.9)")
    t.add_argument("--weight-decay", type=float, help="L2 penalty (AdamW: decoupled); default 0")
    t.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default "
                   "cosine: from --lr down to 0 over the run)")
    t.add_argument("--seed", type=int, help="seeds weights, shuffling, dropout and augmentation (default 0)")
    t.add_argument("--augment", choices=AUGMENTATIONS, help="training augmentation (default none)")
    t.add_argument("--val-split", type=float, help="fraction of the training set held out for "
                   "validation each epoch (default 0.1; 0 for none)")
    t.add_argument("--patience", type=_positive_int, help="early stopping: stop after this many "
                   "epochs without a better validation loss and keep the best weights")
    t.add_argument("--grad-clip", type=float, help="clip the gradient norm to this value")
    t.add_argument("--top-k", type=int, help="also report top-k accuracy (default 5)")
    t.add_argument("--limit-train", type=_positive_int, metavar="N",
                   help="train on a fixed random N images (quick runs, tests)")
    t.add_argument("--limit-test", type=_positive_int, metavar="N",
                   help="test on a fixed random N images")
    t.add_argument("--out", help="output folder (default runs/<model>-<dataset>, numbered if taken)")
    t.add_argument("--resume", nargs="?", const="auto", metavar="PATH",
                   help="continue an interrupted run from its checkpoint (a file or run folder; "
                   "without PATH, the one in --out)")
    t.add_argument("--tensorboard", nargs="?", const="", metavar="DIR",
                   help="also log for TensorBoard (scalars, histograms, images, hparams) to DIR "
                   "(default: the run's tb folder); view with `tensorboard --logdir DIR`")
    t.add_argument("--prefetch", type=int, help="batches prepared ahead in a thread (default 2)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (epoch lines only)")
    t.add_argument("--quiet", "-q", action="store_true", help="print only the final result")

    e = sub.add_parser("evaluate", help="test accuracy, per-class accuracy and confusion matrix",
                       description="Evaluate a trained model on its data set's test split.")
    e.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a run folder, its model.safetensors or checkpoint.safetensors")
    e.add_argument("--data-root", help="folder with the data set files")
    e.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="fetch the data set from its official mirror when it is not found "
                   "on disk (default: yes)")
    e.add_argument("--batch-size", type=_positive_int, default=512)
    e.add_argument("--limit", type=_positive_int, metavar="N", help="a fixed random N test images")
    e.add_argument("--json", action="store_true", help="print the results as JSON")

    s = sub.add_parser("summary", help="per-layer output shape, parameters and multiply-adds",
                       description="Print a model's layers: output shape, parameters, "
                       "activation memory and multiply-adds.")
    s.add_argument("model", nargs="?", metavar="MODEL", help="a registered model name")
    s.add_argument("--list", action="store_true", help="list the registered models")
    s.add_argument("--input-shape", type=_positive_int, nargs="+", metavar="D",
                   help="one example's shape, e.g. 3 32 32 (default: the model's usual input)")
    s.add_argument("--num-classes", type=_positive_int, help="size of the output layer")

    r = sub.add_parser("predict", help="top classes with probabilities for images",
                       description="Classify images with a trained model. Images are .npy "
                       "arrays (one image or a batch; uint8 pixels, or floats in [0, 1]) or, "
                       "with Pillow installed, PNG/JPEG files.")
    r.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a run folder, its model.safetensors or checkpoint.safetensors")
    r.add_argument("images", nargs="+", metavar="IMAGE")
    r.add_argument("--top", type=_positive_int, default=3, help="classes to show (default 3)")
    r.add_argument("--json", action="store_true", help="print the results as JSON")
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
    args = parser.parse_args(argv)
    debug = os.environ.get("STRIDED_DEBUG", "") not in ("", "0")
    try:
        if args.command == "train":
            return cmd_train(args, extra_callbacks)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "summary":
            return cmd_summary(args)
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
        print(f"strided {args.command}: interrupted", file=sys.stderr)
        return 130
    except CLIError as exc:
        if debug:
            raise
        print(f"strided {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, FloatingPointError, KeyError, ImportError) as exc:
        if debug:
            raise
        print(f"strided {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
