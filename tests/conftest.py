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
