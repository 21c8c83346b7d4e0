"""The simulated GPU must be as strict as CuPy, or the device tests prove nothing."""

import numpy as np
import pytest

import simulated_gpu
from simulated_gpu import SIM_MODULE as xp
from simulated_gpu import SimArray


def test_device_arrays_compute_through_numpy_functions_and_operators():
    a = xp.arange(6.0).reshape(2, 3)
    assert isinstance(a, SimArray)
    total = np.sum(a * 2 + 1, axis=0)
    assert isinstance(total, SimArray)
    np.testing.assert_array_equal(total, [8.0, 12.0, 16.0])
    assert isinstance(a.sum(), SimArray) and a.sum().shape == ()  # 0-d, as CuPy's
    assert isinstance(np.maximum(a, 0), SimArray)


def test_mixing_a_numpy_array_in_is_refused():
    a = xp.zeros(3)
    with pytest.raises(TypeError, match="unsupported type numpy.ndarray"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="unsupported type numpy.ndarray"):
        np.concatenate([a, np.ones(3)])
    with pytest.raises(TypeError, match="unsupported type numpy.ndarray"):
        a[np.array([0, 1])]
    a[[0, 1]] = 5.0  # lists and scalars are fine, as in CuPy
    np.testing.assert_array_equal(a, [5.0, 5.0, 0.0])


def test_implicit_conversion_is_refused_and_names_the_library_line():
    import sys

    lib = sys.modules["strided.device"]
    a = xp.ones(2)
    with pytest.raises(TypeError, match="implicit conversion.*called from a test"):
        np.asarray(a)
    code = compile("np.asarray(a)", lib.__file__, "eval")
    with pytest.raises(TypeError, match=r"implicit conversion.*strided/device\.py:1"):
        eval(code, {"np": np, "a": a})
    # np.testing copies device arrays explicitly (tests/conftest.py), and .get() is explicit
    np.testing.assert_array_equal(a, [1.0, 1.0])
    np.testing.assert_array_equal(a.get(), [1.0, 1.0])


def test_numba_refuses_device_arrays():
    from strided.kernels.compiled import compiled, numba

    assert not compiled(xp.ones(2))
    if numba is None:
        pytest.skip("Numba is not installed")

    @numba.njit
    def first(v):
        return v[0]

    with pytest.raises(Exception, match="SimArray"):
        first(xp.ones(2))


def test_flags_have_no_writeable_and_transfers_are_counted():
    a = xp.ones(2)
    assert not hasattr(a.flags, "writeable")
    before = simulated_gpu.SimBackend.to_host_count
    float(a.sum())
    a.get()
    assert simulated_gpu.SimBackend.to_host_count == before + 2


@pytest.mark.skipif(simulated_gpu._cupy is None, reason="needs cupy importable for its names")
def test_functions_cupy_lacks_are_refused():
    a = xp.ones((2, 2))
    with pytest.raises(TypeError, match="CuPy has no insert"):
        np.insert(a, 0, 1.0)
    with pytest.raises(AttributeError, match="CuPy has no insert"):
        xp.insert  # noqa: B018
    with pytest.raises(AttributeError, match="cupy.ndarray has no attribute"):
        a.itemset  # noqa: B018


def test_the_list_of_cupy_names_knows_the_common_routines_and_not_numpy_only_ones():
    names = simulated_gpu.CUPY_NAMES
    for present in (
        "sum",
        "add.at",
        "linalg.norm",
        "lib.stride_tricks.as_strided",
        "ndarray.reshape",
        "random.Generator.standard_normal",
    ):
        assert present in names
    for absent in ("insert", "block", "random.Generator.choice", "ndarray.itemset"):
        assert absent not in names


@pytest.mark.skipif(simulated_gpu._cupy is None, reason="needs cupy importable")
def test_the_list_of_cupy_names_matches_the_installed_cupy():
    import cupy

    missing = [
        n
        for n in simulated_gpu.CUPY_NAMES
        if not n.startswith("random.Generator.") and not simulated_gpu.cupy_has(n)
    ]
    assert not missing, f"tests/cupy_api.txt lists names cupy {cupy.__version__} lacks"


@pytest.mark.skipif(simulated_gpu._cupy is None, reason="needs cupy importable")
def test_keywords_cupy_does_not_take_are_refused():
    a = xp.ones(3)
    with pytest.raises(TypeError, match="cupy.sum does not take"):
        np.sum(a, where=a > 0)
    with pytest.raises(TypeError, match="cupy.max does not take"):
        xp.max(a, initial=0.0)
    np.testing.assert_array_equal(np.sum(a, axis=0, keepdims=True), [3.0])
