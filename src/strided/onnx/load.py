"""Build a strided Module from an ONNX file.

`OnnxModule` keeps the graph's nodes and runs them in order with strided's functional ops, so
the result is differentiable: floating-point initializers become Parameters (BatchNorm's
running statistics become buffers) and can be fine-tuned. Integer initializers and the
little shape arithmetic exporters emit (Shape, Gather, Concat of int64, ...) are evaluated
with NumPy. Only ONNX protobufs are read: no code runs from the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np

import onnx
from onnx import helper, numpy_helper

from .. import functional as F
from ..autograd import Tensor
from ..nn.module import Module, Parameter

Value = Any  # a Tensor on the data path, an ndarray for shapes and other constants


def _attrs(node: Any) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


def _spatial_pads(pads: list, n: int) -> list[tuple[int, int]]:
    """ONNX's [x1_begin, x2_begin, ..., x1_end, x2_end, ...] → [(begin, end) per axis]."""
    pads = list(pads) or [0] * (2 * n)
    return [(int(pads[i]), int(pads[i + n])) for i in range(n)]


def _auto_pads(
    attrs: dict, x: Tensor, kernel: list, strides: list, dilations: list, where: str
) -> list[tuple[int, int]]:
    mode = _text(attrs.get("auto_pad", "NOTSET"))
    n = len(kernel)
    if mode in ("NOTSET", ""):
        return _spatial_pads(attrs.get("pads", []), n)
    if mode == "VALID":
        return [(0, 0)] * n
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations, strict=True):
            out = -(-size // s)
            total = max(0, (out - 1) * s + d * (k - 1) + 1 - size)
            small, big = total // 2, total - total // 2
            pads.append((small, big) if mode == "SAME_UPPER" else (big, small))
        return pads
    raise ValueError(f"onnx.load: {where}: unknown auto_pad {mode!r}")


def _symmetric(pads: list[tuple[int, int]]) -> bool:
    return all(lo == hi for lo, hi in pads)


def _torch_pad(pads: list[tuple[int, int]]) -> tuple:
    """[(begin, end) per spatial axis] → F.pad's (last_lo, last_hi, ..., first_lo, first_hi)."""
    return tuple(v for lo, hi in reversed(pads) for v in (lo, hi))


def _data(v: Value) -> np.ndarray:
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def _is_const(v: Value) -> bool:
    return not isinstance(v, Tensor)


def _tensor(v: Value, like: Value = None) -> Tensor:
    if isinstance(v, Tensor):
        return v
    dtype = like.dtype if isinstance(like, Tensor) and np.asarray(v).dtype.kind == "f" else None
    return Tensor(np.asarray(v, dtype=dtype))


# ---------------------------------------------------------------------------------------
# One handler per ONNX op: (module, node attrs, inputs) -> list of outputs
# ---------------------------------------------------------------------------------------


def _conv(m: OnnxModule, a: dict, ins: list) -> list:
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 and ins[2] is not None else None
    n = w.ndim - 2
    kernel = list(a.get("kernel_shape", w.shape[2:]))
    strides, dilations = list(a.get("strides", [1] * n)), list(a.get("dilations", [1] * n))
    pads = _auto_pads(a, x, kernel, strides, dilations, "Conv")
    if not _symmetric(pads):
        x, pads = F.pad(x, _torch_pad(pads)), [(0, 0)] * n
    conv = {1: F.conv1d, 2: F.conv2d}.get(n)
    if conv is None:
        raise ValueError(f"onnx.load: Conv over {n} spatial axes is not supported")
    return [
        conv(
            x,
            w,
            b,
            stride=tuple(strides),
            padding=tuple(p for p, _ in pads),
            dilation=tuple(dilations),
            groups=int(a.get("group", 1)),
        )
    ]


def _conv_transpose(m: OnnxModule, a: dict, ins: list) -> list:
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 and ins[2] is not None else None
    n = w.ndim - 2
    if "output_shape" in a or _text(a.get("auto_pad", "NOTSET")) not in ("NOTSET", ""):
        raise ValueError(
            "onnx.load: ConvTranspose with output_shape or auto_pad is not "
            "supported; export with explicit pads and output_padding"
        )
    pads = _spatial_pads(a.get("pads", []), n)
    if not _symmetric(pads):
        raise ValueError(f"onnx.load: ConvTranspose with asymmetric pads {pads}")
    conv = {1: F.conv_transpose1d, 2: F.conv_transpose2d}.get(n)
    if conv is None:
        raise ValueError(f"onnx.load: ConvTranspose over {n} spatial axes is not supported")
    return [
        conv(
            x,
            w,
            b,
            stride=tuple(a.get("strides", [1] * n)),
            padding=tuple(p for p, _ in pads),
            output_padding=tuple(a.get("output_padding", [0] * n)),
            groups=int(a.get("group", 1)),
            dilation=tuple(a.get("dilations", [1] * n)),
        )
    ]


def _pool_args(a: dict, x: Tensor, where: str) -> tuple:
    kernel = list(a["kernel_shape"])
    n = len(kernel)
    strides, dilations = list(a.get("strides", [1] * n)), list(a.get("dilations", [1] * n))
    pads = _auto_pads(a, x, kernel, strides, dilations, where)
    if not _symmetric(pads):
        raise ValueError(f"onnx.load: {where} with asymmetric pads {pads} is not supported")
    return n, tuple(kernel), tuple(strides), tuple(p for p, _ in pads), tuple(dilations)


def _max_pool(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    n, kernel, strides, pads, dilations = _pool_args(a, x, "MaxPool")
    pool = {1: F.max_pool1d, 2: F.max_pool2d}[n]
    out = pool(
        x,
        kernel,
        strides,
        pads,
        dilations,
        ceil_mode=bool(a.get("ceil_mode", 0)),
        return_indices=a["_outputs"] > 1,
    )
    return list(out) if isinstance(out, tuple) else [out]


def _avg_pool(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    n, kernel, strides, pads, _ = _pool_args(a, x, "AveragePool")
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d}[n]
    return [
        pool(
            x,
            kernel,
            strides,
            pads,
            ceil_mode=bool(a.get("ceil_mode", 0)),
            count_include_pad=bool(a.get("count_include_pad", 0)),
        )
    ]


def _max_unpool(m: OnnxModule, a: dict, ins: list) -> list:
    x, idx = ins[0], ins[1]
    n, kernel, strides, pads, _ = _pool_args(a, x, "MaxUnpool")
    size = None if len(ins) < 3 or ins[2] is None else tuple(int(v) for v in _data(ins[2]))
    unpool = {1: F.max_unpool1d, 2: F.max_unpool2d}[n]
    return [unpool(x, idx, kernel, strides, pads, output_size=size)]


def _batch_norm(m: OnnxModule, a: dict, ins: list) -> list:
    x, scale, bias, mean, var = ins[:5]
    # ONNX's momentum weighs the old statistic; PyTorch's (and ours) the new one
    momentum = 1.0 - float(a.get("momentum", 0.9))
    return [
        F.batch_norm(
            x,
            mean,
            var,
            scale,
            bias,
            training=m.training and m.train_batch_norm,
            momentum=momentum,
            eps=float(a.get("epsilon", 1e-5)),
        )
    ]


def _layer_norm(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    axis = int(a.get("axis", -1)) % x.ndim
    return [
        F.layer_norm(
            x,
            tuple(x.shape[axis:]),
            ins[1],
            ins[2] if len(ins) > 2 else None,
            eps=float(a.get("epsilon", 1e-5)),
        )
    ]


def _gemm(m: OnnxModule, a: dict, ins: list) -> list:
    A, B = ins[0], ins[1]
    C = ins[2] if len(ins) > 2 and ins[2] is not None else None
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    if a.get("transA", 0):
        A = F.transpose(A, 0, 1)
    if a.get("transB", 0) and alpha == 1.0 and beta == 1.0:
        return [F.linear(A, B, C)]
    y = F.matmul(A, F.transpose(B, 0, 1) if a.get("transB", 0) else B)
    if alpha != 1.0:
        y = y * alpha
    if C is not None:
        y = y + (C * beta if beta != 1.0 else C)
    return [y]


def _reshape(m: OnnxModule, a: dict, ins: list) -> list:
    x, shape = ins[0], [int(v) for v in _data(ins[1])]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return [x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)]


def _flatten(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    axis = int(a.get("axis", 1)) % max(x.ndim, 1)
    lead = int(np.prod(x.shape[:axis]))
    return [x.reshape(lead, -1)]


def _concat(m: OnnxModule, a: dict, ins: list) -> list:
    axis = int(a["axis"])
    if all(_is_const(v) for v in ins):
        return [np.concatenate([np.asarray(v) for v in ins], axis=axis)]
    return [F.cat([_tensor(v, ins[0]) for v in ins], axis=axis)]


def _slice(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    starts, ends = _data(ins[1]).tolist(), _data(ins[2]).tolist()
    axes = (
        _data(ins[3]).tolist() if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
    )
    steps = _data(ins[4]).tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    index: list[Any] = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        big = 2**62
        index[int(ax) % x.ndim] = slice(
            int(s), None if (st < 0 and e <= -big) or (st > 0 and e >= big) else int(e), int(st)
        )
    return [x[tuple(index)]]


def _squeeze(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    axes = _data(ins[1]).tolist() if len(ins) > 1 and ins[1] is not None else a.get("axes")
    if axes is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    shape = [n for i, n in enumerate(x.shape) if i not in {int(v) % x.ndim for v in axes}]
    return [x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)]


def _unsqueeze(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    axes = _data(ins[1]).tolist() if len(ins) > 1 else list(a["axes"])
    ndim = x.ndim + len(axes)
    shape = list(x.shape)
    for ax in sorted(int(v) % ndim for v in axes):
        shape.insert(ax, 1)
    return [x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)]


def _pad(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    pads = _data(ins[1]).tolist() if len(ins) > 1 else list(a["pads"])
    value = float(_data(ins[2]).reshape(-1)[0]) if len(ins) > 2 and ins[2] is not None else 0.0
    if len(ins) > 3 and ins[3] is not None:
        raise ValueError("onnx.load: Pad with an axes input is not supported")
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}[
        _text(a.get("mode", "constant"))
    ]
    pairs = _spatial_pads(pads, x.ndim)
    while pairs and pairs[0] == (0, 0):  # F.pad pads trailing axes
        pairs = pairs[1:]
    return [F.pad(x, _torch_pad(pairs), mode=mode, value=value) if pairs else x]


def _resize(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    mode = _text(a.get("mode", "nearest"))
    coords = _text(a.get("coordinate_transformation_mode", "half_pixel"))
    rounding = _text(a.get("nearest_mode", "round_prefer_floor"))
    if mode != "nearest" or coords != "asymmetric" or rounding != "floor":
        raise ValueError(
            f"onnx.load: Resize(mode={mode!r}, coordinate_transformation_mode="
            f"{coords!r}, nearest_mode={rounding!r}) is not supported; only "
            "nearest/asymmetric/floor (PyTorch's 'nearest')"
        )
    if len(ins) > 3 and ins[3] is not None and _data(ins[3]).size:
        size = tuple(int(v) for v in _data(ins[3])[2:])
    else:
        scales = _data(ins[2])[2:]
        size = tuple(int(np.floor(n * s)) for n, s in zip(x.shape[2:], scales, strict=True))
    return [F.interpolate(x, size=size, mode="nearest")]


def _reduce(fn: Callable) -> Callable:
    def run(m: OnnxModule, a: dict, ins: list) -> list:
        x = ins[0]
        axes = _data(ins[1]).tolist() if len(ins) > 1 and ins[1] is not None else a.get("axes")
        keep = bool(a.get("keepdims", 1))
        if axes is None or len(axes) == 0:
            if a.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.ndim))
        return [fn(x, axis=tuple(int(v) for v in axes), keepdims=keep)]

    return run


def _binary(fn: Callable, np_fn: Callable) -> Callable:
    def run(m: OnnxModule, a: dict, ins: list) -> list:
        x, y = ins
        if _is_const(x) and _is_const(y):
            return [np_fn(np.asarray(x), np.asarray(y))]
        return [fn(_tensor(x, y), _tensor(y, x))]

    return run


def _unary(fn: Callable) -> Callable:
    return lambda m, a, ins: [fn(ins[0])]


def _shape(m: OnnxModule, a: dict, ins: list) -> list:
    shape = np.asarray(ins[0].shape, dtype=np.int64)
    return [shape[a.get("start", 0) : a.get("end", None)]]


def _gather(m: OnnxModule, a: dict, ins: list) -> list:
    x, idx = ins
    if not _is_const(idx):
        raise ValueError("onnx.load: Gather with computed indices is not supported")
    if _is_const(x):
        return [np.take(np.asarray(x), np.asarray(idx), axis=int(a.get("axis", 0)))]
    axis = int(a.get("axis", 0)) % x.ndim
    index = (slice(None),) * axis + (np.asarray(idx),)
    return [x[index]]


def _constant(m: OnnxModule, a: dict, ins: list) -> list:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            v = a[key]
            return [numpy_helper.to_array(v) if key == "value" else np.asarray(v)]
    raise ValueError(f"onnx.load: Constant with attributes {sorted(a)} is not supported")


def _cast(m: OnnxModule, a: dict, ins: list) -> list:
    dtype = helper.tensor_dtype_to_np_dtype(int(a["to"]))
    x = ins[0]
    return [x.astype(dtype) if isinstance(x, Tensor) else np.asarray(x).astype(dtype)]


def _clip(m: OnnxModule, a: dict, ins: list) -> list:
    lo = float(_data(ins[1])) if len(ins) > 1 and ins[1] is not None else a.get("min")
    hi = float(_data(ins[2])) if len(ins) > 2 and ins[2] is not None else a.get("max")
    return [F.clamp(ins[0], lo, hi)]


def _transpose(m: OnnxModule, a: dict, ins: list) -> list:
    x = ins[0]
    perm = a.get("perm", list(reversed(range(x.ndim))))
    return [F.permute(x, *perm)]


def _expand(m: OnnxModule, a: dict, ins: list) -> list:
    x, shape = ins[0], [int(v) for v in _data(ins[1])]
    full = np.broadcast_shapes(tuple(x.shape), tuple(shape))
    return [F.broadcast_to(x, *full)]


HANDLERS: dict[str, Callable[[OnnxModule, dict, list], list]] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AveragePool": _avg_pool,
    "MaxUnpool": _max_unpool,
    "GlobalAveragePool": lambda m, a, ins: [
        F.mean(ins[0], axis=tuple(range(2, ins[0].ndim)), keepdims=True)
    ],
    "GlobalMaxPool": lambda m, a, ins: [
        F.amax(ins[0], axis=tuple(range(2, ins[0].ndim)), keepdims=True)
    ],
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "LRN": lambda m, a, ins: [
        F.local_response_norm(
            ins[0],
            int(a["size"]),
            float(a.get("alpha", 1e-4)),
            float(a.get("beta", 0.75)),
            float(a.get("bias", 1.0)),
        )
    ],
    "Relu": _unary(F.relu),
    "Sigmoid": _unary(F.sigmoid),
    "Tanh": _unary(F.tanh),
    "LeakyRelu": lambda m, a, ins: [F.leaky_relu(ins[0], float(a.get("alpha", 0.01)))],
    "Elu": lambda m, a, ins: [F.elu(ins[0], float(a.get("alpha", 1.0)))],
    "Gelu": lambda m, a, ins: [F.gelu(ins[0], _text(a.get("approximate", "none")))],
    "Softplus": _unary(F.softplus),
    "Softmax": lambda m, a, ins: [F.softmax(ins[0], int(a.get("axis", -1)))],
    "LogSoftmax": lambda m, a, ins: [F.log_softmax(ins[0], int(a.get("axis", -1)))],
    "Gemm": _gemm,
    "MatMul": _binary(F.matmul, np.matmul),
    "Add": _binary(F.add, np.add),
    "Sub": _binary(F.sub, np.subtract),
    "Mul": _binary(F.mul, np.multiply),
    "Div": _binary(F.div, np.divide),
    "Pow": _binary(F.pow, np.power),
    "Max": _binary(F.maximum, np.maximum),
    "Min": _binary(F.minimum, np.minimum),
    "Neg": _unary(F.neg),
    "Exp": _unary(F.exp),
    "Log": _unary(F.log),
    "Sqrt": _unary(F.sqrt),
    "Abs": _unary(F.abs),
    "Sin": _unary(F.sin),
    "Cos": _unary(F.cos),
    "Where": lambda m, a, ins: [F.where(_data(ins[0]).astype(bool), ins[1], ins[2])],
    "Identity": lambda m, a, ins: [ins[0]],
    "Dropout": lambda m, a, ins: [ins[0]],
    "Clip": _clip,
    "Cast": _cast,
    "Concat": _concat,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": _transpose,
    "Expand": _expand,
    "Slice": _slice,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Pad": _pad,
    "Resize": _resize,
    "ReduceSum": _reduce(F.sum),
    "ReduceMean": _reduce(F.mean),
    "ReduceMax": _reduce(F.amax),
    "ReduceMin": _reduce(F.amin),
    "Shape": _shape,
    "Gather": _gather,
    "Constant": _constant,
}


# inputs that are settings rather than weights: they stay constants, never Parameters
CONSTANT_SLOTS = {
    "Pad": (1, 2),
    "Clip": (1, 2),
    "Resize": (1, 2, 3),
    "Reshape": (1,),
    "Expand": (1,),
    "Slice": (1, 2, 3, 4),
    "MaxUnpool": (1, 2),
}


def _attribute_name(onnx_name: str, taken: set) -> str:
    """A Module attribute name for an ONNX value name: 'features.0.weight' → 'features_0_weight'."""
    name = re.sub(r"\W", "_", onnx_name) or "p"
    if name[0].isdigit():
        name = "p_" + name
    base, k = name, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


class OnnxModule(Module):
    """A strided Module that runs an ONNX graph with strided's operations.

    Parameters
    ----------
    proto : onnx.ModelProto
        The model (see `load`).
    train_batch_norm : bool
        In train mode, whether BatchNormalization uses batch statistics and updates its
        running statistics (as a BatchNorm layer does); default True.

    Attributes
    ----------
    onnx_names : dict
        ONNX initializer name → the Parameter's or buffer's attribute name here.
    input_names, output_names : list of str
        The graph's inputs and outputs, in order.
    """

    def __init__(self, proto: onnx.ModelProto, train_batch_norm: bool = True):
        super().__init__()
        graph = proto.graph
        self._nodes = list(graph.node)
        unknown = sorted(
            {
                n.op_type
                for n in self._nodes
                if n.domain not in ("", "ai.onnx") or n.op_type not in HANDLERS
            }
        )
        if unknown:
            raise ValueError(
                f"onnx.load: unsupported ONNX ops: {', '.join(unknown)} "
                f"(supported: {', '.join(sorted(HANDLERS))})"
            )
        self.train_batch_norm = bool(train_batch_norm)
        stats = {
            n.input[i]
            for n in self._nodes
            if n.op_type == "BatchNormalization"
            for i in (3, 4)
            if len(n.input) > i
        }
        fixed = {
            n.input[i]
            for n in self._nodes
            for i in CONSTANT_SLOTS.get(n.op_type, ())
            if len(n.input) > i
        }
        initial = {t.name for t in graph.initializer}
        self.input_names = [v.name for v in graph.input if v.name not in initial]
        self.output_names = [v.name for v in graph.output]
        self.onnx_names: dict[str, str] = {}
        self._constants: dict[str, np.ndarray] = {}
        taken: set = set(vars(self))
        for t in graph.initializer:
            array = numpy_helper.to_array(t).copy()
            if array.dtype.kind != "f" or t.name in fixed:
                self._constants[t.name] = array
                continue
            attr = _attribute_name(t.name, taken)
            self.onnx_names[t.name] = attr
            if t.name in stats:
                self.register_buffer(attr, Tensor(array))
            else:
                self.register_parameter(attr, Parameter(array))

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) != len(self.input_names):
            raise ValueError(
                f"OnnxModule: the graph takes {len(self.input_names)} inputs "
                f"({', '.join(self.input_names)}), got {len(inputs)}"
            )
        env: dict[str, Value] = dict(self._constants)
        for onnx_name, attr in self.onnx_names.items():
            env[onnx_name] = getattr(self, attr)
        for name, x in zip(self.input_names, inputs, strict=True):
            env[name] = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        for node in self._nodes:
            ins = [env[name] if name else None for name in node.input]
            missing = [name for name in node.input if name and name not in env]
            if missing:
                raise ValueError(
                    f"onnx.load: node {node.name or node.op_type} reads undefined values {missing}"
                )
            attrs = _attrs(node)
            attrs["_outputs"] = sum(1 for name in node.output if name)
            try:
                outs = HANDLERS[node.op_type](self, attrs, ins)
            except (ValueError, TypeError) as error:
                raise type(error)(
                    f"onnx.load: {node.op_type} node {node.name!r}: {error}"
                ) from None
            for name, value in zip(node.output, outs, strict=False):
                if name:
                    env[name] = value
        results = [env[name] for name in self.output_names]
        results = [r if isinstance(r, Tensor) else Tensor(r) for r in results]
        return results[0] if len(results) == 1 else tuple(results)

    def extra_repr(self) -> str:
        ops: dict[str, int] = {}
        for n in self._nodes:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
        return f"{len(self._nodes)} nodes: " + ", ".join(f"{k}×{v}" for k, v in sorted(ops.items()))


def load(path: str | os.PathLike | onnx.ModelProto, train_batch_norm: bool = True) -> OnnxModule:
    """A strided Module built from an ONNX file (or a loaded `onnx.ModelProto`).

    Parameters
    ----------
    path : str, PathLike or onnx.ModelProto
        The .onnx file; external data files next to it are read too.
    train_batch_norm : bool
        See `OnnxModule`.

    Raises
    ------
    ValueError
        The file is not a valid ONNX model, or it uses ops strided does not run (all listed
        by name).
    """
    if isinstance(path, onnx.ModelProto):
        proto = path
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"onnx.load: no such file: {os.fspath(path)!r}")
        try:
            proto = onnx.load(os.fspath(path))
            onnx.checker.check_model(proto)
        except Exception as error:
            raise ValueError(
                f"onnx.load: {os.fspath(path)!r} is not a valid ONNX model "
                f"({type(error).__name__}: {error})"
            ) from None
    return OnnxModule(proto, train_batch_norm=train_batch_norm)
