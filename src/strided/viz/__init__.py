"""Seeing inside a network: first-layer weights of an MLP, filters, feature maps, the
images that excite a channel, saliency, autoencoder outputs, confusion matrices and gradient flow.

The computations (``activations``, ``top_k_activating``, ``saliency_map``,
``filter_images``, ...) return arrays and need only NumPy; the ``plot_*`` functions draw
them with matplotlib (``pip install 'strided[plot]'``) on the Agg backend, return the
Figure, and save it as PNG or SVG when given ``path=``.
"""

from .autoencoder import (
    decoder_samples,
    plot_decoder_samples,
    plot_reconstructions,
    reconstructions,
)
from .confusion import plot_confusion_matrix
from .feature_maps import feature_maps, plot_feature_maps
from .figure import pyplot, save_figure, tile
from .filters import conv_weight, filter_images, plot_filters
from .gradient_flow import gradient_table, plot_gradient_flow
from .layers import activations, check_images, conv_layer_names, get_layer, layer_names
from .saliency import input_gradient, plot_saliency, saliency_map
from .top_k import channel_scores, plot_top_k, top_k_activating
from .weights import plot_weights, unit_weight_images

__all__ = [
    "activations",
    "layer_names",
    "conv_layer_names",
    "get_layer",
    "check_images",
    "conv_weight",
    "filter_images",
    "plot_filters",
    "feature_maps",
    "plot_feature_maps",
    "channel_scores",
    "top_k_activating",
    "plot_top_k",
    "input_gradient",
    "saliency_map",
    "plot_saliency",
    "reconstructions",
    "decoder_samples",
    "plot_reconstructions",
    "plot_decoder_samples",
    "plot_confusion_matrix",
    "gradient_table",
    "plot_gradient_flow",
    "pyplot",
    "save_figure",
    "tile",
    "plot_weights",
    "unit_weight_images",
]
