"""PixelShuffle and PixelUnshuffle layers (sub-pixel convolution's rearrangement)."""

from __future__ import annotations

from ..autograd import Tensor
from ..functional.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .module import Module


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r); see `strided.functional.pixel_shuffle`.

    Parameters
    ----------
    upscale_factor : int
        r: (N, C·r², H, W) becomes (N, C, H·r, W·r).
    """

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of PixelShuffle.

    Parameters
    ----------
    downscale_factor : int
        r: (N, C, H·r, W·r) becomes (N, C·r², H, W).
    """

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


__all__ = ["PixelShuffle", "PixelUnshuffle"]
