"""Training logs that TensorBoard reads: ``SummaryWriter`` and the ``TensorBoard`` callback.

    trainer = Trainer(model, optimizer, callbacks=[TensorBoard("runs/lenet/tb")])
    trainer.fit(train_loader, val_loader, epochs=10)
    # then: tensorboard --logdir runs/lenet/tb

What a run writes (the step is always the optimiser step, ``trainer.global_step``, so
per-step and per-epoch curves share one x-axis):

=======================  ==========================================================
``batch/loss``           the mini-batch loss, every ``update_freq`` steps
``batch/lr``             the learning rate at that step
``batch/images_per_s``   throughput since the previous point
``loss/train`` ...       every metric of the epoch's ``History`` record: a column
                         ``SPLIT_NAME`` becomes the tag ``NAME/SPLIT`` (``loss/val``,
                         ``accuracy/val``, ``top5/val``), the others ``epoch/NAME``
                         (``epoch/lr``, ``epoch/images_per_s``, ``epoch/seconds``)
``weights/NAME``         a histogram of each parameter, every ``histogram_freq`` steps
``gradients/NAME``       a histogram of its gradient at the same steps
``filters/NAME``         the first convolution's kernels as a grid, every epoch
``predictions/images``   a few validation inputs, framed green (right) or red (wrong),
``predictions/classes``  and a text table of their true and predicted classes
hparams                  the hyper-parameters and the final metrics (HParams tab)
graph                    the model's operations, scoped by module (Graphs tab)
=======================  ==========================================================

The files are TensorBoard's own format, written with ``tensorboard``'s record writer
(TFRecord framing with masked CRC-32C) and its protocol buffers and plugin metadata; the
``tensorboard`` package is an optional extra (``pip install 'strided[tensorboard]'``).

A resumed run appends a new event file to the same folder, named to sort after the
existing ones, that starts with a restart marker at the first step it recomputes:
TensorBoard then drops what the interrupted run wrote from that step on (the steps after
its last checkpoint), so the curve continues without duplicated steps. The epoch's events
are flushed before the ``Checkpoint`` callback (which runs after this one) records it.
"""

from __future__ import annotations

import io
import math
import os
import re
import socket
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import host_array
from .callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["SummaryWriter", "TensorBoard", "tag_of", "writer_rank"]

_INSTALL = "pip install 'strided[tensorboard]'"

# environment variables through which MPI launchers tell a process its rank
_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK")


def _tb() -> SimpleNamespace:
    """The parts of the ``tensorboard`` package used here (one-line error if missing)."""
    try:
        from tensorboard.compat.proto import (
            attr_value_pb2,
            event_pb2,
            graph_pb2,
            node_def_pb2,
            summary_pb2,
            tensor_shape_pb2,
            versions_pb2,
        )
        from tensorboard.plugins.histogram import metadata as histogram_metadata
        from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
        from tensorboard.plugins.hparams import metadata as hparams_metadata
        from tensorboard.plugins.image import metadata as image_metadata
        from tensorboard.plugins.text import metadata as text_metadata
        from tensorboard.summary.writer.record_writer import RecordWriter
        from tensorboard.util import tensor_util
    except ImportError:
        raise ImportError(
            f"TensorBoard logging needs the tensorboard package: {_INSTALL}"
        ) from None
    return SimpleNamespace(
        event_pb2=event_pb2,
        summary_pb2=summary_pb2,
        api_pb2=api_pb2,
        plugin_data_pb2=plugin_data_pb2,
        hparams_metadata=hparams_metadata,
        histogram_metadata=histogram_metadata,
        image_metadata=image_metadata,
        text_metadata=text_metadata,
        RecordWriter=RecordWriter,
        tensor_util=tensor_util,
        graph_pb2=graph_pb2,
        node_def_pb2=node_def_pb2,
        attr_value_pb2=attr_value_pb2,
        tensor_shape_pb2=tensor_shape_pb2,
        versions_pb2=versions_pb2,
    )


def _png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) or (H, W) uint8 image (Pillow comes with tensorboard)."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"TensorBoard images need Pillow: {_INSTALL}") from None
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


_STAMP = re.compile(r"tfevents\.(\d+)\.")


def _next_stamp(log_dir: Path) -> int:
    """The time stamp for a new event file's name: now, but later than every file already
    in ``log_dir``. TensorBoard reads a folder's files in name order, so a restarted run
    must sort after the run it continues even within the same second."""
    stamps = [int(m.group(1)) for p in log_dir.iterdir() if (m := _STAMP.search(p.name))]
    return max([int(time.time())] + [s + 1 for s in stamps])


class SummaryWriter:
    """Write scalars, histograms, images, text and hyper-parameters to a new event file
    in ``log_dir``, as PyTorch's ``torch.utils.tensorboard.SummaryWriter`` does.

    Parameters
    ----------
    log_dir : str or PathLike
        The run's folder (created if missing); ``tensorboard --logdir`` shows it.
    purge_step : int, optional
        The first step this writer (re)writes after a restart: TensorBoard discards the
        events of earlier files in the folder at this step and later, so the curves of
        an interrupted run and its continuation join without duplicated steps.
    flush_secs : float
        Events reach the file at least this often (and on ``flush``/``close``).

    Notes
    -----
    Events are written synchronously to a buffered file; ``flush`` hands them to the
    operating system, so they survive the process being killed afterwards.
    """

    def __init__(
        self, log_dir: str | os.PathLike, purge_step: int | None = None, flush_secs: float = 10.0
    ):
        self._tb = _tb()
        if purge_step is not None and (isinstance(purge_step, bool) or purge_step < 0):
            raise ValueError(f"SummaryWriter: purge_step must be an int >= 0, got {purge_step!r}")
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        name = (
            f"events.out.tfevents.{_next_stamp(self.log_dir):010d}."
            f"{socket.gethostname()}.{os.getpid()}.strided"
        )
        self.path = self.log_dir / name
        self._file = open(self.path, "ab")
        self._records = self._tb.RecordWriter(self._file)
        self.flush_secs = float(flush_secs)
        self._last_flush = time.monotonic()
        self._kinds: dict[str, str] = {}  # tag -> what it holds
        Event = self._tb.event_pb2.Event
        self._write(Event(wall_time=time.time(), file_version="brain.Event:2"))
        if purge_step is not None:
            self._write(
                Event(
                    wall_time=time.time(),
                    step=int(purge_step),
                    session_log=self._tb.event_pb2.SessionLog(
                        status=self._tb.event_pb2.SessionLog.START
                    ),
                )
            )
        self.flush()

    # -- the file ---------------------------------------------------------------------
    def _write(self, event: Any) -> None:
        if self._file.closed:
            raise ValueError(f"SummaryWriter: {self.path} is closed")
        self._records.write(event.SerializeToString())
        if time.monotonic() - self._last_flush >= self.flush_secs:
            self.flush()

    def _summary(self, step: int, *values: Any, walltime: float | None = None) -> None:
        summary = self._tb.summary_pb2.Summary(value=list(values))
        self._write(
            self._tb.event_pb2.Event(
                wall_time=time.time() if walltime is None else walltime,
                step=int(step),
                summary=summary,
            )
        )

    def _metadata(self, tag: str, kind: str, make: Any = None) -> Any:
        """The plugin metadata for ``tag``'s first value (TensorBoard reads it from there);
        a tag holds one kind of data, or TensorBoard mixes them up."""
        known = self._kinds.get(tag)
        if known is None:
            self._kinds[tag] = kind
            return make() if make is not None else None
        if known != kind:
            raise ValueError(
                f"SummaryWriter: tag {tag!r} already holds {known}s, cannot add a {kind}"
            )
        return None

    def flush(self) -> None:
        """Hand everything written so far to the operating system."""
        if not self._file.closed:
            self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close the file; the writer cannot be used afterwards."""
        if not self._file.closed:
            self._file.flush()
            self._file.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- what can be written ----------------------------------------------------------
    def add_scalar(
        self, tag: str, scalar_value: float, global_step: int = 0, walltime: float | None = None
    ) -> None:
        """One point ``(global_step, scalar_value)`` of the curve ``tag``."""
        value = float(host_array(scalar_value))
        self._metadata(tag, "scalar")
        self._summary(
            global_step,
            self._tb.summary_pb2.Summary.Value(tag=tag, simple_value=value),
            walltime=walltime,
        )

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int = 0,
        bins: int = 30,
        walltime: float | None = None,
    ) -> bool:
        """The distribution of ``values`` (any array; non-finite entries are left out) in
        ``bins`` equal-width buckets; returns False (and writes nothing) when no finite
        value remains."""
        v = host_array(values).astype(np.float64, copy=False).ravel()
        v = v[np.isfinite(v)]
        if v.size == 0:
            return False
        counts, edges = np.histogram(v, bins=bins)
        # TensorBoard reads bucket i as (limit[i-1], limit[i]], the first from min
        histo = self._tb.summary_pb2.HistogramProto(
            min=float(v.min()),
            max=float(v.max()),
            num=float(v.size),
            sum=float(v.sum()),
            sum_squares=float(np.dot(v, v)),
            bucket_limit=edges[1:].tolist(),
            bucket=counts.astype(np.float64).tolist(),
        )
        meta = self._metadata(
            tag,
            "histogram",
            lambda: self._tb.histogram_metadata.create_summary_metadata(
                display_name=tag, description=""
            ),
        )
        self._summary(
            global_step,
            self._tb.summary_pb2.Summary.Value(tag=tag, histo=histo, metadata=meta),
            walltime=walltime,
        )
        return True

    def add_image(
        self,
        tag: str,
        img: Any,
        global_step: int = 0,
        dataformats: str = "CHW",
        walltime: float | None = None,
    ) -> None:
        """An image: floats in [0, 1] or uint8, laid out as ``dataformats`` ("CHW",
        "HWC" or "HW"; 1 or 3 channels)."""
        a = host_array(img)
        if dataformats not in ("CHW", "HWC", "HW") or a.ndim != len(dataformats):
            raise ValueError(
                f"SummaryWriter.add_image({tag!r}): an image of shape {a.shape} "
                f"does not match dataformats {dataformats!r} (CHW, HWC or HW)"
            )
        if dataformats == "CHW":
            a = a.transpose(1, 2, 0)
        elif dataformats == "HW":
            a = a[:, :, None]
        if a.shape[2] not in (1, 3):
            raise ValueError(
                f"SummaryWriter.add_image({tag!r}): expected 1 or 3 channels, "
                f"got shape {a.shape} as HWC"
            )
        if a.dtype != np.uint8:
            a = (np.clip(a.astype(np.float64), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        h, w, c = a.shape
        image = self._tb.summary_pb2.Summary.Image(
            height=h, width=w, colorspace=c, encoded_image_string=_png(a[:, :, 0] if c == 1 else a)
        )
        meta = self._metadata(
            tag,
            "image",
            lambda: self._tb.image_metadata.create_summary_metadata(
                display_name=tag, description=""
            ),
        )
        self._summary(
            global_step,
            self._tb.summary_pb2.Summary.Value(tag=tag, image=image, metadata=meta),
            walltime=walltime,
        )

    def add_text(
        self, tag: str, text_string: str, global_step: int = 0, walltime: float | None = None
    ) -> None:
        """Markdown text (tables included), shown in the Text tab."""
        tensor = self._tb.tensor_util.make_tensor_proto([text_string.encode("utf-8")], shape=[1])
        meta = self._metadata(
            tag,
            "text",
            lambda: self._tb.text_metadata.create_summary_metadata(
                display_name=tag, description=""
            ),
        )
        self._summary(
            global_step,
            self._tb.summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta),
            walltime=walltime,
        )

    def add_graph(self, model: Any, input_to_model: Any) -> None:
        """The model's computation graph on ``input_to_model`` (a batch, as the model takes
        it), traced by one forward pass in eval mode, for the Graphs tab."""
        from .tensorboard_graph import graph_def

        graph = graph_def(model, input_to_model, self._tb)
        self._write(
            self._tb.event_pb2.Event(wall_time=time.time(), graph_def=graph.SerializeToString())
        )

    # -- the hparams plugin -----------------------------------------------------------
    def _hparams(self, tag: str, **plugin_data: Any) -> None:
        tb = self._tb
        content = tb.plugin_data_pb2.HParamsPluginData(
            version=tb.hparams_metadata.PLUGIN_DATA_VERSION, **plugin_data
        )
        self._summary(
            0,
            tb.summary_pb2.Summary.Value(
                tag=tag,
                metadata=tb.hparams_metadata.create_summary_metadata(content),
                tensor=tb.hparams_metadata.NULL_TENSOR,
            ),
        )

    def add_hparams_start(self, hparams: Mapping[str, Any]) -> None:
        """Mark this run as a session of the HParams tab with these hyper-parameter values
        (numbers, strings, booleans; others are written as their ``str``)."""
        pb = self._tb.plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
        for name, value in _hparam_values(hparams).items():
            if isinstance(value, bool):
                pb.hparams[name].bool_value = value
            elif isinstance(value, (int, float)):
                pb.hparams[name].number_value = float(value)
            else:
                pb.hparams[name].string_value = value
        self._hparams(self._tb.hparams_metadata.SESSION_START_INFO_TAG, session_start_info=pb)

    def add_hparams_end(
        self, hparams: Mapping[str, Any], metric_tags: Iterable[str], status: str = "success"
    ) -> None:
        """End the session: its status ("success", "failure", "running", "unknown") and the
        experiment's columns, the hyper-parameters and the scalar tags whose last values
        are its final metrics."""
        tb = self._tb
        api = tb.api_pb2
        kinds = {bool: api.DATA_TYPE_BOOL, str: api.DATA_TYPE_STRING}
        experiment = api.Experiment(
            time_created_secs=time.time(),
            hparam_infos=[
                api.HParamInfo(name=k, type=kinds.get(type(v), api.DATA_TYPE_FLOAT64))
                for k, v in _hparam_values(hparams).items()
            ],
            metric_infos=[api.MetricInfo(name=api.MetricName(tag=t)) for t in metric_tags],
        )
        statuses = {
            "success": api.STATUS_SUCCESS,
            "failure": api.STATUS_FAILURE,
            "running": api.STATUS_RUNNING,
            "unknown": api.STATUS_UNKNOWN,
        }
        if status not in statuses:
            raise ValueError(
                f"SummaryWriter.add_hparams_end: status must be one of "
                f"{', '.join(statuses)}, got {status!r}"
            )
        self._hparams(tb.hparams_metadata.EXPERIMENT_TAG, experiment=experiment)
        self._hparams(
            tb.hparams_metadata.SESSION_END_INFO_TAG,
            session_end_info=tb.plugin_data_pb2.SessionEndInfo(
                status=statuses[status], end_time_secs=time.time()
            ),
        )


def _hparam_values(hparams: Mapping[str, Any]) -> dict[str, bool | float | str]:
    out: dict[str, bool | float | str] = {}
    for name, value in hparams.items():
        if value is None:
            continue
        if isinstance(value, np.generic):
            value = value.item()
        out[str(name)] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


# -- what the callback draws -----------------------------------------------------------


def tag_of(column: str) -> str:
    """The TensorBoard tag of a ``History`` column: ``SPLIT_NAME`` → ``NAME/SPLIT`` (so
    TensorBoard puts ``loss/train`` and ``loss/val`` side by side), others ``epoch/NAME``."""
    split, _, name = column.partition("_")
    if split in ("train", "val", "test") and name:
        return f"{name}/{split}"
    return f"epoch/{column}"


def _unit(a: np.ndarray) -> np.ndarray:
    """Each image of ``a`` (N, ...) scaled to [0, 1] by its own range."""
    lo = a.min(axis=tuple(range(1, a.ndim)), keepdims=True)
    hi = a.max(axis=tuple(range(1, a.ndim)), keepdims=True)
    return (a - lo) / np.where(hi > lo, hi - lo, 1.0)


def _grid(tiles: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """(N, h, w, 3) tiles → one (H, W, 3) image, ``columns`` tiles a row, white gaps."""
    n, h, w, c = tiles.shape
    rows = -(-n // columns)
    out = np.ones((rows * (h + gap) + gap, columns * (w + gap) + gap, c), tiles.dtype)
    for i, tile in enumerate(tiles):
        r, q = divmod(i, columns)
        out[
            gap + r * (h + gap) : gap + r * (h + gap) + h,
            gap + q * (w + gap) : gap + q * (w + gap) + w,
        ] = tile
    return out


def _enlarge(tiles: np.ndarray, at_least: int) -> np.ndarray:
    """Repeat pixels so that small tiles (5×5 kernels, 28×28 digits) are visible."""
    k = max(1, at_least // max(tiles.shape[1:3]))
    return tiles.repeat(k, axis=1).repeat(k, axis=2)


def filter_grid(weight: np.ndarray, max_filters: int = 64) -> np.ndarray:
    """An (H, W, 3) image of a convolution's kernels ``(out, in, kh, kw)``: one RGB tile per
    filter when it reads 3 channels, else one grey tile per (filter, input channel) pair,
    a row per filter; each tile scaled to its own range."""
    w = host_array(weight).astype(np.float64)
    if w.ndim != 4:
        raise ValueError(f"filter_grid: expected weights (out, in, kh, kw), got {w.shape}")
    w = w[:max_filters]
    out, cin = w.shape[:2]
    if cin == 3:
        tiles = _unit(w).transpose(0, 2, 3, 1)
        columns = math.ceil(math.sqrt(len(tiles)))
    else:
        cin = min(cin, 16)
        tiles = _unit(w[:, :cin].reshape(-1, *w.shape[2:]))[..., None].repeat(3, axis=3)
        columns = cin if cin > 1 else math.ceil(math.sqrt(out))
    return _grid(_enlarge(tiles, 24), columns)


def prediction_grid(images: np.ndarray, correct: np.ndarray, border: int = 2) -> np.ndarray:
    """An (H, W, 3) image of input images ``(N, C, H, W)`` (C = 1 or 3) in a row, each
    scaled to its own range and framed green when ``correct`` else red."""
    x = _unit(host_array(images).astype(np.float64))
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"prediction_grid: expected images (N, 1 or 3, H, W), got {x.shape}")
    x = _enlarge(x.transpose(0, 2, 3, 1).repeat(3 // x.shape[1], axis=3), 56)
    n, h, w, _ = x.shape
    framed = np.empty((n, h + 2 * border, w + 2 * border, 3))
    framed[:] = np.where(
        np.asarray(correct, bool)[:, None, None, None], [0.1, 0.7, 0.2], [0.85, 0.1, 0.1]
    )
    framed[:, border : border + h, border : border + w] = x
    return _grid(framed, min(n, 8), gap=2)


def writer_rank(trainer: Any = None, rank: int | None = None) -> int:
    """The rank whose process this is in a distributed run: ``rank`` when given, else
    ``trainer.rank`` (``strided.distributed.DistributedTrainer`` sets it), else the rank an
    MPI launcher put in the environment, else 0. Only rank 0 writes logs."""
    if rank is not None:
        return int(rank)
    if getattr(trainer, "rank", None) is not None:
        return int(trainer.rank)
    for name in _RANK_VARIABLES:
        if os.environ.get(name, "").strip().isdigit():
            return int(os.environ[name])
    return 0


class TensorBoard(Callback):
    """Log a training run for TensorBoard (``tensorboard --logdir LOG_DIR``).

    Parameters
    ----------
    log_dir : str or PathLike
        The run's folder. A resumed run (or a new one in the same folder) appends to it;
        TensorBoard shows one curve.
    update_freq : int or "epoch"
        Write the per-step scalars (``batch/loss``, ``batch/lr``, ``batch/images_per_s``)
        every this many optimiser steps; "epoch": only the per-epoch ones.
    histogram_freq : int
        Histograms of every parameter and its gradient every this many steps (and at
        the end of training); 0 for none.
    images : bool
        Every epoch, the first convolution's filters and the predictions on a few
        validation inputs (``num_images`` of them, or ``samples``).
    write_graph : bool
        At the start of a run (not of a resumed one), the model's computation graph,
        traced on the first of the shown inputs (``samples`` or the validation set).
    samples : (inputs, targets), optional
        The inputs to show with their predictions; default the first ``num_images`` of
        the validation loader's data set, through its (deterministic) transform.
    class_names : names of the classes, for the predictions table.
    hparams : dict, optional
        Hyper-parameters for the HParams tab; default the model and optimiser names, the
        learning rate and the trainer's ``config`` entries that are numbers or strings.
    rank : int, optional
        This process's rank in a distributed run; only rank 0 writes (see
        ``writer_rank`` for the default).
    close_on_train_end : bool
        End the HParams session and close the file when training ends. Set False to add
        results afterwards (``add_results``), then call ``close``.
    flush_secs : float
        How often events reach the file at the latest (they also do every epoch).
    """

    order = 40  # before Checkpoint (100): an epoch's events are on disk before its checkpoint

    def __init__(
        self,
        log_dir: str | os.PathLike,
        *,
        update_freq: int | str = 10,
        histogram_freq: int = 100,
        images: bool = True,
        num_images: int = 8,
        write_graph: bool = True,
        samples: tuple[Any, Any] | None = None,
        class_names: Iterable[str] | None = None,
        hparams: Mapping[str, Any] | None = None,
        rank: int | None = None,
        close_on_train_end: bool = True,
        flush_secs: float = 10.0,
    ):
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                f"TensorBoard: update_freq must be a positive int or 'epoch', got {update_freq!r}"
            )
        if (
            isinstance(histogram_freq, bool)
            or not isinstance(histogram_freq, int)
            or histogram_freq < 0
        ):
            raise ValueError(
                f"TensorBoard: histogram_freq must be an int >= 0, got {histogram_freq!r}"
            )
        if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 0:
            raise ValueError(f"TensorBoard: num_images must be an int >= 0, got {num_images!r}")
        _tb()  # a missing extra is reported now, not after the first epoch
        self.log_dir = Path(log_dir)
        self.update_freq, self.histogram_freq = update_freq, histogram_freq
        self.images, self.num_images = images, num_images
        self.write_graph = write_graph
        self.samples = samples
        self.class_names = list(class_names) if class_names is not None else None
        self.hparams = dict(hparams) if hparams is not None else None
        self.rank = rank
        self.close_on_train_end = close_on_train_end
        self.flush_secs = flush_secs
        self.writer: SummaryWriter | None = None
        self._session: dict[str, Any] = {}
        self._metric_tags: list[str] = []
        self._last_time = 0.0
        self._images_since = 0
        self._last_step = 0
        self._shown: tuple[np.ndarray, np.ndarray] | None = None  # inputs and their classes

    # -- helpers ----------------------------------------------------------------------
    def _default_hparams(self, trainer: Trainer) -> dict:
        group = trainer.optimizer.param_groups[0]
        h: dict[str, Any] = {
            "model": type(trainer.model).__name__,
            "optimizer": type(trainer.optimizer).__name__,
            "lr": group.get("initial_lr", group["lr"]),
        }
        batch_size = getattr(trainer.train_loader, "batch_size", None)
        if batch_size is not None:
            h["batch_size"] = batch_size
        h.update(
            {k: v for k, v in trainer.config.items() if isinstance(v, (bool, int, float, str))}
        )
        return h

    def _samples(self, trainer: Trainer) -> tuple[np.ndarray, np.ndarray] | None:
        if self.samples is not None:
            return host_array(self.samples[0]), host_array(self.samples[1])
        loader = trainer.val_loader
        dataset = getattr(loader, "dataset", None)
        if dataset is None or self.num_images == 0 or len(dataset) == 0:
            return None
        # read the data set directly: iterating the loader would move its epoch counter
        items = [dataset[i] for i in range(min(self.num_images, len(dataset)))]
        x = np.stack([np.asarray(it[0]) for it in items])
        y = np.asarray([it[1] for it in items])
        transform = getattr(loader, "transform", None)
        return (transform(x) if transform is not None else x), y

    @staticmethod
    def _log_histograms(writer: SummaryWriter, trainer: Trainer, step: int) -> None:
        for name, p in trainer.model.named_parameters():
            writer.add_histogram(f"weights/{name}", p.data, step)
            if p.grad is not None:
                writer.add_histogram(f"gradients/{name}", p.grad.data, step)

    def _log_images(self, writer: SummaryWriter, trainer: Trainer, step: int) -> None:
        for name, p in trainer.model.named_parameters():
            if p.ndim == 4:
                writer.add_image(f"filters/{name}", filter_grid(p.data), step, "HWC")
                break
        samples = self._shown if trainer.classification else None
        if samples is None or samples[0].ndim != 4 or samples[0].shape[1] not in (1, 3):
            return
        x, y = samples
        scores = trainer.predict(x)
        if scores.ndim != 2:
            return
        z = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        predicted = probs.argmax(axis=1)
        writer.add_image("predictions/images", prediction_grid(x, predicted == y), step, "HWC")
        names = self.class_names or []

        def label(c: int) -> str:
            return names[c] if c < len(names) else str(c)

        rows = ["| # | true | predicted | probability |", "|---|---|---|---|"]
        rows += [
            f"| {i} | {label(int(t))} | {label(int(p))} | {probs[i, p]:.3f} |"
            for i, (t, p) in enumerate(zip(y, predicted, strict=True))
        ]
        writer.add_text("predictions/classes", "\n".join(rows), step)

    # -- the hooks --------------------------------------------------------------------
    def on_train_begin(self, trainer: Trainer) -> None:
        """Open a new event file (rank 0 only) and start the HParams session."""
        if writer_rank(trainer, self.rank) != 0:
            return
        # steps up to global_step are covered by the checkpoint we continue from; anything
        # an interrupted run wrote after it is recomputed, so TensorBoard drops it
        self.writer = SummaryWriter(
            self.log_dir, purge_step=trainer.global_step + 1, flush_secs=self.flush_secs
        )
        self._session = self.hparams if self.hparams is not None else self._default_hparams(trainer)
        self.writer.add_hparams_start(self._session)
        self.writer.flush()
        self._shown = self._samples(trainer) if self.images or self.write_graph else None
        if self.write_graph and trainer.global_step == 0 and self._shown is not None:
            try:
                self.writer.add_graph(trainer.model, self._shown[0][:1])
            except Exception as exc:  # a picture is not worth stopping the training for
                warnings.warn(
                    f"TensorBoard: the graph of {type(trainer.model).__name__} could not be "
                    f"traced ({type(exc).__name__}: {exc}); training goes on without it",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Start the throughput clock."""
        self._last_time, self._images_since = time.perf_counter(), 0

    def on_batch_end(self, trainer: Trainer, logs: dict) -> None:
        """The per-step scalars and, every ``histogram_freq`` steps, the histograms."""
        if self.writer is None:
            return
        step = int(logs["step"])
        self._images_since += int(logs.get("batch_size", 0))
        if isinstance(self.update_freq, int) and step % self.update_freq == 0:
            now = time.perf_counter()
            self.writer.add_scalar("batch/loss", logs["loss"], step)
            self.writer.add_scalar("batch/lr", trainer.optimizer.param_groups[0]["lr"], step)
            if self._images_since and now > self._last_time:
                self.writer.add_scalar(
                    "batch/images_per_s", self._images_since / (now - self._last_time), step
                )
            self._last_time, self._images_since = now, 0
        if self.histogram_freq and step % self.histogram_freq == 0:
            self._log_histograms(self.writer, trainer, step)
        if any(
            (every := getattr(cb, "every_steps", None)) and step % every == 0
            for cb in trainer.callbacks
        ):
            # a checkpoint inside the epoch follows at this step: what it covers goes first
            self.writer.flush()

    def on_epoch_end(self, trainer: Trainer, logs: dict) -> None:
        """The epoch's History record as scalars, the images, and a flush."""
        if self.writer is None:
            return
        step = self._last_step = int(logs["step"])
        for column, value in logs.items():
            if column == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            tag = tag_of(column)
            self.writer.add_scalar(tag, value, step)
            if "/" in tag and not tag.startswith("epoch/") and tag not in self._metric_tags:
                self._metric_tags.append(tag)
        if self.images:
            self._log_images(self.writer, trainer, step)
        self.writer.flush()

    def on_train_end(self, trainer: Trainer) -> None:
        """The last histograms; close unless results are still to come."""
        if self.writer is None:
            return
        step = self._last_step = trainer.global_step
        if self.histogram_freq and step % self.histogram_freq != 0:
            self._log_histograms(self.writer, trainer, step)
        if self.close_on_train_end:
            self.close()
        else:
            self.writer.flush()

    def add_results(self, results: Mapping[str, float], step: int | None = None) -> None:
        """Scalars measured after training (e.g. ``{"test_accuracy": 0.91}``), tagged like
        the history's columns (``accuracy/test``) at the last step, and listed among the
        HParams tab's metrics. Call before ``close``."""
        if self.writer is None:
            return
        step = self._last_step if step is None else int(step)
        for column, value in results.items():
            tag = tag_of(column)
            self.writer.add_scalar(tag, value, step)
            if tag not in self._metric_tags:
                self._metric_tags.append(tag)

    def close(self, status: str = "success") -> None:
        """End the HParams session (with its final metrics) and close the file."""
        if self.writer is None:
            return
        self.writer.add_hparams_end(self._session, self._metric_tags, status)
        self.writer.close()
        self.writer = None
