"""Compiled kernels are cached on disk, also when the package lies somewhere read-only:
Numba then writes its cache to the user's cache folder, and a second process loads the
kernels from there instead of compiling them again."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import strided
from strided.kernels.compiled import numba_available

pytestmark = pytest.mark.skipif(not numba_available(), reason="needs Numba")

RUN = """
import numpy as np, strided
from strided.kernels import activation
assert strided.__file__.startswith({site!r}), strided.__file__
activation.relu_forward(np.arange(-3.0, 3.0), True)
stats = activation._relu_run.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def _read_only_copy(site: Path) -> None:
    """The package copied under `site` where nothing can be written next to it: every
    __pycache__ is a plain file (so no folder can be made there, even by root), and the
    files and folders lose their write permission."""
    target = site / "strided"
    shutil.copytree(
        Path(strided.__file__).parent, target, ignore=shutil.ignore_patterns("__pycache__")
    )
    folders = [target] + [p for p in target.rglob("*") if p.is_dir()]
    for folder in folders:
        (folder / "__pycache__").write_text("not a folder")
    for path in [site] + folders + [p for p in target.rglob("*") if p.is_file()]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_kernels_are_cached_in_the_user_folder_when_the_package_is_read_only(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    _read_only_copy(site)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env.update(
        PYTHONPATH=str(site),
        XDG_CACHE_HOME=str(cache),
        PYTHONDONTWRITEBYTECODE="1",
        STRIDED_KERNELS="numba",
    )
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", RUN.format(site=str(site))],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        runs.append(tuple(int(v) for v in out.stdout.split()))
    try:
        assert runs[0] == (0, 1)  # compiled once ...
        assert runs[1] == (1, 0)  # ... and loaded from the user cache the second time
        assert any(p.suffix == ".nbi" for p in (cache / "numba").rglob("*"))
        assert not any(p.suffix in (".nbi", ".nbc") for p in site.rglob("*"))
    finally:
        for path in [site] + list(site.rglob("*")):
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
