"""Define-by-run reverse-mode automatic differentiation.

A `Tensor` is an ndarray plus the `Function` that produced it. Running operations records a
graph of Functions; `Tensor.backward()` walks it once in reverse topological order and
applies the chain rule, dL/dx = sum over consumers y of dL/dy · dy/dx, node by node.

The walk is iterative (no recursion limit), gradients of tensors used more than once are
summed, gradients of broadcast inputs are summed back to the input's shape, and each
Function's saved arrays are released as soon as its backward has run, so a training loop's
memory stays flat.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, overload

import numpy as np
from numpy.typing import DTypeLike

from .backend import get_default_dtype, is_floating
from .device import (
    CPU,
    Device,
    array_module,
    backend_of,
    common_device,
    device_of,
    get_default_device,
    move,
    to_numpy,
)
from .device import device as as_device

# ---------------------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------------------

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations are being recorded for backward."""
    return getattr(_state, "grad_enabled", True)


class _GradMode(contextlib.ContextDecorator):
    """Base of the grad-mode switches: a stack of previous modes makes them re-entrant."""

    mode = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> _GradMode:
        self._prev.append(is_grad_enabled())
        _state.grad_enabled = self.mode
        return self

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self._prev.pop()


class no_grad(_GradMode):
    """Record nothing inside this block (evaluation, parameter updates); also a decorator."""

    mode = False


class enable_grad(_GradMode):
    """Record operations inside this block, even within `no_grad`; also a decorator."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn recording on or off: `set_grad_enabled(False)` as a call sets the mode at once;
    as a context manager it restores the previous mode on exit."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._prev_at_call = is_grad_enabled()
        _state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        self._prev.pop()
        _state.grad_enabled = self._prev_at_call


@contextlib.contextmanager
def tracing(record: Callable[..., object]) -> Iterator[None]:
    """Call `record(function, inputs, params, output)` for every operation run inside this
    block, whether or not it is recorded for backward: how an exporter (ONNX) sees the
    forward pass as a sequence of operations. Not re-entrant on purpose: one trace at a time
    per thread."""
    if getattr(_state, "tracer", None) is not None:
        raise RuntimeError("tracing: a trace is already running in this thread")
    _state.tracer = record
    try:
        yield
    finally:
        _state.tracer = None


# ---------------------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------------------


def as_array(data: Any, dtype: DTypeLike | None = None, device: Any = None) -> np.ndarray:
    """An array from `data`; Python floats become the default dtype, arrays and NumPy
    scalars keep theirs. An array on a device stays there unless `device` says otherwise;
    anything else is made on `device` (the default device when None)."""
    if isinstance(data, Tensor):
        data = data.data
    if type(data) is np.ndarray:  # the common cases first
        arr = _numeric(data if dtype is None else data.astype(dtype, copy=False))
    elif isinstance(data, np.generic) or backend_of(data).name == "cpu":
        arr = _host_array(data, dtype)
    else:  # an array on a device
        arr = _numeric(data if dtype is None else data.astype(dtype, copy=False))
        return arr if device is None else move(arr, device)
    if device is CPU:
        return arr
    target = get_default_device() if device is None else as_device(device)
    return arr if target.type == "cpu" else move(arr, target)


def tensor_of(array: Any) -> Tensor:
    """A Tensor holding `array` where it lives (an operation's result): unlike `Tensor(a)`,
    a NumPy array is never moved to the default device, and nothing is copied."""
    if type(array) is np.ndarray or isinstance(array, np.generic):
        return Tensor(array, device=CPU)
    if backend_of(array).name == "cpu":
        return Tensor(array, device=CPU)
    return Tensor(array)


def array_of(value: Any) -> Any:
    """`value`'s array: a Tensor's data, an array (or NumPy scalar) as it is, on its device,
    and Python data through `np.asarray`."""
    if isinstance(value, Tensor):
        return value.data
    return value if hasattr(value, "shape") else np.asarray(value)


def host_array(x: Any) -> np.ndarray:
    """A NumPy array of a Tensor, a NumPy or device array, or nested lists: the data itself
    on the CPU, a copy when it lives on a GPU (for plots, reports and files).

    Parameters
    ----------
    x : Tensor, array or array-like
        What to read.
    """
    data = x.data if isinstance(x, Tensor) else x
    if type(data) is not np.ndarray and backend_of(data).name != "cpu":
        return to_numpy(data)
    return np.asarray(data)


def _host_array(data: Any, dtype: DTypeLike | None) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return _numeric(data if dtype is None else data.astype(dtype, copy=False))
    if isinstance(data, np.generic):  # a NumPy scalar (e.g. a full reduction) has a dtype
        return _numeric(np.asarray(data, dtype=dtype))
    try:
        arr = np.asarray(data, dtype=dtype)
    except ValueError as e:  # ragged nesting, or strings that are not numbers
        raise TypeError(
            f"tensor: cannot make a tensor from {type(data).__name__} data ({e})"
        ) from None
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(get_default_dtype())
    return _numeric(arr)


def _numeric(arr: np.ndarray) -> np.ndarray:
    """`arr`, if it holds numbers; strings, objects and dates are refused by name."""
    if arr.dtype.kind not in "biufc":
        example = repr(arr.reshape(-1)[0]) if arr.size else "none"
        kind = {"U": "string", "S": "bytes", "O": "object"}.get(arr.dtype.kind, "")
        raise TypeError(
            f"tensor: a tensor holds numbers (bool, int, float), not {kind} data "
            f"of dtype {arr.dtype} (first element: {example})"
        )
    return arr


# What an arithmetic operator accepts beside a Tensor, and what names reduced axes.
Operand: TypeAlias = "Tensor | np.ndarray | np.generic | float"
Axes: TypeAlias = "int | Sequence[int] | None"
# What Function.backward returns: one gradient per input, None where none is needed.
Grads: TypeAlias = "np.ndarray | None | tuple[np.ndarray | None, ...]"


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    `data` is the ndarray; `grad` is filled by `backward()` for leaves with
    `requires_grad=True` (and for any tensor that called `retain_grad()`).

    Parameters
    ----------
    dtype : dtype or None
        NumPy dtype to convert the data to; when None Python floats become the default dtype and
        arrays keep theirs.
    device : str, Device or None
        Where the data goes; when None, an array on a device stays there and anything else
        goes to the default device (the CPU unless `set_default_device` changed it).
    """

    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: DTypeLike | None = None,
        device: Any = None,
    ) -> None:
        self.data = as_array(data, dtype, device)
        self.grad: Tensor | None = None
        self._ctx: Function | None = None  # the Function that produced this tensor
        # bumped by in-place writes, checked by backward; one box shared by a tensor and
        # its views (reshape, slices, detach), so a write through any of them counts
        self._version_box = [0]
        self._retain_grad = False
        self._requires_grad = False
        self.requires_grad = requires_grad

    @property
    def _version(self) -> int:
        return self._version_box[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._version_box[0] = value

    # -- the flag ------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and not is_floating(self.data.dtype):
            raise TypeError(
                f"Tensor: only floating-point tensors can require gradients, "
                f"got dtype {self.data.dtype} (shape {self.data.shape})"
            )
        if not flag and self._ctx is not None:
            raise RuntimeError(
                "Tensor: cannot clear requires_grad on a non-leaf tensor; use .detach()"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call `hook(tensor)` once per backward pass, after this leaf's `.grad` has received
        every contribution of that pass (as PyTorch's hook of the same name): the moment a
        gradient is final, which data-parallel training uses to start communicating it
        while the rest of the backward pass runs. Returns a handle with `remove()`."""
        if self._ctx is not None:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: only leaf tensors accumulate gradients"
            )
        hooks = self.__dict__.setdefault("_post_accumulate_hooks", [])
        hooks.append(hook)

        class _Handle:
            def remove(_self) -> None:
                if hook in hooks:
                    hooks.remove(hook)

        return _Handle()

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` after backward."""
        self._retain_grad = True

    # -- array-like surface --------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> Device:
        """The device this tensor's data lives on."""
        return device_of(self.data)

    @property
    def is_cuda(self) -> builtins.bool:
        return self.device.type == "cuda"

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied); a tensor on another device must
        be copied with `.cpu()` first, as in PyTorch."""
        if type(self.data) is not np.ndarray and backend_of(self.data).name != "cpu":
            raise TypeError(
                f"Tensor.numpy: can't convert a tensor on {self.device} to NumPy; "
                "use Tensor.cpu() to copy it to the host first"
            )
        return self.data

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        data = self.numpy()
        if dtype is None:
            return data
        return data.astype(dtype, copy=False)

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(
                f"Tensor.item: only one-element tensors convert to a Python scalar, "
                f"got shape {self.shape}"
            )
        return self.data.item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data (and version counter) but cut from the graph."""
        out = tensor_of(self.data)
        out._version_box = self._version_box
        return out

    def __repr__(self) -> str:
        body = np.array2string(to_numpy(self.data), separator=", ", precision=4, prefix="tensor(")
        extra = []
        if self.device.type != "cpu":
            extra.append(f"device='{self.device}'")
        if self.dtype != get_default_dtype() and is_floating(self.dtype):
            extra.append(f"dtype={self.dtype}")
        elif not is_floating(self.dtype):
            extra.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extra.append(f"grad_fn=<{type(self._ctx).__name__}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    def __hash__(self) -> builtins.int:
        return id(self)

    def __bool__(self) -> builtins.bool:
        if self.data.size != 1:
            raise ValueError(
                f"Tensor: the truth value of a tensor with shape {self.shape} is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.data)

    # -- backward ------------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires it.

        `grad` is dL/d(self); it may be omitted only for a one-element tensor (then 1).
        The graph is released afterwards unless `retain_graph=True`.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "Tensor.backward: this tensor does not require grad and has no grad_fn "
                "(was it computed under no_grad, or from tensors without requires_grad?)"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"Tensor.backward: grad can be implicitly created only for scalar "
                    f"outputs; this tensor has shape {self.shape}, pass grad= of that shape"
                )
            grad = array_module(self.data).ones_like(self.data)
        else:
            grad = as_array(grad, self.dtype, self.device)
            if grad.shape != self.shape:
                raise ValueError(
                    f"Tensor.backward: grad has shape {grad.shape}, "
                    f"expected the tensor's shape {self.shape}"
                )
        run_backward(self, grad, retain_graph)

    # Operators and methods (add, __getitem__, sum, reshape, ...) are attached by
    # strided.functional.methods, one layer up, so this module stays at the bottom.
    # Their signatures, declared for type checkers only (tests/test_tensor_methods_typed.py
    # keeps them in step with the attached functions):
    if TYPE_CHECKING:

        def __add__(self, b: Operand) -> Tensor: ...
        def __radd__(self, other: Operand) -> Tensor: ...
        def __sub__(self, b: Operand) -> Tensor: ...
        def __rsub__(self, other: Operand) -> Tensor: ...
        def __mul__(self, b: Operand) -> Tensor: ...
        def __rmul__(self, other: Operand) -> Tensor: ...
        def __truediv__(self, b: Operand) -> Tensor: ...
        def __rtruediv__(self, other: Operand) -> Tensor: ...
        def __pow__(self, b: Operand) -> Tensor: ...
        def __rpow__(self, other: Operand) -> Tensor: ...
        def __matmul__(self, b: Operand) -> Tensor: ...
        def __rmatmul__(self, other: Operand) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __eq__(self, other: object) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: object) -> Tensor: ...  # type: ignore[override]
        def __lt__(self, other: Operand) -> Tensor: ...
        def __le__(self, other: Operand) -> Tensor: ...
        def __gt__(self, other: Operand) -> Tensor: ...
        def __ge__(self, other: Operand) -> Tensor: ...
        def __getitem__(self, index: Any) -> Tensor: ...
        def __setitem__(self, index: Any, value: Operand) -> None: ...
        def __iadd__(self, other: Operand) -> Tensor: ...
        def __isub__(self, other: Operand) -> Tensor: ...
        def __imul__(self, other: Operand) -> Tensor: ...
        def __itruediv__(self, other: Operand) -> Tensor: ...
        def add(self, b: Operand) -> Tensor: ...
        def sub(self, b: Operand) -> Tensor: ...
        def mul(self, b: Operand) -> Tensor: ...
        def div(self, b: Operand) -> Tensor: ...
        def pow(self, b: Operand) -> Tensor: ...
        def neg(self) -> Tensor: ...
        def matmul(self, b: Operand) -> Tensor: ...
        def eq(self, b: Operand) -> Tensor: ...
        def ne(self, b: Operand) -> Tensor: ...
        def lt(self, b: Operand) -> Tensor: ...
        def le(self, b: Operand) -> Tensor: ...
        def gt(self, b: Operand) -> Tensor: ...
        def ge(self, b: Operand) -> Tensor: ...
        def add_(self, other: Operand) -> Tensor: ...
        def sub_(self, other: Operand) -> Tensor: ...
        def mul_(self, other: Operand) -> Tensor: ...
        def div_(self, other: Operand) -> Tensor: ...
        def fill_(self, value: Operand) -> Tensor: ...
        def zero_(self) -> Tensor: ...
        def copy_(self, src: Operand) -> Tensor: ...
        def clone(self) -> Tensor: ...
        def exp(self) -> Tensor: ...
        def log(self) -> Tensor: ...
        def sqrt(self) -> Tensor: ...
        def abs(self) -> Tensor: ...
        def sign(self) -> Tensor: ...
        def sin(self) -> Tensor: ...
        def cos(self) -> Tensor: ...
        def clip(self, min: Operand | None = None, max: Operand | None = None) -> Tensor: ...
        def clamp(self, min: Operand | None = None, max: Operand | None = None) -> Tensor: ...
        def maximum(self, b: Operand) -> Tensor: ...
        def minimum(self, b: Operand) -> Tensor: ...
        def relu(self) -> Tensor: ...
        def sigmoid(self) -> Tensor: ...
        def tanh(self) -> Tensor: ...
        def softmax(
            self,
            axis: builtins.int = -1,
            *,
            dim: builtins.int | None = None,
            dtype: DTypeLike | None = None,
        ) -> Tensor: ...
        def log_softmax(
            self,
            axis: builtins.int = -1,
            *,
            dim: builtins.int | None = None,
            dtype: DTypeLike | None = None,
        ) -> Tensor: ...
        def sum(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def mean(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def var(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            unbiased: builtins.bool | None = None,
            correction: builtins.int | None = None,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def std(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            unbiased: builtins.bool | None = None,
            correction: builtins.int | None = None,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        @overload
        def max(
            self,
            dim: None = None,
            keepdim: builtins.bool = False,
            *,
            axis: Axes = None,
            keepdims: builtins.bool = False,
        ) -> Tensor: ...
        @overload
        def max(self, dim: Tensor) -> Tensor: ...  # elementwise, with another tensor
        @overload
        def max(
            self,
            dim: builtins.int,
            keepdim: builtins.bool = False,
            *,
            axis: None = None,
            keepdims: builtins.bool = False,
        ) -> tuple[Tensor, Tensor]: ...  # (values, indices)
        def max(
            self,
            dim: builtins.int | Tensor | None = None,
            keepdim: builtins.bool = False,
            *,
            axis: Axes = None,
            keepdims: builtins.bool = False,
        ) -> Tensor | tuple[Tensor, Tensor]: ...
        @overload
        def min(
            self,
            dim: None = None,
            keepdim: builtins.bool = False,
            *,
            axis: Axes = None,
            keepdims: builtins.bool = False,
        ) -> Tensor: ...
        @overload
        def min(self, dim: Tensor) -> Tensor: ...  # elementwise, with another tensor
        @overload
        def min(
            self,
            dim: builtins.int,
            keepdim: builtins.bool = False,
            *,
            axis: None = None,
            keepdims: builtins.bool = False,
        ) -> tuple[Tensor, Tensor]: ...  # (values, indices)
        def min(
            self,
            dim: builtins.int | Tensor | None = None,
            keepdim: builtins.bool = False,
            *,
            axis: Axes = None,
            keepdims: builtins.bool = False,
        ) -> Tensor | tuple[Tensor, Tensor]: ...
        def amax(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def amin(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def argmax(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def argmin(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def logsumexp(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def any(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def all(
            self,
            axis: Axes = None,
            keepdims: builtins.bool = False,
            *,
            dim: Axes = None,
            keepdim: builtins.bool = False,
        ) -> Tensor: ...
        def reshape(self, *shape: Any) -> Tensor: ...
        def view(self, *shape: Any) -> Tensor: ...
        def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor: ...
        def transpose(self, dim0: builtins.int = -2, dim1: builtins.int = -1) -> Tensor: ...
        def permute(self, *dims: Any) -> Tensor: ...
        def squeeze(self, axis: Axes = None, *, dim: Axes = None) -> Tensor: ...
        def unsqueeze(
            self, axis: builtins.int | None = None, *, dim: builtins.int | None = None
        ) -> Tensor: ...
        def expand(self, *sizes: Any) -> Tensor: ...
        def broadcast_to(self, *shape: Any) -> Tensor: ...
        def split(
            self,
            split_size_or_sections: builtins.int | Sequence[builtins.int],
            axis: builtins.int = 0,
            *,
            dim: builtins.int | None = None,
        ) -> tuple[Tensor, ...]: ...
        def chunk(
            self, chunks: builtins.int, axis: builtins.int = 0, *, dim: builtins.int | None = None
        ) -> tuple[Tensor, ...]: ...
        @property
        def T(self) -> Tensor: ...
        @property
        def mT(self) -> Tensor: ...
        def reshape_as(self, other: Tensor) -> Tensor: ...
        def view_as(self, other: Tensor) -> Tensor: ...
        def expand_as(self, other: Tensor) -> Tensor: ...
        def astype(self, dtype: DTypeLike) -> Tensor: ...
        def to(self, *args: Any, dtype: DTypeLike | None = None, **kwargs: Any) -> Tensor: ...
        def cpu(self) -> Tensor: ...
        def cuda(self, device: Any = None) -> Tensor: ...
        def type(self, dtype: DTypeLike | None = None) -> Tensor | str: ...
        def float(self) -> Tensor: ...
        def double(self) -> Tensor: ...
        def long(self) -> Tensor: ...
        def int(self) -> Tensor: ...
        def bool(self) -> Tensor: ...
        def sort(
            self,
            dim: builtins.int = -1,
            descending: builtins.bool = False,
            stable: builtins.bool = False,
        ) -> tuple[Tensor, Tensor]: ...  # (values, indices)
        def argsort(
            self,
            dim: builtins.int = -1,
            descending: builtins.bool = False,
            stable: builtins.bool = False,
        ) -> Tensor: ...
        def topk(
            self,
            k: builtins.int,
            dim: builtins.int = -1,
            largest: builtins.bool = True,
            sorted: builtins.bool = True,
        ) -> tuple[Tensor, Tensor]: ...  # (values, indices)


def _topological_order(root: Tensor) -> list[Function]:
    """Functions reachable from `root`, each after all Functions that consume its output."""
    order: list[Function] = []
    visited: set[int] = set()
    if root._ctx is None:
        return order
    stack: list[tuple[Function, bool]] = [(root._ctx, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        if fn.inputs is None:
            continue
        for t in fn.inputs:
            if isinstance(t, Tensor) and t._ctx is not None and id(t._ctx) not in visited:
                stack.append((t._ctx, False))
    order.reverse()  # post-order reversed = consumers before producers
    return order


def sum_to_shape(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo broadcasting: sum `grad` over the axes that broadcasting added or stretched.

    Parameters
    ----------
    shape : tuple of int
        Shape to reduce the gradient to (the broadcast input's shape).
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        out = out.reshape(out.shape[lead:])
    return out.reshape(shape)


def queue_callback(callback: Any) -> None:
    """Run `callback()` once the backward pass now running has finished (as PyTorch's
    engine `queue_callback`); only valid inside a backward pass (from a hook)."""
    queued = getattr(_state, "backward_callbacks", None)
    if queued is None:
        raise RuntimeError("queue_callback: no backward pass is running")
    queued.append(callback)


class _LeafHooks:
    """Counts the gradient contributions each hooked leaf still awaits in one backward pass
    and fires its post-accumulate hooks when the count reaches zero."""

    def __init__(self, order: list[Function]):
        self.pending: dict[int, int] = {}
        self.leaves: dict[int, Tensor] = {}
        for fn in order:
            for t, need in zip(fn.inputs or (), fn.needs_input_grad, strict=False):
                if (
                    need
                    and isinstance(t, Tensor)
                    and t._ctx is None
                    and t.__dict__.get("_post_accumulate_hooks")
                ):
                    self.pending[id(t)] = self.pending.get(id(t), 0) + 1
                    self.leaves[id(t)] = t

    def settle(self, fn: Function) -> None:
        """`fn`'s contributions to hooked leaves have been made (or will never come)."""
        if not self.pending:
            return
        for t, need in zip(fn.inputs or (), fn.needs_input_grad, strict=False):
            key = id(t)
            if need and key in self.pending:
                self.pending[key] -= 1
                if self.pending[key] == 0:
                    del self.pending[key]
                    self._fire(self.leaves.pop(key))

    def finish(self) -> None:
        for key in list(self.pending):  # leaves some branch never reached
            del self.pending[key]
            self._fire(self.leaves.pop(key))

    @staticmethod
    def _fire(t: Tensor) -> None:
        if t.grad is not None:
            for hook in list(t.__dict__.get("_post_accumulate_hooks", ())):
                hook(t)


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    """The chain rule over the graph below `root`, seeded with dL/droot = grad; then the
    callbacks queued during the pass (`queue_callback`).

    Parameters
    ----------
    retain_graph : bool
        Keep the graph's saved tensors so backward can run through it again.
    """
    outer = getattr(_state, "backward_callbacks", None)
    _state.backward_callbacks = []
    try:
        _chain_rule(root, grad, retain_graph)
        callbacks, _state.backward_callbacks = _state.backward_callbacks, []
        for callback in callbacks:
            callback()
    finally:
        _state.backward_callbacks = outer


def _chain_rule(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    shared = {id(grad)}  # arrays someone else holds: the caller's seed, leaves' grads
    if root._ctx is None:  # a leaf: its gradient is the seed
        _accumulate_leaf(root, grad, shared)
        _LeafHooks._fire(root)
        return
    grads: dict[int, np.ndarray] = {id(root): grad}
    order = _topological_order(root)
    hooks = _LeafHooks(order)
    for fn in order:
        if fn.inputs is None:
            raise RuntimeError(
                f"backward: trying to backward through {type(fn).__name__} a second time; "
                "its saved arrays were freed by the first backward. "
                "Pass retain_graph=True to the first call if you need to go through twice."
            )
        out = fn.output_ref()
        g = grads.pop(fn.output_id, None)
        if g is None:  # no path from root through this node's output
            hooks.settle(fn)
            continue
        if out is not None and out._retain_grad:
            _accumulate_leaf(out, g, shared)
        for t, v in zip(fn.inputs, fn.input_versions, strict=True):
            if isinstance(t, Tensor) and t._version != v:
                raise RuntimeError(
                    f"backward: an input of {type(fn).__name__} (shape {t.shape}) was "
                    "modified in place after it was used; use an out-of-place operation"
                )
        in_grads = fn.backward(g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if len(in_grads) != len(fn.inputs):
            raise RuntimeError(
                f"{type(fn).__name__}.backward returned {len(in_grads)} gradients "
                f"for {len(fn.inputs)} inputs"
            )
        for t, need, gi in zip(fn.inputs, fn.needs_input_grad, in_grads, strict=True):
            if not need or gi is None:
                continue
            if type(gi) is not np.ndarray and device_of(gi) != device_of(t.data):
                raise RuntimeError(
                    f"{type(fn).__name__}.backward returned a gradient on {device_of(gi)} "
                    f"for an input on {device_of(t.data)}"
                )
            gi = sum_to_shape(gi, t.shape)
            if gi.dtype != t.dtype:
                gi = gi.astype(t.dtype)
            if t._ctx is None:
                _accumulate_leaf(t, gi, shared)
            else:
                key = id(t)
                prev = grads.get(key)
                grads[key] = gi if prev is None else prev + gi
        hooks.settle(fn)
        if not retain_graph:
            fn.release()
    hooks.finish()


def _accumulate_leaf(t: Tensor, g: np.ndarray, shared: set) -> None:
    """t.grad += g. A fresh array that no one else holds becomes the grad as it is: the
    engine and every backward treat gradient arrays as read-only, so only the leaf's owner
    writes it. Anything possibly shared (a view, the caller's seed, an array another leaf
    already holds) is copied, so an in-place edit of one .grad never reaches another."""
    if t.grad is None:
        # CuPy's arrays have no writeable flag: they are always writeable
        if g.base is not None or id(g) in shared or not getattr(g.flags, "writeable", True):
            g = g.astype(t.dtype, copy=True)
        shared.add(id(g))
        t.grad = tensor_of(g)
    else:
        t.grad.data = t.grad.data + g


# ---------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------


# inputs of these types are on the CPU; anything else may be an array on a device
_HOST_TYPES = frozenset(
    {np.ndarray, int, float, bool, type(None), tuple, list, str, np.float32, np.float64}
    | {np.int64, np.int32, np.bool_, np.float16, np.int8, np.int16, np.uint8, np.uint16}
    | {np.uint32, np.uint64}
)


class Function:
    """One differentiable operation: a node of the graph.

    Subclasses implement `forward(*arrays) -> array` on raw ndarrays, saving on `self`
    what backward needs, and `backward(grad) -> gradient or tuple of gradients`, one per
    input (None where `self.needs_input_grad[i]` is False). Broadcast gradients need not
    be reduced: the engine sums them back to each input's shape.

    Keyword arguments of `apply` are the operation's parameters and go to `__init__`.

    `forward` may also return a tuple of arrays, all but one of them passed to
    `self.mark_non_differentiable(...)` (as PyTorch's `ctx.mark_non_differentiable`):
    integer results such as max pooling's argmax indices. Such an operation is run with
    `apply_multi`, which returns a tuple of Tensors in the same order; the marked ones never
    require grad, and `backward` still receives the gradient of the one differentiable
    output only.
    """

    # True for the one operation whose output is on another device than its input (.to)
    moves_device = False
    inputs: tuple | None
    needs_input_grad: tuple[bool, ...]
    input_versions: tuple[int, ...]
    output_id: int
    output_ref: weakref.ref[Tensor]

    if TYPE_CHECKING:
        # The operation's parameters (apply's keyword arguments) and what forward saves
        # for backward are attributes that each subclass sets on itself.
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, **params: Any) -> None:
        for k, v in params.items():
            setattr(self, k, v)

    def mark_non_differentiable(self, *arrays: np.ndarray) -> None:
        """Call from `forward` on the outputs no gradient flows through (returned beside
        the differentiable one)."""
        marked: set[int] = getattr(self, "_non_differentiable", set())
        self._non_differentiable = marked | {id(a) for a in arrays}

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run the operation on `inputs` (Tensors, arrays or constants) and record it."""
        out, outs = cls._run(inputs, params)
        if isinstance(outs, tuple):
            raise TypeError(
                f"{cls.__name__}.forward returned {len(outs)} outputs; run it with apply_multi"
            )
        return out

    @classmethod
    def apply_multi(cls, *inputs: Any, **params: Any) -> tuple[Tensor, ...]:
        """`apply` for a forward that returns a tuple: every output, in order."""
        _, outs = cls._run(inputs, params)
        if not isinstance(outs, tuple):
            raise TypeError(f"{cls.__name__}.forward returned one output; run it with apply")
        return outs

    @classmethod
    def _run(
        cls, inputs: tuple, params: dict[str, Any]
    ) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
        """The differentiable output, and every output (the same Tensor when only one)."""
        fn = cls(**params)
        arrays = [t.data if isinstance(t, Tensor) else t for t in inputs]
        fn.needs_input_grad = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
        record = is_grad_enabled() and any(fn.needs_input_grad)
        if not record:
            fn.needs_input_grad = (False,) * len(inputs)
        on_device = not (cls.moves_device or _HOST_TYPES.issuperset(map(type, arrays)))
        if on_device:
            where = common_device(arrays, cls.__name__)
        result = fn.forward(*arrays)
        if on_device:
            for r in result if isinstance(result, tuple) else (result,):
                if device_of(r) != where:
                    raise RuntimeError(
                        f"{cls.__name__}.forward returned an array on {device_of(r)} "
                        f"for inputs on {where}"
                    )
        outs: Tensor | tuple[Tensor, ...]
        if isinstance(result, tuple):
            marked = vars(fn).pop("_non_differentiable", set())
            free = [i for i, a in enumerate(result) if id(a) not in marked]
            if len(free) != 1:
                raise TypeError(
                    f"{cls.__name__}.forward returned {len(result)} outputs; all "
                    f"but one must be marked non-differentiable, {len(free)} are "
                    "not"
                )
            outs = tuple(tensor_of(a) for a in result)
            out = outs[free[0]]
        else:
            outs = out = tensor_of(result)
        tracer = getattr(_state, "tracer", None)
        if tracer is not None:
            tracer(fn, inputs, params, outs)
        cls._record(fn, inputs, out, record)
        return out, outs

    @staticmethod
    def _record(fn: Function, inputs: tuple, out: Tensor, record: bool) -> Tensor:
        """Make `fn` the creator of `out` (when recording a graph)."""
        if out.data.base is not None:  # a view of an input: writes through either count
            for t in inputs:
                if isinstance(t, Tensor) and np.may_share_memory(out.data, t.data):
                    out._version_box = t._version_box
                    break
        if record:
            fn.inputs = tuple(inputs)
            fn.input_versions = tuple(t._version if isinstance(t, Tensor) else 0 for t in inputs)
            fn.output_id = id(out)
            fn.output_ref = weakref.ref(out)
            out._ctx = fn
            out._requires_grad = is_floating(out.dtype)
        return out

    def forward(self, *arrays: Any) -> np.ndarray | tuple[np.ndarray, ...]:
        """The operation on raw arrays; save on `self` what `backward` needs."""
        raise NotImplementedError  # pragma: no cover - abstract

    def backward(self, grad: np.ndarray) -> Grads:
        """The gradient for each input (None where not needed), given the output's."""
        raise NotImplementedError  # pragma: no cover - abstract

    def release(self) -> None:
        """Drop the inputs and saved arrays; a second backward through here then fails."""
        keep = {"needs_input_grad", "output_id", "output_ref"}
        for k in list(vars(self)):
            if k not in keep:
                delattr(self, k)
        self.inputs = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def scalar_like(value: Any, like: Tensor) -> np.generic | None:
    """`value`, when it is a number (a Python or NumPy scalar, or a 0-d NumPy array), as a
    NumPy scalar of the dtype it takes beside `like`; None for anything else.

    A number takes `like`'s dtype (a float with an integer tensor takes the default float
    dtype), so float32 op 0.5 stays float32. A NumPy scalar is what every array module
    accepts beside its arrays as it is: no copy to the tensor's device.
    """
    if isinstance(value, np.ndarray):
        if value.ndim:
            return None
        value = value[()]
    elif not isinstance(value, (bool, int, float, np.number, np.bool_)):
        return None
    if isinstance(value, (float, np.floating)) and not is_floating(like.dtype):
        return get_default_dtype().type(value)
    return like.dtype.type(value)


def as_tensor_like(value: Any, like: Tensor) -> Tensor:
    """`value` as a Tensor for an operation with `like`, without silent upcasting.

    Numbers take `like`'s dtype (see `scalar_like`) and device, as do lists; tensors keep
    theirs, and arrays stay where they are (a NumPy array on the CPU).
    """
    if isinstance(value, Tensor):
        return value
    scalar = scalar_like(value, like)
    if scalar is not None:
        return Tensor(np.asarray(scalar), device=like.device)
    if isinstance(value, (list, tuple)):
        return Tensor(value, device=like.device)
    if isinstance(value, np.ndarray) or backend_of(value).name != "cpu":
        return tensor_of(value)
    raise TypeError(f"expected a Tensor, array or number, got {type(value).__name__}")
