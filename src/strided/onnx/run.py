"""Export a trained run folder (what `strided train` wrote) to ONNX."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.registry import dataset_info
from ..train.recipe import eval_transform, load_trained
from .export import DEFAULT_OPSET, export


@dataclass
class ExportedRun:
    """What `export_run` wrote, and what the ONNX model's input must be.

    Parameters
    ----------
    path : str
        The ONNX file written.
    model : str
        Name of the exported architecture.
    input_shape : tuple
        Shape of one example after preprocessing (without the batch dimension).
    mean : tuple
        Per-channel mean subtracted from the pixels before the model.
    std : tuple
        Per-channel standard deviation the pixels are divided by.
    classes : list
        Class names, in the order of the model's outputs.
    proto : onnx.ModelProto
        The exported model.
    """

    path: str
    model: str
    input_shape: tuple  # one example, after preprocessing
    mean: tuple
    std: tuple
    classes: list
    proto: Any


def export_run(
    run: str | os.PathLike, path: str | os.PathLike, opset: int = DEFAULT_OPSET
) -> ExportedRun:
    """Export the trained model of `run` (a run folder or its weights file) to `path`.

    The graph takes what the strided model takes: float32 images (batch first) scaled to
    [0, 1] and normalised with the data set's per-channel mean and std (returned), and
    returns the class scores (logits).

    Parameters
    ----------
    opset : int
        ONNX opset version to write (default 17).
    """
    model, cfg, classes, _ = load_trained(run)
    info = dataset_info(cfg["dataset"])
    example = eval_transform(cfg)(np.zeros((2,) + tuple(info.image_shape), np.uint8))
    proto = export(model, example, path, opset=opset)
    return ExportedRun(
        os.fspath(path),
        cfg["model"],
        tuple(example.shape[1:]),
        info.mean,
        info.std,
        list(classes),
        proto,
    )
