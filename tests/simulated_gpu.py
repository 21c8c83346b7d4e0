"""A simulated GPU for the CPU test run: device type 'sim', whose arrays act as CuPy's do.

CuPy's arrays refuse what would silently copy between host and device: `np.asarray(a)`, a
NumPy array mixed into an operation, a Numba kernel. `SimArray` wraps a NumPy array and
refuses the same things, so the whole library can be run "on a GPU" on a machine without
one, and every place that still assumes NumPy fails loudly, with the line that did it.

What it enforces:
- NumPy functions and ufuncs called on SimArrays run (as CuPy's `__array_function__` and
  `__array_ufunc__` make them run) only when every array argument is a SimArray; a NumPy
  array among them raises TypeError, as CuPy does;
- implicit conversion to NumPy (`np.asarray`, `np.array`, NumPy-only routines) raises, from
  the library and from tests alike (tests compare through `np.testing`, whose assertions
  conftest makes copy device arrays explicitly, or through `.cpu()`);
- a NumPy function, ufunc method, array method or module attribute that CuPy lacks raises as
  it would on the GPU (asked of CuPy where it imports — it does without a GPU — else of
  tests/cupy_api.txt, the names CuPy 14 has, written by tests/cupy_api_names.py);
- `.flags` has no `writeable`, reductions return 0-d arrays, not NumPy scalars;
- transfers are counted: `SimBackend.to_host_count` and `to_device_count`.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
import types
from typing import Any

import numpy as np

import strided
from strided.device import Backend, register_backend

_LIBRARY = os.path.dirname(os.path.abspath(strided.__file__))
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))
_HERE = os.path.abspath(__file__)

try:
    _cupy: Any = importlib.import_module("cupy")
except Exception:  # not installed (CI): the names CuPy has come from tests/cupy_api.txt
    _cupy = None

_API_FILE = os.path.join(os.path.dirname(_HERE), "cupy_api.txt")
with open(_API_FILE, encoding="utf-8") as _file:
    CUPY_NAMES = frozenset(line.strip() for line in _file if not line.startswith("#"))


def cupy_has(path: str) -> bool:
    """Whether CuPy has the object at dotted `path` ('linalg.norm', 'add.at',
    'ndarray.reshape'): asked of CuPy where it imports, else of the list it wrote."""
    if _cupy is None:
        return path in CUPY_NAMES
    obj = _cupy
    for part in path.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def check_arguments(path: str, args: Any, kwargs: Any) -> None:
    """Where CuPy imports, refuse arguments its routine at `path` does not take (a keyword
    NumPy has and CuPy lacks, say), as the GPU would."""
    if _cupy is None or not kwargs:
        return
    obj = _cupy
    for part in path.split("."):
        obj = getattr(obj, part)
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a compiled routine: nothing to read
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(
            f"simulated GPU: cupy.{path} does not take these arguments: {error}"
        ) from None


def _library_caller() -> str | None:
    """'file:line' of the nearest caller inside the strided package, skipping NumPy and
    this file; None when the call came from elsewhere (a test)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        if not (name.startswith(_NUMPY) or name == _HERE):
            return f"{name}:{frame.f_lineno}" if name.startswith(_LIBRARY) else None
        frame = frame.f_back
    return None


def _refuse_in_library(what: str) -> None:
    # refused from tests too, as CuPy does: tests read results through np.testing (made to
    # copy device arrays explicitly in conftest), .cpu() or strided.device.to_numpy
    raise TypeError(
        f"simulated GPU: {what} is not allowed on a device array "
        f"({_library_caller() or 'called from a test'}); use .get() / Tensor.cpu()"
    )


def unwrap(x: Any, allow_host: bool = False) -> Any:
    """The NumPy arrays inside `x`; a NumPy array found there is refused (as by CuPy)
    unless `allow_host`."""
    if isinstance(x, SimArray):
        return x._a
    if isinstance(x, np.ndarray):
        if allow_host:
            return x
        raise TypeError(
            f"simulated GPU: unsupported type numpy.ndarray (shape {x.shape}) mixed with "
            f"device arrays ({_library_caller() or 'called from a test'})"
        )
    if isinstance(x, list):
        return [unwrap(v, allow_host) for v in x]
    if isinstance(x, tuple):
        return tuple(unwrap(v, allow_host) for v in x)
    if isinstance(x, dict):
        return {k: unwrap(v, allow_host) for k, v in x.items()}
    return x


def wrap(x: Any) -> Any:
    """Device arrays for the NumPy arrays in `x`; NumPy scalars become 0-d arrays."""
    if isinstance(x, np.ndarray):
        return SimArray(x)
    if isinstance(x, np.generic):
        return SimArray(np.asarray(x))
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(wrap(v) for v in x)
    if isinstance(x, list):
        return [wrap(v) for v in x]
    if isinstance(x, np.random.Generator):
        return _Proxy(x, "random.Generator")
    return x


class _Flags:
    """CuPy's flags: no `writeable`."""

    def __init__(self, a: np.ndarray) -> None:
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, key: str) -> bool:
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous}[key]


class _MemoryPointer:
    """Stands for cupy.cuda.MemoryPointer: opaque."""


class _Device:
    id = 0

    def synchronize(self) -> None:
        pass


class SimArray:
    """A NumPy array "on the simulated GPU"."""

    __slots__ = ("_a",)
    __array_priority__ = 100
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    # -- what CuPy refuses ---------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        _refuse_in_library("implicit conversion to a NumPy array")
        SimBackend.to_host_count += 1
        return self._a if dtype is None else self._a.astype(dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if not cupy_has(ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"):
            raise TypeError(f"simulated GPU: CuPy has no {ufunc.__name__}.{method}")
        out = kwargs.get("out")
        raw = getattr(ufunc, method)(*unwrap(inputs), **unwrap(kwargs))
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return wrap(raw)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        module = (func.__module__ or "numpy").replace("numpy", "", 1).strip(".")
        path = ".".join(p for p in (module, func.__name__) if p)
        if not cupy_has(path):
            raise TypeError(f"simulated GPU: CuPy has no {path} (numpy.{path} called)")
        check_arguments(path, args, kwargs)
        return wrap(func(*unwrap(args), **unwrap(kwargs)))

    # -- what CuPy allows (a synchronising read) --------------------------------------------
    def get(self) -> np.ndarray:
        SimBackend.to_host_count += 1
        return self._a.copy()

    def item(self) -> Any:
        SimBackend.to_host_count += 1
        return self._a.item()

    def tolist(self) -> Any:
        SimBackend.to_host_count += 1
        return self._a.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._a.dtype.kind not in "iub":
            raise TypeError("only integer arrays can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        SimBackend.to_host_count += 1
        return bool(self._a)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (wrap(v) for v in self._a)

    def __repr__(self) -> str:
        return "sim" + repr(self._a)[5:] if repr(self._a).startswith("array") else repr(self._a)

    def __copy__(self) -> SimArray:
        return SimArray(self._a.copy())

    def __deepcopy__(self, memo: dict) -> SimArray:
        return SimArray(self._a.copy())

    # -- attributes --------------------------------------------------------------------------
    @property
    def flags(self) -> _Flags:
        return _Flags(self._a)

    @property
    def base(self) -> SimArray | None:
        return None if self._a.base is None else SimArray(self._a.base)

    @property
    def device(self) -> _Device:
        return _Device()

    @property
    def data(self) -> object:
        """CuPy's `.data` is the memory pointer, not an array: code that takes `x.data` of
        whatever it is given (meaning a Tensor's) must not get an array from it."""
        return _MemoryPointer()

    def __getattr__(self, name: str) -> Any:
        if not cupy_has(f"ndarray.{name}"):
            raise AttributeError(f"simulated GPU: cupy.ndarray has no attribute {name!r}")
        value = getattr(self._a, name)
        if not callable(value):
            return wrap(value) if isinstance(value, np.ndarray) else value
        a = self._a

        def method(*args: Any, **kwargs: Any) -> Any:
            result = value(*unwrap(args), **unwrap(kwargs))
            return self if result is a else wrap(result)

        return method

    def __getitem__(self, index: Any) -> Any:
        return wrap(self._a[unwrap(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._a[unwrap(index)] = unwrap(value)


def _operator(name: str, ufunc: np.ufunc, reflected: bool = False, inplace: bool = False) -> None:
    def op(self: SimArray, other: Any) -> Any:
        if isinstance(other, np.ndarray):
            unwrap(other)  # raises
        if inplace:
            ufunc(self._a, unwrap(other), out=self._a)
            return self
        a, b = (other, self) if reflected else (self, other)
        return wrap(ufunc(unwrap(a), unwrap(b)))

    op.__name__ = name
    setattr(SimArray, name, op)


for _name, _ufunc in {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "floordiv": np.floor_divide,
    "mod": np.remainder,
    "pow": np.power,
    "matmul": np.matmul,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
    "lshift": np.left_shift,
    "rshift": np.right_shift,
}.items():
    _operator(f"__{_name}__", _ufunc)
    _operator(f"__r{_name}__", _ufunc, reflected=True)
    _operator(f"__i{_name}__", _ufunc, inplace=True)
for _name, _ufunc in {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}.items():
    _operator(f"__{_name}__", _ufunc)
for _name, _ufunc in {
    "neg": np.negative,
    "pos": np.positive,
    "abs": np.absolute,
    "invert": np.invert,
}.items():
    setattr(SimArray, f"__{_name}__", lambda self, _u=_ufunc: wrap(_u(self._a)))


class _Proxy:
    """A NumPy object (a module, a ufunc, a random Generator) seen through the simulated
    device: what it returns is on the device, what it is given must be."""

    # the routines that copy host data onto the device, as cupy.asarray does
    HOST_IN = {"asarray", "array", "asanyarray", "ascontiguousarray", "asfortranarray"}

    def __init__(self, target: Any, path: str) -> None:
        self._target = target
        self._path = path

    def __getattr__(self, name: str) -> Any:
        path = f"{self._path}.{name}" if self._path else name
        if name == "ndarray" and not self._path:
            return SimArray
        if name == "asnumpy" and not self._path:
            return lambda a: a.get() if isinstance(a, SimArray) else np.asarray(a)
        if name == "get_array_module" and not self._path:
            return lambda *a: SIM_MODULE if any(isinstance(v, SimArray) for v in a) else np
        if not cupy_has(path):
            raise AttributeError(f"simulated GPU: CuPy has no {path}")
        value = getattr(self._target, name)
        if isinstance(value, (types.ModuleType, np.ufunc)):
            return _Proxy(value, path)
        if isinstance(value, type) or not callable(value):
            return value
        allow_host = name in self.HOST_IN

        def routine(*args: Any, **kwargs: Any) -> Any:
            if not self._path.startswith("random.Generator"):
                check_arguments(path, args, kwargs)
            if allow_host and not (args and isinstance(args[0], SimArray)):
                SimBackend.to_device_count += 1  # not for a device array: no copy
            return wrap(value(*unwrap(args, allow_host), **unwrap(kwargs, allow_host)))

        return routine

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return wrap(self._target(*unwrap(args), **unwrap(kwargs)))


SIM_MODULE: Any = _Proxy(np, "")


class SimBackend(Backend):
    """The 'sim' device type, backed by NumPy through SimArray."""

    name = "sim"
    to_host_count = 0
    to_device_count = 0

    def module(self) -> Any:
        return SIM_MODULE

    def owns(self, array: Any) -> bool:
        return isinstance(array, SimArray)

    def index_of(self, array: Any) -> int:
        return 0

    def selected(self, index: int | None) -> Any:
        return contextlib.nullcontext()

    def to_device(self, array: np.ndarray, index: int | None) -> SimArray:
        SimBackend.to_device_count += 1
        return SimArray(np.array(array, copy=True))

    def to_host(self, array: Any) -> np.ndarray:
        return array.get()


def install() -> None:
    """Make 'sim' a device type (idempotent)."""
    register_backend(SimBackend())
