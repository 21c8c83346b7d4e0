"""Fixtures shared by several test files."""

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
