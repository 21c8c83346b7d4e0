"""`summary(model, input_shape)`: the per-layer table of the notes.

The notes walk through VGG-16 layer by layer:

    INPUT:     [224x224x3]   memory: 224*224*3=150K    params: 0
    CONV3-64:  [224x224x64]  memory: 224*224*64=3.2M   params: (3*3*3)*64 = 1,728
    ...
    FC:        [1x1x1000]    memory: 1000              params: 4096*1000 = 4,096,000

`summary` runs one forward pass on zeros (under `no_grad`, in eval mode, training flags
restored afterwards), records every leaf module's output through forward hooks, and prints
for each: the output shape, the parameter count, the activation memory (number of output
values) and the multiply-adds, with totals. It returns the rows as data (`Summary.rows`).

Counting conventions:
- Params include biases (the notes' table counts weights only: CONV3-64 has 1,728 weights
  and 64 biases, 1,792 here).
- Mult-adds: conv Cout·Ho·Wo·(Cin/groups)·kh·kw, transposed conv Cin·Hi·Wi·(Cout/groups)·
  kh·kw, linear in·out, each times the batch; other layers count 0 (as the notes do).
- Receptive field (rf), jump (effective stride) and start, in input pixels, for inputs
  with spatial axes; see `receptive_field.py`. Layers after a flatten see "all".
- With `compact=True` (default) parameter-free elementwise layers (ReLU, Dropout, ...)
  that read the previous row's output are folded into that row: they can run in place,
  so the notes neither list them nor count their memory. BatchNorm, having parameters,
  keeps its own row; a ReLU after a residual sum (which is no module) keeps its own too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
from numpy.typing import DTypeLike

from ..autograd import Tensor, no_grad
from .module import Module
from .receptive_field import ReceptiveField, ReceptiveFieldTracer

__all__ = ["LayerRow", "Summary", "summary"]

# Shape-preserving, parameter-free layers folded into the previous row with compact=True.
_INPLACE = {
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "SELU",
    "GELU",
    "SiLU",
    "Tanh",
    "Sigmoid",
    "Softplus",
    "Hardtanh",
    "Dropout",
    "Dropout2d",
    "AlphaDropout",
    "Identity",
    "PReLU",
}


@dataclass
class LayerRow:
    """One layer call: dotted module name, class, the notes' label (CONV3-64, POOL2,
    FC-4096), output shape (with batch), parameters, activation memory (number of output
    values) and multiply-adds. `folded` lists in-place layers merged into this row.
    `receptive_field` is a `ReceptiveField` (size, jump, start per spatial axis), `GLOBAL`
    after a flatten, or None (no spatial input, or an operation it cannot follow)."""

    name: str
    kind: str
    label: str
    output_shape: tuple
    params: int
    memory: int
    mult_adds: int
    folded: list = field(default_factory=list)
    receptive_field: Any = None


@dataclass
class Summary:
    """The table as data; `str(summary)` is the printed table."""

    model_name: str
    input_shape: tuple
    rows: list
    total_params: int
    trainable_params: int
    dtype: np.dtype

    @property
    def total_memory(self) -> int:
        """Activation values of one forward pass, the input included (as the notes do)."""
        return sum(r.memory for r in self.rows)

    @property
    def total_mult_adds(self) -> int:
        return sum(r.mult_adds for r in self.rows)

    @property
    def params_in_rows(self) -> int:
        return sum(r.params for r in self.rows)

    def __str__(self) -> str:
        return _format(self)


def _human(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{int(n)}"


def _notes_shape(shape: tuple) -> str:
    """(N, C, H, W) → "[HxWxC]" as the notes write it; (N, F) → "[1x1xF]"."""
    s = tuple(shape[1:])
    if len(s) == 3:
        return f"[{s[1]}x{s[2]}x{s[0]}]"
    if len(s) == 2:
        return f"[{s[1]}x{s[0]}]"
    if len(s) == 1:
        return f"[1x1x{s[0]}]"
    return "[" + "x".join(map(str, s)) + "]"


def _first_tensor(out: Any) -> Tensor | None:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _label(m: Module) -> str:
    kind = type(m).__name__
    if kind.startswith("ConvTranspose"):
        k = m.kernel_size
        return f"DECONV{k[0] if len(set(k)) == 1 else 'x'.join(map(str, k))}-{m.out_channels}"
    if kind.startswith("Conv"):
        k = m.kernel_size
        ks = k[0] if len(set(k)) == 1 else "x".join(map(str, k))
        return f"CONV{ks}-{m.out_channels}" + (f"/{m.stride[0]}" if max(m.stride) > 1 else "")
    if kind == "Linear":
        return f"FC-{m.out_features}"
    if "Unpool" in kind:
        return "UNPOOL"
    if "Pool" in kind:
        k = getattr(m, "kernel_size", None)
        if k is None:
            return kind.upper().replace("2D", "")
        k = k if isinstance(k, int) else k[0]
        return f"POOL{k}"
    if kind.startswith("BatchNorm"):
        return "BN"
    if kind == "LocalResponseNorm":
        return "NORM"
    return kind.upper()


def _mult_adds(m: Module, inputs: tuple, out: Tensor) -> int:
    kind = type(m).__name__
    if kind.startswith("ConvTranspose"):
        x = inputs[0]
        per_in = int(np.prod(m.kernel_size)) * (m.out_channels // m.groups)
        return int(np.prod(x.shape)) * per_in  # N·Cin·Hi·Wi · (Cout/g)·kh·kw
    if kind.startswith("Conv"):
        per_out = int(np.prod(m.kernel_size)) * (m.in_channels // m.groups)
        return int(np.prod(out.shape)) * per_out  # N·Cout·Ho·Wo · (Cin/g)·kh·kw
    if kind in ("Linear", "Bilinear"):
        return int(np.prod(out.shape)) * m.in_features
    return 0


def summary(
    model: Module,
    input_shape: Sequence[int],
    *,
    dtype: DTypeLike | None = None,
    compact: bool = True,
    file: TextIO | None = None,
    print_table: bool = True,
    name: str | None = None,
) -> Summary:
    """Print the per-layer table of `model` on an input of `input_shape` and return it.

    `input_shape` is (C, H, W) (or (F,) for an MLP) for one example, the notes' view, or a
    full shape with the batch first if its length is the model's input rank plus one; a
    shape without batch is run with batch 1. Nothing is trained and the model's mode is
    restored. `print_table=False` only returns the `Summary`.

    Parameters
    ----------
    dtype : dtype or None
        dtype of the dummy input (the default dtype when None).
    compact : bool
        Fold parameter-free elementwise layers (ReLU, Dropout, ...) into the row before them.
    file : file-like or None
        Where to print the table (sys.stdout when None).
    name : str or None
        Model name in the table's title (the model's class name when None).
    """
    from ..backend import get_default_dtype

    input_shape = tuple(int(s) for s in input_shape)
    if not input_shape or any(s <= 0 for s in input_shape):
        raise ValueError(f"summary: input_shape must be positive sizes, got {input_shape}")
    # a 1-D shape is (F,) for an MLP; 3-D is (C, H, W); 2-D is (C, L) for a Conv1d stack
    shape = (1,) + input_shape if len(input_shape) in (1, 2, 3) else input_shape
    dtype = np.dtype(dtype or get_default_dtype())

    spatial = len(shape) >= 3
    rows: list[LayerRow] = [
        LayerRow(
            "input",
            "Input",
            "INPUT",
            shape,
            0,
            int(np.prod(shape)),
            0,
            receptive_field=ReceptiveField.identity(len(shape) - 2) if spatial else None,
        )
    ]
    tracer = ReceptiveFieldTracer()
    seen: set[int] = set()
    last_output: list = [None]  # the tensor the latest row (or folded layer) produced
    names = {id(m): n for n, m in model.named_modules()}
    handles = []

    def hook(m: Module, inputs: tuple, out: Any) -> None:
        t = _first_tensor(out)
        if t is None:
            return None
        own = sum(p.data.size for p in m.parameters(recurse=False))
        params = 0 if id(m) in seen else own  # a module called twice counts its params once
        seen.add(id(m))
        kind = type(m).__name__
        x = _first_tensor(inputs)
        prev = last_output[0]
        # fold only when this layer reads the previous row's output (or a reshaped view of
        # it): relu(bn2(y) + shortcut) in a ResNet block reads the sum, which no row shows
        if (
            compact
            and kind in _INPLACE
            and own == 0
            and prev is not None
            and x is not None
            and x.data.size == prev.data.size
            and (x is prev or np.may_share_memory(x.data, prev.data))
        ):
            rows[-1].folded.append(kind)
        else:
            rows.append(
                LayerRow(
                    names.get(id(m), kind),
                    kind,
                    _label(m),
                    tuple(t.shape),
                    params,
                    int(t.data.size),
                    _mult_adds(m, inputs, t),
                    receptive_field=tracer.field_of(t),
                )
            )
        last_output[0] = t
        return None

    for _, m in model.named_modules():
        leaf = not any(True for _ in m.children())
        if leaf or any(True for _ in m.parameters(recurse=False)):
            handles.append(m.register_forward_hook(hook))
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        x = Tensor(np.zeros(shape, dtype=dtype), device=model.device)  # where the model is
        with no_grad(), tracer.watch(x):
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    total = sum(p.data.size for p in model.parameters())
    trainable = sum(p.data.size for p in model.parameters() if p.requires_grad)
    result = Summary(name or type(model).__name__, shape, rows, total, trainable, dtype)
    if print_table:
        print(str(result), file=file or sys.stdout)
    return result


def _format(s: Summary) -> str:
    head: tuple[str, ...] = ("layer", "type", "output", "params", "memory", "mult-adds")
    with_rf = any(r.receptive_field is not None for r in s.rows)
    if with_rf:
        head += ("rf", "jump", "start")
    body = []
    for r in s.rows:
        label = r.label + ("+" + "+".join(k.upper() for k in r.folded) if r.folded else "")
        cells: tuple[str, ...] = (
            r.name,
            label,
            _notes_shape(r.output_shape),
            f"{r.params:,}",
            f"{r.memory:,} ({_human(r.memory)})" if r.memory >= 1000 else f"{r.memory:,}",
            _human(r.mult_adds) if r.mult_adds else "0",
        )
        if with_rf:
            cells += (
                r.receptive_field.format() if r.receptive_field is not None else ("?", "?", "?")
            )
        body.append(cells)
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        left = [c.ljust(w) for c, w in zip(cells[:3], widths[:3], strict=True)]
        right = [c.rjust(w) for c, w in zip(cells[3:], widths[3:], strict=True)]
        return "  ".join(left + right)

    rule = "-" * len(line(head))
    n = s.input_shape[0]
    per = f"per forward of batch {n}" if n != 1 else "per image"
    out = [f"{s.model_name} on input {tuple(s.input_shape)}", rule, line(head), rule]
    out += [line(b) for b in body]
    out.append(rule)
    out.append(
        f"total params: {s.total_params:,} ({_human(s.total_params)}); "
        f"trainable: {s.trainable_params:,}"
    )
    if s.params_in_rows != s.total_params:
        out.append(
            f"  of which not used by this forward (e.g. training-only heads): "
            f"{s.total_params - s.params_in_rows:,}"
        )
    b = s.dtype.itemsize
    out.append(
        f"total memory: {s.total_memory:,} values × {b} bytes = "
        f"{s.total_memory * b / 2**20:.1f} MiB {per} (forward only)"
    )
    out.append(f"total mult-adds: {s.total_mult_adds:,} ({_human(s.total_mult_adds)}) {per}")
    out.append(f"params: {s.total_params * b / 2**20:.1f} MiB")
    return "\n".join(out)
