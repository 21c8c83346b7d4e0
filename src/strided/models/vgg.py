"""VGG (Simonyan & Zisserman 2015, "Very deep convolutional networks for large-scale image
recognition"), configurations A, B, D and E of Table 1 as vgg11, vgg13, vgg16, vgg19,
laid out as torchvision's so that its state-dict keys load 1:1 ("features.N.weight",
"classifier.N.weight").

The notes count VGG-16 (configuration D) at 138,357,544 parameters, of which the first FC
layer alone holds 7·7·512·4096 = 102,760,448 weights: almost 3/4 of the model sits in
one layer that sees a 7×7 map, while the memory (activations) sits in the first convs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd import Tensor
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.norm import BatchNorm2d
from ..nn.pool import AdaptiveAvgPool2d, MaxPool2d
from .mlp import init_conv_relu_

__all__ = ["VGG", "CONFIGS", "make_features", "vgg11", "vgg13", "vgg16", "vgg19"]

# Table 1 of the paper: numbers are 3×3 conv widths, "M" a 2×2 max pool at stride 2.
CONFIGS: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


def make_features(cfg: Sequence, in_channels: int = 3, batch_norm: bool = False) -> Sequential:
    """The conv stack of a config: conv3×3(pad 1) [+ BatchNorm] + ReLU per number, max pool
    per "M". Padding 1 keeps the size, so only the pools shrink the map (by 2 each)."""
    layers: list[Module] = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(MaxPool2d(2, 2))
            continue
        layers.append(Conv2d(c, int(v), 3, padding=1))
        if batch_norm:
            layers.append(BatchNorm2d(int(v)))
        layers.append(ReLU())
        c = int(v)
    return Sequential(*layers)


class VGG(Module):
    """A VGG network: `features`, `avgpool` (adaptive, to `pool_size`), `classifier`.

    `cfg` is a key of CONFIGS or a list in that format; `hidden` and `pool_size` shrink the
    head for small inputs (e.g. `hidden=512, pool_size=1` for CIFAR), defaults are the
    paper's 7×7×512 → 4096 → 4096 → classes.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    batch_norm : bool
        Put a BatchNorm layer after every convolution (the '_bn' variants).
    dropout : float
        Dropout probability before the fully connected layers.
    init_weights : bool
        Initialise as torchvision does (He-normal convolutions, N(0, 0.01) linear layers).
    """

    def __init__(
        self,
        cfg: str | Sequence = "D",
        num_classes: int = 1000,
        in_channels: int = 3,
        batch_norm: bool = False,
        dropout: float = 0.5,
        hidden: int = 4096,
        pool_size: int | tuple = 7,
        init_weights: bool = True,
    ):
        super().__init__()
        if isinstance(cfg, str):
            if cfg not in CONFIGS:
                raise ValueError(
                    f"VGG: unknown configuration {cfg!r}; expected one of "
                    f"{sorted(CONFIGS)} or a list of widths and 'M'"
                )
            cfg = CONFIGS[cfg]
        widths = [v for v in cfg if v != "M"]
        if not widths:
            raise ValueError(f"VGG: configuration {cfg!r} has no conv layer")
        ph, pw = (pool_size, pool_size) if isinstance(pool_size, int) else pool_size
        self.features = make_features(cfg, in_channels, batch_norm)
        self.avgpool = AdaptiveAvgPool2d((ph, pw))
        self.classifier = Sequential(
            Linear(widths[-1] * ph * pw, hidden),
            ReLU(),
            Dropout(dropout),
            Linear(hidden, hidden),
            ReLU(),
            Dropout(dropout),
            Linear(hidden, num_classes),
        )
        if init_weights:
            init_conv_relu_(self)

    def forward(self, x: Tensor) -> Tensor:
        f = self.avgpool(self.features(x))
        return self.classifier(f.reshape(f.shape[0], -1))


def vgg11(
    num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False, **kwargs: Any
) -> VGG:
    """VGG-11, configuration A (8 conv + 3 FC): 132,863,336 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    batch_norm : bool
        Put a BatchNorm layer after every convolution (the '_bn' variants).
    """
    return VGG("A", num_classes, in_channels, batch_norm, **kwargs)


def vgg13(
    num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False, **kwargs: Any
) -> VGG:
    """VGG-13, configuration B (10 conv + 3 FC): 133,047,848 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    batch_norm : bool
        Put a BatchNorm layer after every convolution (the '_bn' variants).
    """
    return VGG("B", num_classes, in_channels, batch_norm, **kwargs)


def vgg16(
    num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False, **kwargs: Any
) -> VGG:
    """VGG-16, configuration D (13 conv + 3 FC): 138,357,544 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    batch_norm : bool
        Put a BatchNorm layer after every convolution (the '_bn' variants).
    """
    return VGG("D", num_classes, in_channels, batch_norm, **kwargs)


def vgg19(
    num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False, **kwargs: Any
) -> VGG:
    """VGG-19, configuration E (16 conv + 3 FC): 143,667,240 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    batch_norm : bool
        Put a BatchNorm layer after every convolution (the '_bn' variants).
    """
    return VGG("E", num_classes, in_channels, batch_norm, **kwargs)
