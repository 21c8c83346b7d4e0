"""Devices: where a tensor's array lives, and the array module that computes on it.

A tensor's data is a NumPy array on the CPU or a CuPy array on an NVIDIA GPU; every
operation asks its arrays for their module (`array_module`, as Chainer's
`get_array_module`) and calls it, so one code path serves both. A `Backend` is what a
device type needs: its array module, how to move arrays onto and off it, and which device
an array is on. "cpu" (NumPy) and "cuda" (CuPy, imported only when first asked for) are
built in; `register_backend` adds another type (the test suite registers a simulated GPU
that runs on the CPU but refuses NumPy as strictly as CuPy does).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import numpy as np


class Device:
    """A device: a type ('cpu', 'cuda', ...) and, for accelerators, an index.

    `strided.device("cuda")` is the current CUDA device (index 0 unless set), "cuda:1" the
    second; "cpu" has no index. Devices compare equal by type and index.

    Parameters
    ----------
    type : str
        The device type, 'cpu' or 'cuda' (or a type added by `register_backend`).
    index : int or None
        Which device of that type; None for the CPU (and for 'cuda', device 0).
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str, index: int | None = None) -> None:
        if type not in _backends:
            known = ", ".join(sorted(_backends))
            raise ValueError(f"device: unknown device type {type!r}; expected one of {known}")
        if index is not None and (not isinstance(index, (int, np.integer)) or index < 0):
            raise ValueError(f"device: the index must be a non-negative int, got {index!r}")
        if type == "cpu" and index not in (None, 0):
            raise ValueError(f"device: there is one CPU device, got index {index}")
        self.type = type
        self.index = None if type == "cpu" else int(index or 0)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        return isinstance(other, Device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type={self.type!r}" + (
            ")" if self.index is None else f", index={self.index})"
        )

    @property
    def backend(self) -> Backend:
        return _backends[self.type]

    def new(self, make: str, *args: Any, **kwargs: Any) -> Any:
        """`xp.<make>(*args, **kwargs)` of this device's array module, made on this device
        (`new("zeros", (2, 3), np.float32)`)."""
        backend = self.backend
        with backend.selected(self.index):
            return getattr(backend.module(), make)(*args, **kwargs)


def device(spec: str | Device | None = None, index: int | None = None) -> Device:
    """The `Device` named by `spec`: "cpu", "cuda", "cuda:1", or a Device (returned as is).

    None gives the default device (the CPU unless `set_default_device` changed it).

    Parameters
    ----------
    spec : str, Device or None
        The device's name, with an optional ":index".
    index : int or None
        The index, when not given in `spec`.
    """
    if spec is None:
        return _default_device
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"device: expected a string such as 'cpu' or 'cuda:0', got {type(spec).__name__}"
        )
    name, _, number = spec.strip().lower().partition(":")
    if number:
        if index is not None:
            raise ValueError(f"device: {spec!r} already names an index; do not pass index=")
        if not number.isdigit():
            raise ValueError(f"device: invalid device string {spec!r}")
        index = int(number)
    return Device(name, index)


class Backend:
    """What a device type needs. Subclasses set `name` and implement the methods.

    `module()` is the array module (numpy, cupy); `owns(a)` tells whether an array belongs
    to this backend; `index_of(a)` is the device index of one of its arrays; `to_device`
    copies a host (NumPy) array onto device `index`; `to_host` copies one back.
    """

    name = ""

    def module(self) -> ModuleType:
        raise NotImplementedError  # pragma: no cover - abstract

    def owns(self, array: Any) -> bool:
        raise NotImplementedError  # pragma: no cover - abstract

    def index_of(self, array: Any) -> int | None:
        return None

    def to_device(self, array: np.ndarray, index: int | None) -> Any:
        raise NotImplementedError  # pragma: no cover - abstract

    def to_host(self, array: Any) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def selected(self, index: int | None) -> Any:
        """A context in which new arrays are made on device `index`."""
        return contextlib.nullcontext()

    def is_available(self) -> bool:
        return True

    def device_count(self) -> int:
        return 1

    def synchronize(self, index: int | None = None) -> None:
        """Wait until every operation queued on the device has finished."""


class CpuBackend(Backend):
    """The CPU, through NumPy."""

    name = "cpu"

    def module(self) -> ModuleType:
        return np

    def owns(self, array: Any) -> bool:
        return isinstance(array, (np.ndarray, np.generic))

    def to_device(self, array: np.ndarray, index: int | None) -> np.ndarray:
        return array

    def to_host(self, array: Any) -> np.ndarray:
        return array


class CudaBackend(Backend):
    """NVIDIA GPUs through CuPy, imported on first use."""

    name = "cuda"
    _cupy: ModuleType | None = None

    def module(self) -> ModuleType:
        if self._cupy is None:
            try:
                self._cupy = importlib.import_module("cupy")
            except ImportError:
                raise RuntimeError(
                    "strided: the 'cuda' device needs CuPy; install it with "
                    "pip install 'strided[cuda]'"
                ) from None
        return self._cupy

    def owns(self, array: Any) -> bool:
        # without cupy imported, no array can be a CuPy array
        return self._cupy is not None and isinstance(array, self._cupy.ndarray)

    def index_of(self, array: Any) -> int:
        return int(array.device.id)

    def selected(self, index: int | None) -> Any:
        return self.module().cuda.Device(index or 0)

    def to_device(self, array: np.ndarray, index: int | None) -> Any:
        with self.selected(index):
            return self.module().asarray(array)

    def to_host(self, array: Any) -> np.ndarray:
        return array.get()

    def is_available(self) -> bool:
        return self.device_count() > 0

    def device_count(self) -> int:
        try:
            cp = self.module()
            return int(cp.cuda.runtime.getDeviceCount())
        except Exception:  # no CuPy, no driver, or no GPU: none here
            return 0

    def synchronize(self, index: int | None = None) -> None:
        self.module().cuda.Device(index or 0).synchronize()


_backends: dict[str, Backend] = {"cpu": CpuBackend(), "cuda": CudaBackend()}
CPU = Device("cpu")
_default_device = CPU


def register_backend(backend: Backend) -> None:
    """Add (or replace) the backend of the device type `backend.name`.

    Parameters
    ----------
    backend : Backend
        The device type's array module and transfers.
    """
    if not backend.name or ":" in backend.name:
        raise ValueError(f"register_backend: invalid device type name {backend.name!r}")
    _backends[backend.name] = backend


def unregister_backend(name: str) -> None:
    """Remove a device type added by `register_backend` (not 'cpu' or 'cuda').

    Parameters
    ----------
    name : str
        The device type.
    """
    if name in ("cpu", "cuda"):
        raise ValueError(f"unregister_backend: {name!r} is built in")
    _backends.pop(name, None)


def backend_of(array: Any) -> Backend:
    """The backend that owns `array` (the CPU for NumPy arrays and Python values)."""
    if type(array) is np.ndarray:  # the common case, first
        return _backends["cpu"]
    for backend in _backends.values():
        if backend.name != "cpu" and backend.owns(array):
            return backend
    return _backends["cpu"]


def device_of(array: Any) -> Device:
    """The device `array` lives on."""
    backend = backend_of(array)
    if backend.name == "cpu":
        return CPU
    return Device(backend.name, backend.index_of(array))


def array_module(*arrays: Any) -> ModuleType:
    """numpy, or the array module of the first array that is not on the CPU."""
    for a in arrays:
        if type(a) is not np.ndarray and a is not None:
            backend = backend_of(a)
            if backend.name != "cpu":
                return backend.module()
    return np


def on_cpu(*arrays: Any) -> bool:
    """True when every one of `arrays` is a NumPy array (or a Python/NumPy value)."""
    return all(type(a) is np.ndarray or backend_of(a).name == "cpu" for a in arrays)


def move(array: Any, to: Device | str) -> Any:
    """`array` on device `to`: the array itself when it is there already, else a copy.

    Parameters
    ----------
    array : array
        A NumPy or device array.
    to : str or Device
        The destination.
    """
    to = device(to)
    here = device_of(array)
    if here == to:
        return array
    host = here.backend.to_host(array) if here.type != "cpu" else np.asarray(array)
    return to.backend.to_device(host, to.index)


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy copy of `array` wherever it lives (the array itself when on the CPU)."""
    return backend_of(array).to_host(array)


def common_device(arrays: Iterable[Any], op: str) -> Device:
    """The one device that all of `arrays` (non-arrays ignored) live on, or an error that
    names the operation and both devices.

    Parameters
    ----------
    arrays : iterable
        The operation's inputs; Python and NumPy scalars and None are skipped.
    op : str
        The operation's name, for the error.
    """
    found: Device | None = None
    for a in arrays:
        if a is None or isinstance(a, (int, float, bool, complex, np.generic)):
            continue
        d = CPU if type(a) is np.ndarray else device_of(a)
        if found is None:
            found = d
        elif d != found:
            raise RuntimeError(
                f"{op}: expected all tensors on the same device, but found at least two "
                f"devices, {found} and {d}"
            )
    return found or CPU


def get_default_device() -> Device:
    """The device that new tensors are created on when no `device=` is given."""
    return _default_device


def set_default_device(spec: str | Device | None) -> None:
    """Create new tensors on `spec` from now on (None: back to the CPU), as
    `torch.set_default_device` does.

    Parameters
    ----------
    spec : str, Device or None
        The device, e.g. 'cuda'.
    """
    global _default_device
    _default_device = CPU if spec is None else device(spec)
