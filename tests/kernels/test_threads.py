"""The library's one thread setting: Numba's pool and OpenBLAS's, sized together."""

import os
import subprocess
import sys

import numpy as np
import pytest

import strided as st
from strided.kernels import threads
from strided.kernels.compiled import numba_available


def _run(code: str, **env) -> str:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(base, **env),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_set_num_threads_sets_numba_and_openblas_and_returns_the_previous_value():
    first = st.get_num_threads()
    previous = st.set_num_threads(1)
    try:
        assert previous == first
        assert st.get_num_threads() == 1
        if numba_available():
            import numba

            assert numba.get_num_threads() == 1
        if threads.blas_num_threads() is not None:
            assert threads.blas_num_threads() == 1
    finally:
        st.set_num_threads(first)
    assert st.get_num_threads() == first


def test_openblas_of_numpy_is_found():
    # NumPy's wheels bundle OpenBLAS; a NumPy on another BLAS has nothing to set
    if "openblas" not in str(np.show_config(mode="dicts")).lower():
        pytest.skip("NumPy is not built on OpenBLAS")
    assert threads.blas_num_threads() is not None


@pytest.mark.parametrize("bad", [0, -1, 10**6])
def test_out_of_range_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="set_num_threads: n must be between 1 and"):
        st.set_num_threads(bad)


@pytest.mark.parametrize("bad", [1.5, "2", True])
def test_non_integer_thread_counts_are_refused(bad):
    with pytest.raises(TypeError, match="set_num_threads: n must be an int"):
        st.set_num_threads(bad)


CODE = (
    "import strided, numba; from strided.kernels import threads; "
    "print(strided.get_num_threads(), numba.get_num_threads(), threads.blas_num_threads())"
)


@pytest.mark.skipif(not numba_available(), reason="needs Numba")
def test_omp_num_threads_is_honoured_by_both_pools_at_start():
    ours, nb, blas = _run(CODE, OMP_NUM_THREADS="1").split()
    assert ours == nb == "1" and blas in ("1", "None")


@pytest.mark.skipif(not numba_available(), reason="needs Numba")
def test_numba_num_threads_is_honoured_by_both_pools_at_start():
    ours, nb, blas = _run(CODE, NUMBA_NUM_THREADS="1").split()
    assert ours == nb == "1" and blas in ("1", "None")


@pytest.mark.skipif(not numba_available(), reason="needs Numba")
def test_numba_threads_sleep_between_kernels_unless_the_user_chose_otherwise():
    code = "import os, strided; print(os.environ.get('OMP_WAIT_POLICY'))"
    assert _run(code) == "None"  # set only while Numba's OpenMP starts
    assert _run(code, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
