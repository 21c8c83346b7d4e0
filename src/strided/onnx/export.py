"""Export a strided model to ONNX by tracing its forward pass.

The model runs once, in eval mode, on an example input while `autograd.tracing` records every
operation (a `Function` with its inputs, parameters and output). Each recorded operation that
the graph's outputs depend on becomes one or a few ONNX nodes; parameters and buffers become
initializers under their `state_dict` names; operations on weights alone (a flipped kernel,
a transposed matrix) are folded into initializers. The file is checked by `onnx.checker`
and written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import onnx
from onnx import helper, numpy_helper

from ..autograd import Tensor
from ..io import atomic_write_bytes
from ..kernels.im2col import conv_output_size
from ..nn.module import Module
from ..nn.trace import Call, trace

DEFAULT_OPSET = 17
MIN_OPSET, MAX_OPSET = 13, 21


@dataclass
class _Graph:
    """The ONNX graph under construction: names of traced values, nodes, initializers."""

    opset: int
    batch: int | None  # the example's batch size when the batch axis is dynamic
    names: dict = field(default_factory=dict)  # id(Tensor or ndarray) -> value name
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    taken: set = field(default_factory=set)
    keep_alive: list = field(default_factory=list)  # ids stay unique while we hold these
    pool_indices: list = field(default_factory=list)  # (MaxPool call, its indices' name)

    def fresh(self, hint: str) -> str:
        hint = hint or "v"
        name, k = hint, 1
        while name in self.taken:
            name, k = f"{hint}_{k}", k + 1
        self.taken.add(name)
        return name

    def const(self, array: Any, hint: str = "const", dtype: Any = None) -> str:
        """A new initializer holding `array`."""
        array = np.asarray(array, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, values: Any, hint: str = "shape") -> str:
        return self.const(np.asarray(values, dtype=np.int64), hint)

    def node(
        self, op: str, inputs: list, outputs: int | list = 1, hint: str = "", **attrs: Any
    ) -> Any:
        """Append a node; returns its output name (or names, when `outputs` is a list or
        a count above one)."""
        if isinstance(outputs, int):
            names = [self.fresh(hint or op.lower()) for _ in range(outputs)]
        else:
            names = list(outputs)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(
            helper.make_node(op, inputs, names, name=self.fresh(f"{op}_node"), **attrs)
        )
        return names[0] if len(names) == 1 and isinstance(outputs, int) else names

    def shape_with(self, x: str, tail: list) -> str:
        """The int64 shape [x.shape[0], x.shape[1], *tail], computed in the graph so that the
        batch axis stays dynamic."""
        head = self.node("Slice", [self.node("Shape", [x]), self.ints([0]), self.ints([2])])
        return self.node("Concat", [head, self.ints(tail)], axis=0)


class ExportError(ValueError):
    """An operation or argument that has no ONNX form here."""


def _pads(pads: Any) -> list:
    """((top, bottom), (left, right)) → ONNX's [top, left, bottom, right]."""
    return [int(p[0]) for p in pads] + [int(p[1]) for p in pads]


def _last(values: Any, one_d: bool) -> list:
    values = [int(v) for v in values]
    return values[-1:] if one_d else values


def _input(g: _Graph, call: Call, i: int) -> str:
    return _value_name(g, call.inputs[i], f"{call.op.lower()}_in")


def _value_name(g: _Graph, value: Any, hint: str) -> str:
    """The graph name of a traced value; constants (arrays, scalars, untraced tensors) become
    initializers the first time they are used."""
    if value is None:
        return ""
    key = id(value)
    if key in g.names:
        return g.names[key]
    data = value.data if isinstance(value, Tensor) else value
    if isinstance(value, Tensor) and id(data) in g.names:
        return g.names[id(data)]
    g.keep_alive.append(value)
    name = g.const(np.asarray(data), hint)
    g.names[key] = name
    return name


# ---------------------------------------------------------------------------------------
# One converter per Function: (graph, call) -> output name(s)
# ---------------------------------------------------------------------------------------


def _conv(g: _Graph, c: Call) -> str:
    p = c.params
    one_d = bool(p.get("one_d", False))
    pads = p["pads"][-1:] if one_d else p["pads"]
    inputs = [_input(g, c, 0), _input(g, c, 1)]
    if c.inputs[2] is not None:
        inputs.append(_input(g, c, 2))
    return g.node(
        "Conv",
        inputs,
        strides=_last(p["stride"], one_d),
        pads=_pads(pads),
        dilations=_last(p["dilation"], one_d),
        group=int(p["groups"]),
    )


def _conv_transpose(g: _Graph, c: Call) -> str:
    p = c.params
    one_d = bool(p.get("one_d", False))
    x, w = c.inputs[0], c.inputs[1]
    n_sp = 1 if one_d else 2
    size_in = tuple(x.shape[-n_sp:])
    kernel = tuple(w.shape[-n_sp:])
    stride, dilation = _last(p["stride"], one_d), _last(p["dilation"], one_d)
    pads = p["pads"][-n_sp:]
    out = _last(p["out_hw"], one_d)
    # output = (in − 1)·s − (lo + hi) + d·(k − 1) + 1 + output_padding
    extra = [
        o - ((i - 1) * s - (lo + hi) + d * (k - 1) + 1)
        for o, i, s, (lo, hi), d, k in zip(
            out, size_in, stride, pads, dilation, kernel, strict=True
        )
    ]
    inputs = [_input(g, c, 0), _input(g, c, 1)]
    if c.inputs[2] is not None:
        inputs.append(_input(g, c, 2))
    return g.node(
        "ConvTranspose",
        inputs,
        strides=stride,
        pads=_pads(pads),
        dilations=dilation,
        group=int(p["groups"]),
        output_padding=extra if any(extra) else None,
    )


def _ceil_mode(geo: Any) -> int:
    floor = tuple(
        conv_output_size(n, k, s, p, p, d, False)
        for n, k, s, p, d in zip(
            geo.hw, geo.kernel, geo.stride, geo.padding, geo.dilation, strict=True
        )
    )
    return int(tuple(geo.out) != floor)


def _pool_attrs(geo: Any, one_d: bool) -> dict:
    pads = [(p, p) for p in geo.padding]
    return dict(
        kernel_shape=_last(geo.kernel, one_d),
        strides=_last(geo.stride, one_d),
        pads=_pads(pads[-1:] if one_d else pads),
        ceil_mode=_ceil_mode(geo),
    )


def _max_pool(g: _Graph, c: Call) -> Any:
    geo, one_d = c.params["geo"], bool(c.params.get("one_d", False))
    attrs = _pool_attrs(geo, one_d)
    dilation = _last(geo.dilation, one_d)
    if any(d != 1 for d in dilation):
        attrs["dilations"] = dilation
    wants_indices = c.params.get("with_arg", False) or len(c.outputs) > 1
    if not wants_indices:
        return g.node("MaxPool", [_input(g, c, 0)], **attrs)
    y, idx = g.node("MaxPool", [_input(g, c, 0)], [g.fresh("maxpool"), g.fresh("indices")], **attrs)
    g.pool_indices.append((c, idx))
    return [y, idx] if len(c.outputs) > 1 else y


def _avg_pool(g: _Graph, c: Call) -> str:
    from ..kernels.pool import avg_divisor

    geo, one_d = c.params["geo"], bool(c.params.get("one_d", False))
    divisor = np.asarray(c.params["divisor"])
    dtype = c.inputs[0].dtype
    include = avg_divisor(geo, True, None, dtype)
    exclude = avg_divisor(geo, False, None, dtype)
    if np.array_equal(
        np.broadcast_to(divisor, np.broadcast_shapes(divisor.shape, np.shape(include))),
        np.broadcast_to(include, np.broadcast_shapes(divisor.shape, np.shape(include))),
    ):
        count_include_pad = 1
    elif np.array_equal(
        np.broadcast_to(divisor, np.broadcast_shapes(divisor.shape, np.shape(exclude))),
        np.broadcast_to(exclude, np.broadcast_shapes(divisor.shape, np.shape(exclude))),
    ):
        count_include_pad = 0
    else:
        raise ExportError("avg_pool2d with divisor_override has no ONNX AveragePool form")
    return g.node(
        "AveragePool",
        [_input(g, c, 0)],
        count_include_pad=count_include_pad,
        **_pool_attrs(geo, one_d),
    )


def _adaptive_avg(g: _Graph, c: Call) -> str:
    x = c.inputs[0]
    mats = [c.params[k] for k in ("ah", "aw") if k in c.params]
    size_in = tuple(x.shape[-len(mats) :])
    size_out = tuple(m.shape[0] for m in mats)
    if all(o == 1 for o in size_out):
        return g.node("GlobalAveragePool", [_input(g, c, 0)])
    if all(i % o == 0 for i, o in zip(size_in, size_out, strict=True)):
        kernel = [i // o for i, o in zip(size_in, size_out, strict=True)]
        return g.node("AveragePool", [_input(g, c, 0)], kernel_shape=kernel, strides=kernel)
    raise ExportError(
        f"adaptive average pooling from {size_in} to {size_out} (sizes that do "
        "not divide) has no ONNX form"
    )


def _max_unpool(g: _Graph, c: Call) -> str:
    x = _input(g, c, 0)
    idx, pool = _pool_indices_for(g, c)
    hw = [int(v) for v in c.params["hw"]]
    one_d = bool(pool.params.get("one_d", False))
    attrs = _pool_attrs(pool.params["geo"], one_d)
    attrs.pop("ceil_mode")
    # output_shape fixes the size (the pool's input), whatever the window arithmetic gives
    return g.node("MaxUnpool", [x, idx, g.shape_with(x, hw[-1:] if one_d else hw)], **attrs)


def _pool_indices_for(g: _Graph, c: Call) -> tuple[str, Call]:
    """The ONNX name of the MaxPool indices this max_unpool consumes, and that pool.

    strided's indices are per plane (h·W + w) and ONNX's per tensor, so the graph must take
    them from the MaxPool node itself; the pool is found by the indices' values."""
    indices = np.asarray(c.inputs[1].data if len(c.inputs) > 1 else c.params["indices"])
    for pool, name in g.pool_indices:
        if len(pool.outputs) > 1:  # the pool returned its indices (a non-differentiable output)
            flat = pool.outputs[1].data
            if flat.size == indices.size and np.array_equal(flat.reshape(indices.shape), indices):
                return name, pool
    raise ExportError(
        "max_unpool2d: its indices do not come from a max_pool2d of this "
        "model, so they have no ONNX form"
    )


def _batch_norm(g: _Graph, c: Call) -> str:
    p = c.params
    if p.get("use_batch_stats"):
        raise ExportError(
            "batch_norm with batch statistics (training mode) cannot be "
            "exported; the model is put in eval mode, so a functional call "
            "passes training=True"
        )
    x = c.inputs[0]
    C = x.shape[1]
    dtype = x.dtype
    scale = _input(g, c, 1) if c.inputs[1] is not None else g.const(np.ones(C, dtype), "bn_one")
    bias = _input(g, c, 2) if c.inputs[2] is not None else g.const(np.zeros(C, dtype), "bn_zero")
    mean = _value_name(g, p["running_mean"], "running_mean")
    var = _value_name(g, p["running_var"], "running_var")
    return g.node(
        "BatchNormalization", [_input(g, c, 0), scale, bias, mean, var], epsilon=float(p["eps"])
    )


def _layer_norm(g: _Graph, c: Call) -> str:
    x, axes = c.inputs[0], tuple(int(a) % c.inputs[0].ndim for a in c.params["axes"])
    first = min(axes)
    if axes != tuple(range(first, x.ndim)):
        raise ExportError(
            f"layer_norm over axes {axes} (not the trailing axes) has no ONNX "
            "LayerNormalization form"
        )
    shape = x.shape[first:]
    w = _input(g, c, 1) if c.inputs[1] is not None else g.const(np.ones(shape, x.dtype), "ln")
    b = _input(g, c, 2) if c.inputs[2] is not None else g.const(np.zeros(shape, x.dtype), "ln")
    return g.node(
        "LayerNormalization", [_input(g, c, 0), w, b], axis=first, epsilon=float(c.params["eps"])
    )


def _lrn(g: _Graph, c: Call) -> str:
    p = c.params
    if int(p["size"]) % 2 == 0:  # ONNX centres an even window one channel later than torch
        raise ExportError(
            f"local_response_norm with an even size ({p['size']}) places its "
            "window differently from ONNX's LRN"
        )
    return g.node(
        "LRN",
        [_input(g, c, 0)],
        size=int(p["size"]),
        alpha=float(p["alpha"]),
        beta=float(p["beta"]),
        bias=float(p["k"]),
    )


def _gelu(g: _Graph, c: Call) -> str:
    x = _input(g, c, 0)
    approximate = c.params.get("approximate", "none")
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approximate)
    dtype = c.inputs[0].dtype
    half, one = g.const(np.asarray(0.5, dtype), "half"), g.const(np.asarray(1.0, dtype), "one")
    if approximate == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(np.asarray(0.044715, dtype))])])
        core = g.node(
            "Tanh", [g.node("Mul", [inner, g.const(np.asarray(np.sqrt(2 / np.pi), dtype))])]
        )
    else:  # ½x(1 + erf(x/√2))
        core = g.node("Erf", [g.node("Div", [x, g.const(np.asarray(np.sqrt(2.0), dtype))])])
    return g.node("Mul", [g.node("Mul", [x, half]), g.node("Add", [core, one])])


def _softplus(g: _Graph, c: Call) -> str:
    if float(c.params.get("beta", 1.0)) != 1.0:
        raise ExportError(f"softplus with beta={c.params['beta']} has no ONNX Softplus form")
    return g.node("Softplus", [_input(g, c, 0)])


def _linear(g: _Graph, c: Call) -> str:
    x, w = c.inputs[0], c.inputs[1]
    has_bias = len(c.inputs) > 2 and c.inputs[2] is not None
    if x.ndim == 2:
        inputs = [_input(g, c, 0), _input(g, c, 1)] + ([_input(g, c, 2)] if has_bias else [])
        return g.node("Gemm", inputs, transB=1)
    wt = g.const(np.asarray(w.data if isinstance(w, Tensor) else w).T, "weight_t")
    y = g.node("MatMul", [_input(g, c, 0), wt])
    return g.node("Add", [y, _input(g, c, 2)]) if has_bias else y


def _reshape(g: _Graph, c: Call) -> str:
    shape = [int(v) for v in c.params["shape"]]
    x = c.inputs[0]
    if g.batch is not None and shape and x.ndim and x.shape[0] == g.batch and shape[0] == g.batch:
        shape[0] = 0  # ONNX: copy this axis from the input — the batch stays dynamic
    return g.node("Reshape", [_input(g, c, 0), g.ints(shape)])


def _get_item(g: _Graph, c: Call) -> str:
    x, index = c.inputs[0], c.params["index"]
    if not isinstance(index, tuple):
        index = (index,)
    if any(i is None or isinstance(i, np.ndarray) for i in index):
        raise ExportError("indexing with None or arrays has no ONNX Slice form")
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (x.ndim - len(index) + 1) + index[at + 1 :]
    starts, ends, axes, steps, squeeze = [], [], [], [], []
    for axis, i in enumerate(index):
        if isinstance(i, (int, np.integer)):
            i = int(i) % x.shape[axis]
            starts.append(i)
            ends.append(i + 1)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif i != slice(None):
            start, stop, step = i.indices(x.shape[axis])
            if step < 0 and stop < 0:
                stop = -(2**62)  # "before the first element" for a reversed slice
            starts.append(start)
            ends.append(stop)
            axes.append(axis)
            steps.append(step)
    y = _input(g, c, 0)
    if axes:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        y = g.node("Squeeze", [y, g.ints(squeeze)])
    return y if (axes or squeeze) else g.node("Identity", [y])


def _pad(g: _Graph, c: Call) -> str:
    x, pairs, mode = c.inputs[0], list(c.params["pads"]), c.params["mode"]
    pairs = [(0, 0)] * (x.ndim - len(pairs)) + pairs
    onnx_mode = {
        "constant": "constant",
        "reflect": "reflect",
        "replicate": "edge",
        "circular": "wrap",
    }[mode]
    if onnx_mode == "wrap" and g.opset < 19:
        raise ExportError("circular padding needs opset 19 or later")
    inputs = [_input(g, c, 0), g.ints([p[0] for p in pairs] + [p[1] for p in pairs])]
    if mode == "constant":
        inputs.append(
            g.const(np.asarray(c.params.get("value", 0.0), x.dtype).reshape(()), "pad_value")
        )
    return g.node("Pad", inputs, mode=onnx_mode)


def _upsample_nearest(g: _Graph, c: Call) -> str:
    x = _input(g, c, 0)
    src = c.params["src"]
    size = [len(s) for s in src]
    # y[i] = x[⌊i·H/Ho⌋]: ONNX's asymmetric coordinates with floor rounding
    if any(
        not np.array_equal(s, (np.arange(o) * n) // o)
        for s, o, n in zip(src, size, c.inputs[0].shape[2:], strict=True)
    ):
        raise ExportError(
            "onnx.export: only interpolate(mode='nearest') by a size, or by a "
            "scale that gives in·scale outputs, maps to ONNX Resize"
        )
    return g.node(
        "Resize",
        [x, "", "", g.shape_with(x, size)],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )


def _upsample_zeros(g: _Graph, c: Call) -> str:
    x = c.inputs[0]
    sh, sw = (int(s) for s in c.params["scale"])
    C = x.shape[1]
    # bed of nails = a depthwise transposed convolution with a 1×1 kernel of ones
    ones = g.const(np.ones((C, 1, 1, 1), x.dtype), "nails")
    return g.node(
        "ConvTranspose",
        [_input(g, c, 0), ones],
        strides=[sh, sw],
        group=C,
        output_padding=[sh - 1, sw - 1] if (sh > 1 or sw > 1) else None,
    )


def _reduce(onnx_op: str) -> Callable:
    def convert(g: _Graph, c: Call) -> str:
        x = c.inputs[0]
        axes = c.params.get("axes")
        axes = (
            list(range(x.ndim)) if axes is None else [int(a) % x.ndim for a in np.atleast_1d(axes)]
        )
        keep = int(bool(c.params.get("keepdims", False)))
        if onnx_op == "ReduceSum" or g.opset >= 18:
            return g.node(onnx_op, [_input(g, c, 0), g.ints(axes)], keepdims=keep)
        return g.node(onnx_op, [_input(g, c, 0)], axes=axes, keepdims=keep)

    return convert


def _simple(onnx_op: str, **fixed: Any) -> Callable:
    def convert(g: _Graph, c: Call) -> str:
        return g.node(onnx_op, [_input(g, c, i) for i in range(len(c.inputs))], **fixed)

    return convert


def _with(onnx_op: str, **renames: str) -> Callable:
    """A node whose attributes are the call's params under other names (onnx ← strided)."""

    def convert(g: _Graph, c: Call) -> str:
        attrs: dict[str, Any] = {
            k: (float(c.params[v]) if isinstance(c.params[v], float) else c.params[v])
            for k, v in renames.items()
        }
        return g.node(onnx_op, [_input(g, c, 0)], **attrs)

    return convert


def _cat(g: _Graph, c: Call) -> str:
    return g.node(
        "Concat", [_input(g, c, i) for i in range(len(c.inputs))], axis=int(c.params["axis"])
    )


def _stack(g: _Graph, c: Call) -> str:
    axis = int(c.params["axis"])
    parts = [g.node("Unsqueeze", [_input(g, c, i), g.ints([axis])]) for i in range(len(c.inputs))]
    return g.node("Concat", parts, axis=axis)


def _permute(g: _Graph, c: Call) -> str:
    return g.node("Transpose", [_input(g, c, 0)], perm=[int(d) for d in c.params["dims"]])


def _broadcast(g: _Graph, c: Call) -> str:
    shape = [int(v) for v in c.params["shape"]]
    x = c.inputs[0]
    if g.batch is not None and shape and x.ndim == len(shape) and x.shape[0] == shape[0]:
        shape[0] = 1  # Expand broadcasts both ways: 1 keeps the input's (dynamic) batch
    return g.node("Expand", [_input(g, c, 0), g.ints(shape)])


def _clip(g: _Graph, c: Call) -> str:
    dtype = c.inputs[0].dtype
    bounds = [
        g.const(np.asarray(c.params[k], dtype), k) if c.params.get(k) is not None else ""
        for k in ("lo", "hi")
    ]
    return g.node("Clip", [_input(g, c, 0)] + bounds)


def _cast(g: _Graph, c: Call) -> str:
    to = helper.np_dtype_to_tensor_dtype(np.dtype(c.params["dtype"]))
    return g.node("Cast", [_input(g, c, 0)], to=to)


def _squeeze_1d(g: _Graph, c: Call) -> str:
    return g.node("Squeeze", [_input(g, c, 0), g.ints([2])])


CONVERTERS: dict[str, Callable[[_Graph, Call], Any]] = {
    "Conv2d": _conv,
    "ConvTranspose2d": _conv_transpose,
    "MaxPool2d": _max_pool,
    "AvgPool2d": _avg_pool,
    "AdaptiveAvgPool2d": _adaptive_avg,
    "AdaptiveAvgPool1d": _adaptive_avg,
    "MaxUnpool2d": _max_unpool,
    "_Squeeze1d": _squeeze_1d,
    "BatchNorm": _batch_norm,
    "LayerNorm": _layer_norm,
    "LocalResponseNorm": _lrn,
    "ReLU": _simple("Relu"),
    "Sigmoid": _simple("Sigmoid"),
    "Tanh": _simple("Tanh"),
    "LeakyReLU": _with("LeakyRelu", alpha="slope"),
    "ELU": _with("Elu", alpha="alpha"),
    "GELU": _gelu,
    "Softplus": _softplus,
    "Softmax": _with("Softmax", axis="axis"),
    "LogSoftmax": _with("LogSoftmax", axis="axis"),
    "Linear": _linear,
    "MatMul": _simple("MatMul"),
    "Add": _simple("Add"),
    "Sub": _simple("Sub"),
    "Mul": _simple("Mul"),
    "Div": _simple("Div"),
    "Neg": _simple("Neg"),
    "Pow": _simple("Pow"),
    "Exp": _simple("Exp"),
    "Log": _simple("Log"),
    "Sqrt": _simple("Sqrt"),
    "Abs": _simple("Abs"),
    "Sin": _simple("Sin"),
    "Cos": _simple("Cos"),
    "Maximum": _simple("Max"),
    "Minimum": _simple("Min"),
    "Where": _simple("Where"),
    "Clone": _simple("Identity"),
    "Clip": _clip,
    "Cast": _cast,
    "Cat": _cat,
    "Stack": _stack,
    "Reshape": _reshape,
    "Permute": _permute,
    "BroadcastTo": _broadcast,
    "GetItem": _get_item,
    "Pad": _pad,
    "UpsampleNearest": _upsample_nearest,
    "UpsampleZeros": _upsample_zeros,
    "Sum": _reduce("ReduceSum"),
    "Mean": _reduce("ReduceMean"),
    "Max": _reduce("ReduceMax"),
    "Min": _reduce("ReduceMin"),
}


# ---------------------------------------------------------------------------------------
# Tracing and export
# ---------------------------------------------------------------------------------------


def _outputs_of(result: Any, where: str) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)) and result and all(isinstance(t, Tensor) for t in result):
        return list(result)
    raise ExportError(
        f"{where}: the model must return a Tensor or a tuple of Tensors, "
        f"got {type(result).__name__}"
    )


def _value_info(name: str, array_like: Any, batch_dim: str | None) -> Any:
    shape: list[Any] = list(array_like.shape)
    if batch_dim is not None and shape:
        shape[0] = batch_dim
    return helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(np.dtype(array_like.dtype)), shape
    )


def export(
    model: Module,
    example_input: Any,
    path: str | os.PathLike | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
    input_names: tuple[str, ...] | None = None,
    output_names: tuple[str, ...] | None = None,
) -> onnx.ModelProto:
    """Write `model` as an ONNX graph, traced on `example_input` in eval mode.

    Parameters
    ----------
    model : Module
        The network; it is put in eval mode for the trace (and restored afterwards). A
        model on a GPU is traced on the CPU and put back on its device afterwards.
    example_input : Tensor, ndarray, or a tuple of them
        One example batch. With `dynamic_batch`, give a batch of at least 2 so that the batch
        axis can be told apart from the others.
    path : str or PathLike, optional
        Where to write the file (atomically); None only returns the model.
    opset : int
        The ONNX opset, 13 to 21 (default 17).
    dynamic_batch : bool
        Name the first axis of inputs and outputs 'batch' so any batch size runs.
    input_names, output_names : tuple of str, optional
        Graph names (default 'input' / 'output', numbered when there are several).

    Returns
    -------
    onnx.ModelProto
        The checked model.

    Raises
    ------
    ValueError
        An operation without an ONNX form, naming the operation and the layer it ran in.
    """
    if not isinstance(model, Module):
        raise TypeError(f"onnx.export: model must be a strided Module, got {type(model).__name__}")
    if not MIN_OPSET <= int(opset) <= MAX_OPSET:
        raise ValueError(f"onnx.export: opset must be in [{MIN_OPSET}, {MAX_OPSET}], got {opset}")
    raw = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    inputs = [t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in raw]
    if not inputs:
        raise ValueError("onnx.export: example_input is empty")
    where = model.device
    if where.type != "cpu" or any(t.device.type != "cpu" for t in inputs):
        # the graph's weights are host arrays: trace a CPU copy of the state, then put the
        # model back where it was
        model.to("cpu")
        try:
            on_host = tuple(t.cpu() for t in inputs)
            return export(
                model,
                on_host if isinstance(example_input, (tuple, list)) else on_host[0],
                path,
                opset=opset,
                dynamic_batch=dynamic_batch,
                input_names=input_names,
                output_names=output_names,
            )
        finally:
            model.to(where)
    batch = inputs[0].shape[0] if (dynamic_batch and inputs[0].ndim) else None
    if batch == 1:
        raise ValueError(
            "onnx.export: with dynamic_batch=True the example input needs a "
            f"batch of at least 2 (got shape {tuple(inputs[0].shape)}), so the "
            "batch axis can be told apart; or pass dynamic_batch=False"
        )
    was_training = model.training
    model.eval()
    try:
        calls, result = trace(model, inputs)
        outputs = _outputs_of(result, "onnx.export")
    finally:
        model.train(was_training)

    in_names = list(
        input_names
        or (["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))])
    )
    out_names = list(
        output_names
        or (["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))])
    )
    if len(in_names) != len(inputs) or len(out_names) != len(outputs):
        raise ValueError(
            f"onnx.export: {len(in_names)} input names for {len(inputs)} inputs, "
            f"{len(out_names)} output names for {len(outputs)} outputs"
        )

    g = _Graph(opset=int(opset), batch=batch)
    g.keep_alive.extend(inputs)
    for t, name in zip(inputs, in_names, strict=True):
        g.names[id(t)] = name
        g.taken.add(name)
    for _, t in list(model.named_parameters()) + list(model.named_buffers()):
        g.keep_alive.append(t)

    used = _needed(calls, outputs, inputs)
    _name_weights(g, model, calls, used)
    for k, call in enumerate(calls):
        if k not in used:
            continue
        convert = CONVERTERS.get(call.op)
        if convert is None:
            raise ExportError(
                f"onnx.export: cannot export {call.op} "
                f"(in layer {call.layer or '<model>'!r}): no ONNX converter"
            )
        if used[k] == "const":  # depends on weights only: fold it into an initializer
            for o in call.outputs:
                g.names[id(o)] = g.const(np.asarray(o.data), "folded")
                g.keep_alive.append(o)
            continue
        try:
            names = convert(g, call)
        except ExportError as error:
            raise ExportError(
                f"onnx.export: {call.op} in layer {call.layer or '<model>'!r}: {error}"
            ) from None
        names = names if isinstance(names, list) else [names]
        for o, n in zip(call.outputs, names, strict=True):
            g.names[id(o)] = n
            g.keep_alive.append(o)

    final_nodes = []
    for t, name in zip(outputs, out_names, strict=True):
        source = g.names.get(id(t))
        if source is None:
            source = _value_name(g, t, "const_output")
        final_nodes.append(
            helper.make_node("Identity", [source], [name], name=g.fresh("output_node"))
        )
    graph = helper.make_graph(
        g.nodes + final_nodes,
        type(model).__name__,
        [
            _value_info(n, t, "batch" if batch is not None else None)
            for n, t in zip(in_names, inputs, strict=True)
        ],
        [
            _value_info(n, t, "batch" if batch is not None else None)
            for n, t in zip(out_names, outputs, strict=True)
        ],
        initializer=g.initializers,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", int(opset))], producer_name="strided"
    )
    proto.ir_version = min(proto.ir_version, 10)  # what ONNX Runtime 1.17+ reads
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        atomic_write_bytes(path, proto.SerializeToString())
    return proto


def _needed(calls: list[Call], outputs: list[Tensor], inputs: list[Tensor]) -> dict:
    """Indices of the calls the outputs depend on → 'graph' when the call depends on an
    input, 'const' when it depends on weights and constants only (then it is folded)."""
    producer = {id(o): k for k, c in enumerate(calls) for o in c.outputs}
    dynamic = {id(t) for t in inputs}
    kinds: dict[int, str] = {}
    for k, c in enumerate(calls):  # forward: which calls see the input
        if any(isinstance(t, Tensor) and id(t) in dynamic for t in c.inputs):
            kinds[k] = "graph"
            dynamic.update(id(o) for o in c.outputs)
        else:
            kinds[k] = "const"
    needed: dict[int, str] = {}
    stack = [producer[id(t)] for t in outputs if id(t) in producer]
    while stack:  # backward: which calls the outputs reach
        k = stack.pop()
        if k in needed:
            continue
        needed[k] = kinds[k]
        if kinds[k] == "const":
            continue
        for t in calls[k].inputs:
            if isinstance(t, Tensor) and id(t) in producer:
                stack.append(producer[id(t)])
    # a max_unpool takes its indices from a pool it names only by value: keep those pools
    for k, c in enumerate(calls):
        if k in needed and c.op == "MaxUnpool2d":
            for j in range(k):
                if calls[j].op == "MaxPool2d" and calls[j].params.get("with_arg"):
                    _mark(j, calls, producer, kinds, needed)
    return needed


def _mark(k: int, calls: list[Call], producer: dict, kinds: dict, needed: dict) -> None:
    stack = [k]
    while stack:
        k = stack.pop()
        if k in needed:
            continue
        needed[k] = kinds[k]
        for t in calls[k].inputs:
            if isinstance(t, Tensor) and id(t) in producer:
                stack.append(producer[id(t)])


def _name_weights(g: _Graph, model: Module, calls: list[Call], used: dict) -> None:
    """Parameters and buffers become initializers under their state_dict names, when used."""
    owners: dict[int, tuple[str, Any]] = {}
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        owners.setdefault(id(t), (name, t))
        owners.setdefault(id(t.data), (name, t))
    for k, c in enumerate(calls):
        if used.get(k) != "graph":
            continue
        values = list(c.inputs) + [
            v for v in c.params.values() if isinstance(v, (Tensor, np.ndarray))
        ]
        for v in values:
            key = id(v)
            if key in owners and key not in g.names:
                name, t = owners[key]
                g.taken.add(name)
                g.initializers.append(
                    numpy_helper.from_array(np.ascontiguousarray(np.asarray(t.data)), name)
                )
                g.names[id(t)] = g.names[id(t.data)] = name
