"""The tutorials of the docs site run, block by block, as they do when the site is built."""

import os
import re
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "docs" / "tutorials").glob("*.md"))
BLOCK = re.compile(r'```python exec="on"[^\n]*\n(.*?)```', re.S)


def test_there_are_eight_tutorials():
    assert len(TUTORIALS) == 8


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(page, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    if page.stem in ("05-training-lenet", "07-deep-networks", "08-autoencoders-pca"):
        from strided.data import FashionMNIST

        try:
            FashionMNIST(train=False)
        except (FileNotFoundError, OSError, RuntimeError):
            pytest.skip(
                "Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist)"
            )
    blocks = BLOCK.findall(page.read_text())
    assert blocks, f"{page.name} has no runnable code"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for i, code in enumerate(blocks):  # one namespace per page, as markdown-exec's session
        exec(compile(code, f"{page.name} [block {i + 1}]", "exec"), namespace)
    assert os.getcwd() == str(tmp_path)
