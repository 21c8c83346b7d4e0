"""Which kernels run: the compiled ones (Numba) or the NumPy reference.

The NumPy kernels are the reference: the im2col / col2im / rotated-kernel code that reads
like the notes and the oracle every compiled kernel is tested against. The compiled kernels
sit beside them and are used when Numba imports and nobody asked for the reference, either
with `STRIDED_KERNELS=numpy` in the environment or with `use_kernels("numpy")` at run time.

Every compiled kernel is declared with `jit` so that all of them share one set of compiler
options: cached on disk (Numba falls back to a user cache folder when the package is
installed somewhere read-only), `nogil`, and the fast-math flags that let LLVM reorder sums
and vectorise — but not `nnan`/`ninf`, because max pooling and the losses must see NaNs and
infinities as PyTorch does.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

numba: Any  # the module, or None without it (Numba has no type stubs)
try:
    import numba as _numba

    numba = _numba
    _NUMBA_ERROR: str | None = None
except Exception as error:  # ImportError, or a Numba built against another NumPy
    numba = None
    _NUMBA_ERROR = f"{type(error).__name__}: {error}"

CHOICES = ("numba", "numpy")

# reassociate, contract to FMA, ignore the sign of zero, reciprocal division; keep NaN/inf
FASTMATH = frozenset({"reassoc", "contract", "nsz", "arcp"})


def _checked(name: str, where: str) -> str:
    name = str(name).strip().lower()
    if name not in CHOICES:
        raise ValueError(f"{where}: unknown kernels {name!r}; choose one of {', '.join(CHOICES)}")
    return name


def _initial() -> str:
    name = _checked(os.environ.get("STRIDED_KERNELS", "numba") or "numba", "STRIDED_KERNELS")
    if name == "numba" and numba is None:
        warnings.warn(
            f"strided: Numba could not be imported ({_NUMBA_ERROR}); the NumPy "
            "reference kernels run instead (pip install numba)",
            RuntimeWarning,
            stacklevel=3,
        )
        return "numpy"
    return name


_active = _initial()


def numba_available() -> bool:
    """True when Numba imported, so that compiled kernels can run."""
    return numba is not None


def kernels_in_use() -> str:
    """'numba' when the compiled kernels run, 'numpy' when the reference does."""
    return _active


def use_kernels(name: str) -> str:
    """Select the kernels for the rest of the process: 'numba' (compiled) or 'numpy' (the
    reference). Returns the previous choice, so that a caller can restore it.

    Parameters
    ----------
    name : str
        'numba' (the compiled kernels) or 'numpy' (the reference).
    """
    global _active
    name = _checked(name, "use_kernels")
    if name == "numba" and numba is None:
        raise RuntimeError(
            f"use_kernels('numba'): Numba could not be imported ({_NUMBA_ERROR}); pip install numba"
        )
    previous, _active = _active, name
    return previous


def compiled(*arrays: Any) -> bool:
    """True when the compiled kernels are selected and can take `arrays` (the dispatch test
    of every kernel): Numba compiles for the CPU, so an array on a GPU always goes to the
    array-module code."""
    return _active == "numba" and all(type(a) is np.ndarray for a in arrays if a is not None)


def jit(*, parallel: bool = False, **options: Any) -> Callable[[Callable], Callable]:
    """Compile a kernel with the library's options (cache, nogil, FASTMATH); `parallel=True`
    for kernels whose outer loop is a `prange`. Without Numba the plain Python function is
    returned; it is never called, because `compiled()` is then False."""

    def decorate(function: Callable) -> Callable:
        if numba is None:
            return function
        # error_model="numpy": x/0 gives inf/NaN as in NumPy instead of raising, so no
        # per-division check blocks vectorising (Adam's update over 4M floats: 32 → 1.9 ms)
        settings = dict(
            cache=True, nogil=True, fastmath=set(FASTMATH), parallel=parallel, error_model="numpy"
        )
        settings.update(options)
        return numba.njit(**settings)(function)

    return decorate
