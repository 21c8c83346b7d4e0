"""DenseNet (Huang, Liu, van der Maaten, Weinberger 2017, "Densely connected convolutional
networks").

Inside a dense block every layer sees the concatenation of all earlier feature maps
[x0, x1, ..., x_{l-1}] and adds k ("growth rate") new channels; with the bottleneck
(BN-ReLU-1×1 conv to 4k, BN-ReLU-3×3 conv to k: "DenseNet-B") and transitions that
compress the channel count by θ = 0.5 ("-C") this is DenseNet-BC.

- `densenet121()`: torchvision's ImageNet DenseNet-121 (k=32, blocks 6-12-24-16,
  7,978,856 parameters), same keys (`features.conv0`, `features.denseblock1.denselayer1.
  norm1`, `features.transition1.conv`, `features.norm5`, `classifier`).
- `densenet_cifar()`: the paper's CIFAR DenseNet-BC (3×3 stem with 2k channels, three
  blocks of (L-4)/6 bottleneck layers on 32/16/8 maps); L=100, k=12 has 0.8M parameters.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .. import functional as F
from ..autograd import Tensor
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.norm import BatchNorm2d
from ..nn.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .mlp import init_conv_relu_

__all__ = ["DenseLayer", "DenseBlock", "Transition", "DenseNet", "densenet121", "densenet_cifar"]


class DenseLayer(Module):
    """BN-ReLU-conv1×1(bn_size·k) → BN-ReLU-conv3×3(k): the k new channels of one layer.
    The 1×1 bottleneck caps the 3×3 conv's input at bn_size·k channels however many
    earlier maps are concatenated; `bn_size=0` leaves it out (BN-ReLU-conv3×3 only, the
    original DenseNet's layer).

    Parameters
    ----------
    num_input_features : int
        Channels coming into the block or layer.
    growth_rate : int
        k: the channels every dense layer adds.
    drop_rate : float
        Dropout probability after each dense layer.
    """

    def __init__(
        self, num_input_features: int, growth_rate: int, bn_size: int = 4, drop_rate: float = 0.0
    ):
        super().__init__()
        if bn_size:
            self.norm1 = BatchNorm2d(num_input_features)
            self.relu1 = ReLU()
            self.conv1 = Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
            mid = bn_size * growth_rate
        else:
            mid = num_input_features
        self.bottleneck = bool(bn_size)
        self.norm2 = BatchNorm2d(mid)
        self.relu2 = ReLU()
        self.conv2 = Conv2d(mid, growth_rate, 3, padding=1, bias=False)
        self.dropout = Dropout(drop_rate) if drop_rate > 0 else None

    def forward(self, x: Tensor) -> Tensor:
        if self.bottleneck:
            x = self.conv1(self.relu1(self.norm1(x)))
        out = self.conv2(self.relu2(self.norm2(x)))
        return out if self.dropout is None else self.dropout(out)


class DenseBlock(Module):
    """`num_layers` DenseLayers (`denselayer1`, ...), each fed all earlier outputs.

    Parameters
    ----------
    num_input_features : int
        Channels coming into the block or layer.
    growth_rate : int
        k: the channels every dense layer adds.
    bn_size : int
        Width of the 1×1 bottleneck as a multiple of the growth rate (DenseNet-B).
    drop_rate : float
        Dropout probability after each dense layer.
    """

    def __init__(
        self,
        num_layers: int,
        num_input_features: int,
        growth_rate: int,
        bn_size: int = 4,
        drop_rate: float = 0.0,
    ):
        super().__init__()
        for i in range(num_layers):
            self.add_module(
                f"denselayer{i + 1}",
                DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate),
            )
        self.out_channels = num_input_features + num_layers * growth_rate

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.children():
            features.append(layer(features[0] if len(features) == 1 else F.cat(features, dim=1)))
        return F.cat(features, dim=1)


class Transition(Module):
    """BN-ReLU-conv1×1 (compressing channels) → 2×2 average pool, between dense blocks.

    Parameters
    ----------
    num_input_features : int
        Channels coming into the block or layer.
    num_output_features : int
        Channels leaving the transition layer.
    """

    def __init__(self, num_input_features: int, num_output_features: int):
        super().__init__()
        self.norm = BatchNorm2d(num_input_features)
        self.relu = ReLU()
        self.conv = Conv2d(num_input_features, num_output_features, 1, bias=False)
        self.pool = AvgPool2d(2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.conv(self.relu(self.norm(x))))


class DenseNet(Module):
    """A DenseNet-BC: `features` (stem, dense blocks, transitions, final BN) and `classifier`.

    `stem="imagenet"`: 7×7/2 conv, BN, ReLU, 3×3/2 max pool (torchvision); `stem="cifar"`:
    one 3×3 conv (the paper's CIFAR networks).

    Parameters
    ----------
    growth_rate : int
        k: the channels every dense layer adds.
    block_config : sequence of int
        Dense layers in each dense block.
    num_init_features : int
        Channels of the stem convolution.
    bn_size : int
        Width of the 1×1 bottleneck as a multiple of the growth rate (DenseNet-B).
    drop_rate : float
        Dropout probability after each dense layer.
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    compression : float
        θ: the fraction of channels a transition layer keeps.
    """

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        compression: float = 0.5,
        stem: str = "imagenet",
    ):
        super().__init__()
        if not 0 < compression <= 1:
            raise ValueError(f"DenseNet: compression must be in (0, 1], got {compression}")
        if stem == "imagenet":
            parts = [
                (
                    "conv0",
                    Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False),
                ),
                ("norm0", BatchNorm2d(num_init_features)),
                ("relu0", ReLU()),
                ("pool0", MaxPool2d(3, stride=2, padding=1)),
            ]
        elif stem == "cifar":
            parts = [("conv0", Conv2d(in_channels, num_init_features, 3, padding=1, bias=False))]
        else:
            raise ValueError(f"DenseNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        c = num_init_features
        for i, n in enumerate(block_config):
            block = DenseBlock(n, c, growth_rate, bn_size, drop_rate)
            parts.append((f"denseblock{i + 1}", block))
            c = block.out_channels
            if i != len(block_config) - 1:
                out = int(c * compression)
                parts.append((f"transition{i + 1}", Transition(c, out)))
                c = out
        parts.append(("norm5", BatchNorm2d(c)))
        self.features = Sequential(OrderedDict(parts))
        self.relu = ReLU()
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.classifier = Linear(c, num_classes)
        init_conv_relu_(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.relu(self.features(x)))
        return self.classifier(x.reshape(x.shape[0], -1))


def densenet121(num_classes: int = 1000, in_channels: int = 3, **kwargs: Any) -> DenseNet:
    """DenseNet-121 (k=32, blocks 6-12-24-16, 64 stem channels): 7,978,856 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    """
    return DenseNet(
        32, (6, 12, 24, 16), 64, num_classes=num_classes, in_channels=in_channels, **kwargs
    )


def densenet_cifar(
    depth: int = 100,
    growth_rate: int = 12,
    num_classes: int = 10,
    in_channels: int = 3,
    compression: float = 0.5,
    bottleneck: bool = True,
    drop_rate: float = 0.0,
) -> DenseNet:
    """The paper's CIFAR DenseNets: three dense blocks on 32/16/8 maps.

    With `bottleneck=True` (DenseNet-B, and -BC when `compression < 1`) each layer is two
    convs, so depth L = 6n+4 and the stem has 2k channels; without it, L = 3n+4 and a
    16-channel stem. L=100, k=12, BC: 0.8M parameters (Table 2).

    Parameters
    ----------
    growth_rate : int
        k: the channels every dense layer adds.
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    drop_rate : float
        Dropout probability after each dense layer.
    """
    per_layer = 2 if bottleneck else 1
    if (depth - 4) % (3 * per_layer) != 0 or depth <= 4:
        raise ValueError(
            f"densenet_cifar: depth must be {3 * per_layer}n+4 with bottleneck={bottleneck} "
            f"(e.g. {'40, 100, 190, 250' if bottleneck else '40, 100'}), got {depth}"
        )
    n = (depth - 4) // (3 * per_layer)
    return DenseNet(
        growth_rate,
        (n, n, n),
        2 * growth_rate if bottleneck else 16,
        bn_size=4 if bottleneck else 0,
        drop_rate=drop_rate,
        num_classes=num_classes,
        in_channels=in_channels,
        compression=compression,
        stem="cifar",
    )
