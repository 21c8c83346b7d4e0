"""Fixtures shared by several test files."""

import functools
import os

import pytest

from strided.data import download as dl


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $STRIDED_DATA, an empty user cache and an empty system folder."""
    monkeypatch.delenv("STRIDED_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "SYSTEM_DATA_DIR", tmp_path / "system")
    return tmp_path


@pytest.fixture
def hide_module(monkeypatch):
    """``hide_module("tensorboard")``: importing that package (or its submodules) fails from
    now on in this test, as if the optional extra were not installed."""
    import builtins

    real_import = builtins.__import__

    def hide(package: str) -> None:
        def fake_import(name, *args, **kwargs):
            if name == package or name.startswith(package + "."):
                raise ImportError(f"No module named {name!r}")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", fake_import)

    return hide


# -- devices --------------------------------------------------------------------------------
import numpy as np  # noqa: E402

import simulated_gpu  # noqa: E402
import strided  # noqa: E402
from strided.device import backend_of, to_numpy  # noqa: E402

simulated_gpu.install()

# The devices the device-parametrised tests run on: the CPU, the simulated GPU (a CPU
# stand-in with CuPy's strictness), and CUDA where CuPy sees a GPU. STRIDED_TEST_DEVICES
# ("cpu,cuda") narrows the list.
DEVICES = ["cpu", "sim"] + (["cuda"] if strided.cuda.is_available() else [])
if os.environ.get("STRIDED_TEST_DEVICES"):
    DEVICES = [d for d in os.environ["STRIDED_TEST_DEVICES"].split(",") if d in DEVICES]


# STRIDED_TEST_DEFAULT_DEVICE=sim (or cuda) runs every test with new tensors made there, as
# torch.set_default_device does: the parity and gradcheck suites on that device.
if os.environ.get("STRIDED_TEST_DEFAULT_DEVICE"):
    strided.set_default_device(os.environ["STRIDED_TEST_DEFAULT_DEVICE"])


def _on_host(value):
    """A NumPy array for a Tensor or device array (CuPy refuses implicit conversion, so
    np.testing could not compare a GPU result otherwise); anything else as it is."""
    if isinstance(value, strided.Tensor):
        value = value.data
    if type(value) is not np.ndarray and backend_of(value).name != "cpu":
        return to_numpy(value)
    return value


def _comparing_on_host(assertion):
    @functools.wraps(assertion)
    def compare(*args, **kwargs):
        args = [_on_host(a) for a in args]
        kwargs = {k: _on_host(v) for k, v in kwargs.items()}
        return assertion(*args, **kwargs)

    return compare


# the numpy.testing assertions read device arrays and tensors through an explicit copy
for _name in (
    "assert_allclose",
    "assert_array_equal",
    "assert_array_almost_equal",
    "assert_almost_equal",
    "assert_equal",
    "assert_array_less",
):
    setattr(np.testing, _name, _comparing_on_host(getattr(np.testing, _name)))


@pytest.fixture(params=DEVICES)
def device(request):
    """Each device present, in turn (a name: 'cpu', 'sim', 'cuda')."""
    return request.param


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "on_devices: run each test once per device present, with new tensors made there "
        "(strided.set_default_device); the parity and gradcheck suites carry it",
    )


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("on_devices") is not None:
        metafunc.parametrize("default_device", DEVICES, indirect=True)


@pytest.fixture(autouse=True)
def default_device(request):
    """The device new tensors go to in this test: the CPU, unless the test's module is
    marked `on_devices` (then each device present in turn)."""
    name = getattr(request, "param", None)
    if name is None:
        yield strided.get_default_device().type
        return
    previous = strided.get_default_device()
    strided.set_default_device(name)
    try:
        yield name
    finally:
        strided.set_default_device(previous)
