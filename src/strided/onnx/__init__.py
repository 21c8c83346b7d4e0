"""ONNX out and in: `export` writes a strided model as an ONNX graph that ONNX Runtime runs
without strided; `load` builds a strided Module from an ONNX file (one written by strided,
or by `torch.onnx.export`), its weights as Parameters, ready to inspect or fine-tune.

Needs the `onnx` package: ``pip install 'strided[onnx]'``.
"""

from __future__ import annotations

try:
    import onnx as _onnx  # noqa: F401  (only to fail early with the extra's name)
except ImportError as error:  # pragma: no cover - the extra is installed in the test env
    raise ImportError("strided.onnx needs the onnx package: pip install 'strided[onnx]'") from error

from .export import DEFAULT_OPSET, export
from .load import OnnxModule, load
from .run import ExportedRun, export_run

__all__ = ["export", "load", "OnnxModule", "DEFAULT_OPSET", "export_run", "ExportedRun"]
