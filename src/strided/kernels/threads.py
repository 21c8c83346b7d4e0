"""One thread setting for the whole library: Numba's pool and OpenBLAS's, sized together.

strided computes on two thread pools: Numba's, which runs the compiled kernels' `prange`
loops, and the OpenBLAS bundled with NumPy, which runs the matrix products. They never run
at the same time — a compiled kernel never calls BLAS, and NumPy never calls a kernel — so
giving each the same n threads keeps at most n threads busy (no oversubscription), where
leaving each at its own default would let both spin over the same cores.

At import the setting is taken from NUMBA_NUM_THREADS, else OMP_NUM_THREADS, else the
number of CPUs this process may run on; `set_num_threads(n)` changes both pools at once.
OpenBLAS is reached through ctypes in the library NumPy already loaded, so no package is
added for it; if it cannot be found (another BLAS), only Numba's pool is set.

Numba's OpenMP threads are started with a passive wait policy (unless OMP_WAIT_POLICY says
otherwise): between kernels they sleep instead of spinning, so they do not take the cores
from OpenBLAS's threads or from other processes. On a shared 2-core machine under load a
2-thread BatchNorm pass took 5-25 ms with spinning threads and 0.6 ms with sleeping ones.
OpenMP reads the policy once per process, so another library that later loads the same
libgomp (PyTorch's CPU wheel does) sleeps between its parallel regions too; set
OMP_WAIT_POLICY yourself to choose otherwise.
"""

from __future__ import annotations

import ctypes
import numbers
import os

from .compiled import numba

# the set-threads entry points of NumPy's bundled OpenBLAS (scipy-openblas, 64-bit ints)
# and of a system OpenBLAS, tried in this order
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (NumPy's first)."""
    import numpy  # noqa: F401  (NumPy loads its OpenBLAS on import)

    paths: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:  # no /proc: look beside NumPy
        folder = os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs")
        if os.path.isdir(folder):
            paths = [
                os.path.join(folder, f)
                for f in sorted(os.listdir(folder))
                if "openblas" in f.lower()
            ]
    return paths


def _find(names: tuple) -> list:
    found = []
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            function = getattr(lib, name, None)
            if function is not None:
                found.append(function)
                break
    return found


_blas_setters = _find(_SETTERS)
_blas_getters = _find(_GETTERS)
for _f in _blas_getters:
    _f.restype = ctypes.c_int


def _numba_limit() -> int:
    """The most threads Numba's pool can use: its size, fixed when Numba starts."""
    return int(numba.config.NUMBA_NUM_THREADS) if numba is not None else _cpu_count()


def _initial() -> int:
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip().split(",")[0]
        if value.isdigit() and int(value) > 0:
            return min(int(value), _numba_limit())
    return min(_cpu_count(), _numba_limit())


_threads = _initial()


def get_num_threads() -> int:
    """The number of threads strided computes with (compiled kernels and BLAS alike)."""
    return _threads


def blas_num_threads() -> int | None:
    """The thread count OpenBLAS reports, or None where no OpenBLAS was found."""
    return int(_blas_getters[0]()) if _blas_getters else None


def set_num_threads(n: int) -> int:
    """Compute on `n` threads: Numba's pool (the compiled kernels) and OpenBLAS's (the
    matrix products) are both set to n. Returns the previous setting.

    Parameters
    ----------
    n : int
        Threads to use, from 1 to the size of Numba's pool, which is fixed when Numba
        starts (NUMBA_NUM_THREADS, default the number of CPUs).

    Notes
    -----
    Numba keeps this setting per Python thread; kernels run from another thread (a
    background loader) use the value that thread last set, or the pool's size.
    """
    global _threads
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    n = int(n)
    limit = _numba_limit()
    if not 1 <= n <= limit:
        raise ValueError(
            f"set_num_threads: n must be between 1 and {limit} (the size of "
            f"Numba's thread pool, fixed at start by NUMBA_NUM_THREADS), got {n}"
        )
    previous, _threads = _threads, n
    _apply(n)
    return previous


def _start_numba_pool() -> None:
    """Start Numba's threads now, with OMP_WAIT_POLICY=PASSIVE unless the user chose one
    (OpenMP reads the variable once, when it starts; the environment is then restored)."""
    if numba is None:
        return
    chosen = os.environ.get("OMP_WAIT_POLICY")
    if chosen is None:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        numba.get_num_threads()  # launches the threading layer
    finally:
        if chosen is None:
            del os.environ["OMP_WAIT_POLICY"]


def _apply(n: int) -> None:
    if numba is not None:
        numba.set_num_threads(n)
    for setter in _blas_setters:
        setter(n)


_start_numba_pool()
# honour OMP_NUM_THREADS for Numba too (OpenBLAS reads it itself), and keep the two pools
# the same size when only one of the variables is set
if _threads != _numba_limit() or _threads != (blas_num_threads() or _threads):
    _apply(_threads)
