"""The choice between the compiled kernels and the NumPy reference."""

import os
import subprocess
import sys

import pytest

import strided as st
from strided.kernels import compiled


def test_use_kernels_switches_and_returns_the_previous_choice():
    first = st.kernels_in_use()
    assert first in compiled.CHOICES
    previous = st.use_kernels("numpy")
    try:
        assert previous == first
        assert st.kernels_in_use() == "numpy" and not compiled.compiled()
    finally:
        st.use_kernels(previous)
    assert st.kernels_in_use() == first


def test_unknown_kernels_name_is_refused():
    with pytest.raises(ValueError, match="use_kernels: unknown kernels 'fortran'"):
        st.use_kernels("fortran")


@pytest.mark.parametrize("value, expected", [("numpy", "numpy"), ("NumPy ", "numpy")])
def test_environment_variable_selects_the_reference(value, expected):
    env = dict(os.environ, STRIDED_KERNELS=value)
    out = subprocess.run(
        [sys.executable, "-c", "import strided; print(strided.kernels_in_use())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == expected


def test_bad_environment_variable_names_itself():
    env = dict(os.environ, STRIDED_KERNELS="gpu")
    out = subprocess.run(
        [sys.executable, "-c", "import strided"], env=env, capture_output=True, text=True
    )
    assert out.returncode != 0 and "STRIDED_KERNELS: unknown kernels 'gpu'" in out.stderr


def test_numba_is_the_default_where_it_imports():
    env = {k: v for k, v in os.environ.items() if k != "STRIDED_KERNELS"}
    out = subprocess.run(
        [sys.executable, "-c", "import strided; print(strided.kernels_in_use())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == ("numba" if compiled.numba_available() else "numpy")


@pytest.mark.skipif(not compiled.numba_available(), reason="Numba is not installed")
def test_jit_compiles_with_the_library_options():
    @compiled.jit()
    def add_one(a):
        for i in range(a.shape[0]):
            a[i] += 1.0
        return a

    import numpy as np

    assert add_one(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    assert hasattr(add_one, "py_func")
