"""The training recipe behind ``strided train``: a config dict in, a trained run folder out.

The command line, the examples and Python code share it:

    from strided.train import recipe
    run = recipe.prepare_run({"model": "resnet20", "dataset": "cifar10", "epochs": 30},
                             out="runs/r20")
    run.trainer.fit(run.train_loader, run.val_loader, epochs=run.cfg["epochs"])
    results = recipe.finish_run(run)
    model, cfg, classes, file = recipe.load_trained("runs/r20")

A config holds the keys of ``DEFAULTS``. ``prepare_run`` builds everything from it —
data, transforms, model, optimiser, schedule, callbacks, Trainer — and writes
``config.json``; ``finish_run`` tests the model and writes ``model.safetensors`` and
``results.json``. A run folder holds (``RunFolder``): ``config.json`` (the options),
``checkpoint.safetensors`` (the whole training state, rewritten atomically after every
epoch), ``history.csv``/``history.json``/``curves.png`` (learning curves) and, at the end,
``model.safetensors`` (the final weights with the config and test results) and
``results.json``; with the ``tensorboard`` option, TensorBoard's event files in ``tb/``.

Resuming (``resume_config``): a resumed run keeps the options it started with; only those
in ``RESUMABLE`` may change, and a schedule planned over the whole run (``PLANNED``) keeps
its number of epochs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .text import plural

if TYPE_CHECKING:  # the run's pieces are imported when built, to keep `strided --help` quick
    from ..data.transforms import Compose
    from ..device import Device
    from ..nn.module import Module
    from ..optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
    from ..optim.optimizer import Optimizer, Params

__all__ = [
    "ConfigError",
    "DEFAULTS",
    "DEFAULT_LR",
    "SCHEDULES",
    "AUGMENTATIONS",
    "RESUMABLE",
    "PLANNED",
    "RunFolder",
    "Run",
    "dataset_key",
    "load_dataset",
    "subset",
    "eval_transform",
    "train_transform",
    "build_model",
    "build_optimizer",
    "build_scheduler",
    "read_config",
    "resume_checkpoint",
    "resume_config",
    "default_out",
    "prepare_run",
    "finish_run",
    "find_weights",
    "load_trained",
    "check_config",
    "training_device",
    "latest_unfinished_run",
    "folder_data",
    "test_set",
    "input_size",
    "plural",
]

PathLike = str | os.PathLike[str]

# the optimisers a config may name, with the learning rate each gets when none is given
DEFAULT_LR = {
    "adam": 1e-3,
    "adamw": 1e-3,
    "sgd": 0.05,
    "nesterov": 0.05,
    "rmsprop": 1e-3,
    "adagrad": 1e-2,
}
SCHEDULES = ("none", "step", "cosine", "exponential", "onecycle", "plateau")
AUGMENTATIONS = ("none", "flip", "crop", "crop+flip", "affine")

DEFAULTS: dict[str, Any] = {
    "model": "lenet5",
    "dataset": "fashion-mnist",
    "epochs": 10,
    "batch_size": 128,
    "optimizer": "adam",
    "lr": None,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "cosine",
    "seed": 0,
    "augment": "none",
    "limit_train": None,
    "limit_test": None,
    "val_split": 0.1,
    "patience": None,
    "top_k": 5,
    "prefetch": 2,
    "grad_clip": None,
    "tensorboard": None,
    "checkpoint_every": None,
    "data": None,
    "image_size": None,
    "test_split": 0.2,
    "grad_stats": None,
}

# Options a resumed run may change; every other option comes from the checkpoint.
RESUMABLE = {
    "epochs",
    "data_root",
    "download",
    "quiet",
    "no_progress",
    "prefetch",
    "limit_test",
    "tensorboard",
    "checkpoint_every",
    "grad_stats",
}

# Schedules laid out over the whole run: its length cannot change on resume.
PLANNED = {"step", "cosine", "onecycle"}


class ConfigError(ValueError):
    """A config that asks for something unknown or inconsistent (the command line reports
    it as a usage error, exit status 2)."""


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


# (key, test, what it must be): every option is checked before anything is loaded or run
_CHECKS = [
    ("epochs", lambda v: v >= 1, "a positive number of epochs"),
    ("batch_size", lambda v: v >= 1, "a positive int"),
    ("lr", lambda v: v > 0, "positive"),
    ("momentum", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("weight_decay", lambda v: v >= 0, "non-negative"),
    ("seed", lambda v: v >= 0, "a non-negative int"),
    ("val_split", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("test_split", lambda v: 0 < v < 1, "in (0, 1)"),
    ("patience", lambda v: v >= 1, "a positive int"),
    ("top_k", lambda v: v >= 1, "a positive int"),
    ("prefetch", lambda v: v >= 0, "a non-negative int"),
    ("grad_clip", lambda v: v > 0 and v != float("inf"), "a positive, finite norm"),
    ("checkpoint_every", lambda v: v >= 1, "a positive number of steps"),
    ("image_size", lambda v: v >= 1, "a positive number of pixels"),
    ("limit_train", lambda v: v >= 1, "a positive int"),
    ("limit_test", lambda v: v >= 1, "a positive int"),
]


def check_config(cfg: Mapping[str, Any]) -> None:
    """Every numeric option in range, or a ``ConfigError`` naming its flag (NaN fails
    every test, so it is refused too)."""
    for key, ok, what in _CHECKS:
        v = cfg.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not ok(v):
            raise ConfigError(f"{_flag(key)} must be {what}, got {v}")


@dataclass(frozen=True)
class RunFolder:
    """The files of one training run, by role."""

    path: Path

    @property
    def config(self) -> Path:
        """The options, as JSON."""
        return self.path / "config.json"

    @property
    def checkpoint(self) -> Path:
        """The whole training state, rewritten after every epoch."""
        return self.path / "checkpoint.safetensors"

    @property
    def model(self) -> Path:
        """The final weights, with the config and the test results."""
        return self.path / "model.safetensors"

    @property
    def results(self) -> Path:
        """The test results, as JSON."""
        return self.path / "results.json"


# -- data ---------------------------------------------------------------------------------


def dataset_key(name: str) -> str:
    """The registered data-set name for ``name`` (``ConfigError`` for an unknown one)."""
    from ..data.registry import dataset_key as key

    try:
        return key(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def load_dataset(
    name: str, train: bool, root: PathLike | None = None, download: bool = False
) -> Any:
    """The ``strided.data`` data set ``name`` (see ``strided.data.registry``); when it is
    not on disk the message says how to get it in ``strided train``'s own flags."""
    from ..data.registry import load_dataset as load

    try:
        return load(dataset_key(name), train, root, download)
    except FileNotFoundError as exc:
        text = (
            str(exc)
            .replace(
                "pass download=True (needs internet; saves to root/<name> or the user cache)",
                "run with --download (needs internet; saves to --data-root/<name> or the user "
                "cache)",
            )
            .replace("pass root=...", "pass --data-root FOLDER")
        )
        raise FileNotFoundError(text) from None


def subset(ds: Any, limit: int | None, seed: int) -> Any:
    """A fixed random ``limit`` samples of ``ds`` (all of them without a limit)."""
    from ..data import Subset

    if limit is None or limit >= len(ds):
        return ds
    if limit < 1:
        raise ConfigError(f"a limit must be a positive number of samples, got {limit}")
    order = np.random.default_rng([int(seed), 7]).permutation(len(ds))[:limit]
    return Subset(ds, np.sort(order))


class _Flatten:
    """Batch (N, C, H, W) → (N, C·H·W), for models that take vectors (the MLP)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], -1)

    def __repr__(self) -> str:
        return "Flatten()"


def _model_input_rank(model_name: str) -> int:
    from ..models.registry import input_shape_of

    try:
        return len(input_shape_of(model_name))
    except ValueError:
        return 3


def eval_transform(cfg: Mapping[str, Any]) -> Compose:
    """uint8 images → float32, normalised with the data set's statistics."""
    from ..data import transforms as T

    if cfg.get("data"):  # your own images: statistics of their training part, kept in cfg
        mean, std = cfg["mean"], cfg["std"]
    else:
        from ..data.registry import dataset_info

        info = dataset_info(dataset_key(cfg["dataset"]))
        mean, std = info.mean, info.std
    steps: list[Callable[[np.ndarray], np.ndarray]] = [T.ToFloat(), T.Normalize(mean, std)]
    if _model_input_rank(cfg["model"]) == 1:
        steps.append(_Flatten())
    return T.Compose(steps)


def train_transform(cfg: Mapping[str, Any], image_size: int) -> Compose:
    """Augmentation (on the uint8 images, where it is cheapest) then ``eval_transform``.

    One generator, seeded from the config's seed, draws for all augmentations; a
    checkpoint saves its state, so a resumed run augments the same way.
    """
    from ..data import transforms as T

    aug = cfg["augment"]
    if aug not in AUGMENTATIONS:
        raise ConfigError(f"unknown augmentation {aug!r}; choose from {', '.join(AUGMENTATIONS)}")
    rng = np.random.default_rng([int(cfg["seed"]), 1])
    steps: list = []
    if "crop" in aug:
        steps.append(T.RandomCrop(image_size, padding=max(2, image_size // 8), rng=rng))
    if "flip" in aug:
        steps.append(T.RandomHorizontalFlip(rng=rng))
    if aug == "affine":
        steps.append(T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), rng=rng))
    return T.Compose(steps + eval_transform(cfg).transforms)


# -- model, optimiser, schedule -----------------------------------------------------------


def build_model(cfg: Mapping[str, Any], num_classes: int, in_channels: int) -> Module:
    """The registered model ``cfg["model"]`` for this many classes and input channels
    (constructors without ``in_channels``, like the MLP's, get only ``num_classes``)."""
    from ..models.registry import get_model, takes_in_channels

    name = cfg["model"]
    if takes_in_channels(name):
        return get_model(name, num_classes=num_classes, in_channels=in_channels)
    return get_model(name, num_classes=num_classes)


def build_optimizer(cfg: Mapping[str, Any], params: Params) -> Optimizer:
    """The config's optimiser: its name, ``lr`` (default ``DEFAULT_LR``), weight decay
    (AdamW: 1e-2 when none is given) and, for SGD, momentum."""
    from .. import optim

    name = cfg["optimizer"]
    if name not in DEFAULT_LR:
        raise ConfigError(f"unknown optimizer {name!r}; choose from {', '.join(DEFAULT_LR)}")
    lr = cfg["lr"] if cfg["lr"] is not None else DEFAULT_LR[name]
    if not lr > 0:
        raise ConfigError(f"--lr must be positive, got {lr}")
    kwargs: dict[str, Any] = {"lr": lr, "weight_decay": cfg["weight_decay"]}
    if name == "adamw":
        kwargs["weight_decay"] = cfg["weight_decay"] or 1e-2
    if name in ("sgd", "nesterov"):
        kwargs["momentum"] = cfg["momentum"]
    return optim.create(name, params, **kwargs)


def build_scheduler(
    cfg: Mapping[str, Any], optimizer: Optimizer, steps_per_epoch: int
) -> LRScheduler | ReduceLROnPlateau | None:
    """The config's schedule laid out over its epochs (None for ``"none"``)."""
    from ..optim import lr_scheduler as S

    name, epochs = cfg["schedule"], int(cfg["epochs"])
    if name not in SCHEDULES:
        raise ConfigError(f"unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}")
    if name == "none":
        return None
    table: dict[str, dict[str, Any]] = {
        "step": {"step_size": max(1, epochs // 3), "gamma": 0.1},
        "cosine": {"T_max": max(1, epochs)},
        "exponential": {"gamma": 0.9},
        "onecycle": {
            "max_lr": optimizer.param_groups[0]["lr"],
            "epochs": max(1, epochs),
            "steps_per_epoch": max(1, steps_per_epoch),
        },
        "plateau": {"factor": 0.5, "patience": 2},
    }
    return S.create(name, optimizer, **table[name])


# -- options from a file -------------------------------------------------------------------

# Written into a run's config.json by prepare_run; a config file may carry them.
DERIVED = {"classes", "num_classes", "in_channels"}


def read_config(path: PathLike) -> dict:
    """The options of a JSON file (``strided train --config``): a search's
    ``best_config.json``, or a run's ``config.json``. Keys other than ``DEFAULTS`` (and
    the ``DERIVED`` ones a run writes) are refused."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--config: no such file: {p}")
    try:
        opts = json.loads(p.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config: {p} is not valid JSON ({exc})") from None
    if not isinstance(opts, dict):
        raise ConfigError(
            f"--config: {p} must hold a JSON object of train options, got {type(opts).__name__}"
        )
    unknown = sorted(set(opts) - set(DEFAULTS) - DERIVED)
    if unknown:
        raise ConfigError(
            f"--config: unknown option{'s' * (len(unknown) > 1)} "
            f"{', '.join(map(repr, unknown))} in {p}; known: "
            f"{', '.join(DEFAULTS)}"
        )
    return {k: v for k, v in opts.items() if k in DEFAULTS}


# -- resuming -----------------------------------------------------------------------------


def resume_checkpoint(resume: str | None, out: PathLike | None) -> Path | None:
    """The checkpoint file a run continues from: ``resume`` is a file or run folder, or
    ``"auto"`` for the run in ``out``; None for a new run."""
    if resume is None:
        return None
    if resume == "auto":
        p = Path(out) if out is not None else latest_unfinished_run()
    else:
        p = Path(resume)
    if p.is_dir():
        p = RunFolder(p).checkpoint
    if not p.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {p}")
    return p


def latest_unfinished_run(runs: PathLike = "runs") -> Path:
    """The run folder under ``runs`` whose checkpoint was written last among those that
    have not finished (no ``model.safetensors`` yet)."""
    found = (
        [
            f
            for f in Path(runs).glob("*/checkpoint.safetensors")
            if not (f.parent / "model.safetensors").exists()
        ]
        if Path(runs).is_dir()
        else []
    )
    if not found:
        raise ConfigError(
            f"--resume: no unfinished run in {runs}/ to continue; give "
            "--resume PATH (a run folder or checkpoint) or --out FOLDER"
        )
    return max(found, key=lambda f: f.stat().st_mtime).parent


def resume_config(given: Mapping[str, Any], resume: Path | None) -> dict:
    """The options of a run: ``DEFAULTS`` (or, resuming, the checkpoint's) with the
    ``given`` ones on top; a resumed run may change only the ``RESUMABLE`` options."""
    given = {k: v for k, v in given.items() if k in DEFAULTS and v is not None}
    if resume is None:
        return {**DEFAULTS, **given}
    from .checkpoint import load_checkpoint

    state = load_checkpoint(resume)
    saved = state.get("config") or {}
    if "model" not in saved:
        raise ConfigError(f"--resume: {resume} was not written by `strided train`")
    cfg = {k: saved.get(k, v) for k, v in DEFAULTS.items()}
    conflicts = [
        f"--{k.replace('_', '-')} {v} (checkpoint: {cfg[k]})"
        for k, v in given.items()
        if k not in RESUMABLE and cfg[k] != v
    ]
    if conflicts:
        raise ConfigError(
            "a resumed run keeps the options it started with; these differ: "
            + ", ".join(conflicts)
            + " (only --epochs and --data-root may change)"
        )
    if "epochs" in given and given["epochs"] != cfg["epochs"] and cfg["schedule"] in PLANNED:
        raise ConfigError(
            f"the {cfg['schedule']} schedule of this run was planned for "
            f"{cfg['epochs']} epochs; resume it with --epochs {cfg['epochs']} "
            "(or start a new run)"
        )
    cfg.update({k: v for k, v in given.items() if k in RESUMABLE})
    if "world_size" in saved:  # a data-parallel run resumes on as many processes
        cfg["world_size"] = saved["world_size"]
    for k in ("mean", "std", "classes", "num_classes", "in_channels"):
        if k in saved:  # what the first run learnt from its data (your own images' stats)
            cfg[k] = saved[k]
    done = int(state.get("epoch", 0))
    if (done >= int(cfg["epochs"]) and not state.get("batch_in_epoch")) or state.get(
        "stop_training"
    ):
        why = (
            "early stopping ended it"
            if state.get("stop_training")
            else f"it has trained all its {plural(done, 'epoch')}"
        )
        more = "" if cfg["schedule"] in PLANNED else "; to train longer, give --epochs N"
        raise ConfigError(f"{resume.parent} has already finished ({why}): nothing to resume{more}")
    return cfg


def default_out(cfg: Mapping[str, Any]) -> Path:
    """``runs/<model>-<dataset>``, numbered (``-2``, ``-3``, ...) past folders that already
    hold a run."""
    name = Path(cfg["data"]).name if cfg.get("data") else dataset_key(cfg["dataset"])
    base = Path("runs") / f"{cfg['model']}-{name}"
    out, n = base, 1
    while RunFolder(out).checkpoint.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


# -- a whole run --------------------------------------------------------------------------


class Placement:
    """Where a run's work happens: one process here. A data-parallel run passes
    `strided.distributed.MPIPlacement`, which overrides each step."""

    world_size = 1
    is_writer = True  # writes the run folder, checkpoints and curves, and prints

    def agree(self, path: Path) -> Path:
        """The run folder every process uses (here: the one chosen)."""
        return path

    def wrap(self, model: Any) -> Any:
        """The model as trained (here: itself)."""
        return model

    def loader(
        self, dataset: Any, batch_size: int, shuffle: bool, seed: int, transform: Any, prefetch: int
    ) -> Any:
        """This process's loader over `dataset`; `batch_size` is the global batch."""
        from ..data import DataLoader

        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed if shuffle else None,
            transform=transform,
            prefetch=prefetch,
        )

    def trainer(self, *args: Any, **kwargs: Any) -> Any:
        """The Trainer of the run."""
        from .trainer import Trainer

        return Trainer(*args, **kwargs)


@dataclass
class Run:
    """Everything a training run is made of, built from its config by ``prepare_run``."""

    cfg: dict
    folder: RunFolder
    resume: Path | None
    classes: list
    model: Any
    optimizer: Any
    scheduler: Any
    trainer: Any
    train_loader: Any
    val_loader: Any
    test_set: Any
    tensorboard: Any = None
    notes: list = field(default_factory=list)  # things the user should hear about
    grad_stats: Any = None
    started: float = field(default_factory=time.perf_counter)
    placement: Placement = field(default_factory=Placement)

    @property
    def num_train(self) -> int:
        """Training images per epoch."""
        return len(self.train_loader.dataset)

    @property
    def num_val(self) -> int:
        """Validation images (0 without a validation split)."""
        return len(self.val_loader.dataset) if self.val_loader is not None else 0


def _write_json(path: Path, obj: Any) -> None:
    from ..io import atomic_write_text, to_jsonable

    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=1) + "\n")


def training_device(name: str | None) -> Device:
    """The device `strided train --device NAME` trains on ("cpu", "cuda", "cuda:1"), or a
    ConfigError that says what is missing (CuPy, a GPU) in one line.

    Parameters
    ----------
    name : str or None
        The device's name; None for the CPU.
    """
    from ..device import device as as_device

    try:
        where = as_device(name or "cpu")
    except ValueError as exc:
        raise ConfigError(f"--device {name}: {exc}") from None
    if where.type != "cpu":
        try:
            where.backend.module()
        except RuntimeError as exc:  # no CuPy: the message names the extra to install
            raise ConfigError(f"--device {name}: {exc}") from None
        count = where.backend.device_count()
        if (where.index or 0) >= count:
            raise ConfigError(
                f"--device {name}: {count} {where.type} device{'s' * (count != 1)} visible here"
            )
    return where


def prepare_run(
    options: Mapping[str, Any],
    out: PathLike | None = None,
    resume: str | None = None,
    data_root: PathLike | None = None,
    download: bool = True,
    progress: bool = True,
    verbose: bool = True,
    extra_callbacks: Sequence = (),
    placement: Placement | None = None,
    device: str | None = None,
) -> Run:
    """Build a training run from ``options`` (keys of ``DEFAULTS``; missing ones take the
    defaults) and write its ``config.json``.

    Parameters
    ----------
    options : mapping
        The run's options; None values count as not given.
    out : path, optional
        The run folder (default: the resumed checkpoint's folder, or ``default_out``).
    resume : str, optional
        A checkpoint file or run folder to continue, or ``"auto"`` for the one in ``out``.
    data_root, download
        Where the data set's files are, and whether to fetch them when missing.
    progress, verbose
        The Trainer's progress bar and per-epoch lines.
    extra_callbacks : sequence
        More callbacks for the Trainer, after the run's own.
    placement : Placement, optional
        Where the work happens (default: this process alone; see
        ``strided.distributed.MPIPlacement`` for data-parallel runs).
    device : str, optional
        Where the model trains ("cpu", "cuda", "cuda:1"; default the CPU). Not part of
        the config: a run may be resumed on another device.
    """
    from .. import manual_seed
    from ..data import train_val_split
    from ..models.registry import input_shape_of
    from .callbacks import Checkpoint, EarlyStopping, LearningCurves

    place = placement or Placement()
    where = training_device(device)
    if where.type != "cpu" and place.world_size > 1:
        raise ConfigError(
            f"--device {device}: data-parallel runs (--distributed) train on the CPU only"
        )

    if out is not None and not str(out).strip():
        raise ConfigError("--out must name a folder, got ''")
    checkpoint = resume_checkpoint(resume, out)
    cfg = resume_config(options, checkpoint)
    check_config(cfg)
    if cfg.get("data") and not Path(cfg["data"]).is_dir():
        raise ConfigError(
            f"--data: {cfg['data']} is not a folder (expected one sub-folder of images per class)"
        )
    if out is not None:
        folder = RunFolder(Path(out))
    elif checkpoint is not None:
        folder = RunFolder(checkpoint.parent)
    else:
        folder = RunFolder(default_out(cfg))
    folder = RunFolder(place.agree(folder.path))
    if checkpoint is not None and int(cfg.get("world_size", 1)) != place.world_size:
        raise ConfigError(
            f"{checkpoint} was trained on {cfg.get('world_size', 1)} "
            f"process(es); resume it on as many (this run has "
            f"{place.world_size})"
        )
    if place.world_size > 1:
        if int(cfg["batch_size"]) % place.world_size:
            raise ConfigError(
                f"--batch-size {cfg['batch_size']} (the global batch) must be a "
                f"multiple of the {place.world_size} processes"
            )
        cfg["world_size"] = place.world_size
    if checkpoint is None and folder.checkpoint.exists():
        raise ConfigError(
            f"{folder.path} already holds a training run; continue it with "
            "--resume, or choose another --out"
        )

    seed = int(cfg["seed"])
    input_shape_of(cfg["model"])  # an unknown model fails here, before the data is read
    notes: list[str] = []
    if cfg.get("data"):
        train_full, test_full = folder_data(cfg)
        classes = list(train_full.classes)
        mean, std = _folder_stats(cfg, train_full)
        cfg.update(
            dataset="folder",
            data=str(Path(cfg["data"]).resolve()),
            mean=mean,
            std=std,
            image_size=int(train_full.arrays[0].shape[-1]),
        )
        notes.append(
            f"data: {len(classes)} classes from {cfg['data']}, {len(train_full)} "
            f"training and {len(test_full)} test images of "
            f"{tuple(train_full.arrays[0].shape[1:])}, normalised with mean "
            f"{_rounded(mean)} and std {_rounded(std)} of the training images"
        )
    else:
        key = dataset_key(cfg["dataset"])
        train_full = load_dataset(key, True, data_root, download)
        test_full = load_dataset(key, False, data_root, download)
        classes = list(train_full.classes)
        cfg["dataset"] = key
        source = Path(getattr(train_full, "source", "") or ".")
        if data_root is not None and Path(data_root).resolve() not in (
            source.resolve(),
            *source.resolve().parents,
        ):
            notes.append(
                f"note: --data-root {data_root} holds no {key} files; using the ones "
                f"found in {source}"
            )
    in_channels, image_size = train_full.arrays[0].shape[1], train_full.arrays[0].shape[-1]
    cfg.update(classes=classes, num_classes=len(classes), in_channels=in_channels)
    if options.get("top_k") is not None and int(cfg["top_k"]) > len(classes):
        raise ConfigError(
            f"--top-k {cfg['top_k']} is more than the {len(classes)} classes of {cfg['dataset']}"
        )

    train_ds = subset(train_full, cfg["limit_train"], seed)
    val_ds = None
    if cfg["val_split"] > 0:
        train_ds, val_ds = train_val_split(train_ds, float(cfg["val_split"]), seed=seed)
    test_ds = subset(test_full, cfg["limit_test"], seed)

    # the model's initial weights, and dropout without its own generator, come from here
    manual_seed(seed)
    model = place.wrap(build_model(cfg, len(classes), in_channels))
    optimizer = build_optimizer(cfg, model.parameters())
    prefetch = int(cfg["prefetch"])
    train_loader = place.loader(
        train_ds, int(cfg["batch_size"]), True, seed, train_transform(cfg, image_size), prefetch
    )
    val_loader = (
        place.loader(val_ds, 512, False, seed, eval_transform(cfg), prefetch)
        if val_ds is not None
        else None
    )
    scheduler = build_scheduler(cfg, optimizer, len(train_loader))

    callbacks: list = []
    if cfg["patience"]:
        callbacks.append(
            EarlyStopping("val_loss" if val_loader else "train_loss", patience=int(cfg["patience"]))
        )
    if place.is_writer:
        callbacks += [
            LearningCurves(folder.path),
            Checkpoint(folder.path, every_steps=cfg["checkpoint_every"]),
        ]
    callbacks += list(extra_callbacks)
    tensorboard = None
    if cfg["tensorboard"] is not None and place.is_writer:
        from ..train import TensorBoard

        cfg["tensorboard"] = str(Path(cfg["tensorboard"] or folder.path / "tb"))
        tensorboard = TensorBoard(
            cfg["tensorboard"],
            class_names=classes,
            close_on_train_end=False,
            hparams={
                **{k: v for k, v in cfg.items() if k not in ("tensorboard", "classes", "prefetch")},
                "lr": optimizer.param_groups[0]["lr"],
            },
        )
        callbacks.append(tensorboard)
    grad_stats = None
    if cfg["grad_stats"] and place.is_writer:  # every rank holds the averaged gradients
        from .gradient_stats import GradientStats

        grad_stats = GradientStats(folder.path, every=int(cfg["grad_stats"]))
        callbacks.append(grad_stats)
    top_k = (int(cfg["top_k"]),) if cfg["top_k"] and 1 < int(cfg["top_k"]) < len(classes) else ()
    trainer = place.trainer(
        model,
        optimizer,
        scheduler=scheduler,
        callbacks=callbacks,
        top_k=top_k,
        grad_clip=cfg["grad_clip"],
        progress=progress,
        verbose=verbose,
        config=cfg,
        device=where,
    )

    if place.is_writer:
        folder.path.mkdir(parents=True, exist_ok=True)
        _write_json(folder.config, cfg)
    return Run(
        cfg,
        folder,
        checkpoint,
        classes,
        model,
        optimizer,
        scheduler,
        trainer,
        train_loader,
        val_loader,
        test_ds,
        tensorboard,
        notes,
        grad_stats=grad_stats,
        placement=place,
    )


def _rounded(values: Iterable[float]) -> tuple:
    return tuple(round(float(v), 4) for v in values)


def folder_data(cfg: Mapping[str, Any]) -> tuple[Any, Any]:
    """(train, test) of your own images (``cfg["data"]``, one sub-folder per class): an
    ``ImageFolder`` resized to ``cfg["image_size"]`` (default: its most common size), with
    ``cfg["test_split"]`` of each class held out for testing (the same for the same seed)."""
    from ..data import ImageFolder

    size = cfg.get("image_size")
    ds = ImageFolder(cfg["data"], size=int(size) if size else None, channels=cfg.get("in_channels"))
    if len(ds.classes) < 2:
        raise ConfigError(
            f"--data: {cfg['data']} has {len(ds.classes)} class folder; a "
            "classifier needs at least two"
        )
    train, test = ds.split(float(cfg["test_split"]), seed=int(cfg["seed"]))
    return train, test


def _folder_stats(cfg: Mapping[str, Any], train: Any) -> tuple:
    """The per-channel mean and std of the training images (kept from the first run when
    resuming, so the normalisation never changes under a model)."""
    from ..data import ImageFolder

    if cfg.get("mean") and cfg.get("std"):
        return tuple(cfg["mean"]), tuple(cfg["std"])
    return ImageFolder.channel_stats(train.arrays[0])


def test_set(
    cfg: Mapping[str, Any], data_root: PathLike | None = None, download: bool = False
) -> Any:
    """The test split a trained run is evaluated on (a registered data set's, or the part
    of your own images it held out)."""
    if cfg.get("data"):
        return folder_data(cfg)[1]
    return load_dataset(cfg["dataset"], False, data_root, download)


def input_size(cfg: Mapping[str, Any]) -> int:
    """The height (= width) of the images a trained run takes."""
    if cfg.get("data"):
        return int(cfg["image_size"])
    from ..data.registry import dataset_info

    return dataset_info(dataset_key(cfg["dataset"])).image_size


def finish_run(run: Run) -> dict:
    """Test the trained model once; write ``model.safetensors`` (weights, config and test
    results) and ``results.json``; return the results."""
    from ..io import save_model

    trainer, classes, place = run.trainer, run.classes, run.placement
    test_loader = place.loader(
        run.test_set, 512, False, int(run.cfg["seed"]), eval_transform(run.cfg), 0
    )
    test = trainer.evaluate(test_loader, confusion=True, num_classes=len(classes))
    results = {
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
        **{f"test_{k}": v for k, v in test.items() if k.startswith("top")},
        "test_images": len(run.test_set),
        "device": str(trainer.device),
        "epochs": trainer.epoch,
        "steps": trainer.global_step,
        "seconds": time.perf_counter() - run.started,
        "per_class_accuracy": dict(zip(classes, test["per_class_accuracy"].tolist(), strict=False)),
        "confusion_matrix": test["confusion_matrix"].tolist(),
    }
    if len(trainer.history):
        results["final"] = trainer.history.records[-1]
    if run.tensorboard is not None:
        run.tensorboard.add_results(
            {k: v for k, v in results.items() if k.startswith("test_") and k != "test_images"}
        )
        run.tensorboard.close()
    if place.is_writer:
        save_model(
            run.folder.model,
            run.model,
            {
                "config": run.cfg,
                "results": {
                    k: v for k, v in results.items() if k not in ("confusion_matrix", "final")
                },
            },
        )
        _write_json(run.folder.results, results)
    return results


# -- reading a trained run back -----------------------------------------------------------


def find_weights(path: PathLike) -> Path:
    """The weights file of a run folder (``model.safetensors``, else the checkpoint), or
    ``path`` itself when it is a file."""
    p = Path(path)
    if p.is_dir():
        for f in (RunFolder(p).model, RunFolder(p).checkpoint):
            if f.is_file():
                return f
        raise FileNotFoundError(f"{p} holds neither model.safetensors nor checkpoint.safetensors")
    if not p.exists():
        raise FileNotFoundError(f"no such checkpoint: {p}")
    return p


def load_trained(path: PathLike) -> tuple[Module, dict[str, Any], list[str], Path]:
    """``(model, config, classes, file)`` from a run folder, a ``model.safetensors`` or a
    training checkpoint; the model in eval mode."""
    from ..io import CheckpointError, read_model_file

    file = find_weights(path)
    state, meta = read_model_file(file)
    cfg = meta.get("config")
    if not isinstance(cfg, dict) or "model" not in cfg or "dataset" not in cfg:
        raise CheckpointError(
            f"{file} does not record which model and data set it was trained "
            "with (it was not written by `strided train`)"
        )
    classes = cfg.get("classes") or [str(i) for i in range(cfg.get("num_classes", 10))]
    model = build_model(cfg, len(classes), int(cfg.get("in_channels", 1)))
    try:
        model.load_state_dict(state)
    except ValueError as exc:
        raise CheckpointError(f"{file}: the weights do not fit {cfg['model']}: {exc}") from None
    model.eval()
    return model, cfg, classes, file
