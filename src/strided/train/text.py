"""Wording shared by the messages of training runs and the command line."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, word: str) -> str:
    """'1 epoch', '2 epochs', '0 images'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
