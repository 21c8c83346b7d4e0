"""Pictures of networks (matplotlib, the ``[plot]`` extra)."""

from .weights import plot_weights, unit_weight_images

__all__ = ["plot_weights", "unit_weight_images"]
