"""Depthwise-separable convolutions and MobileNet v1 (Howard et al. 2017, "MobileNets:
Efficient convolutional neural networks for mobile vision applications").

A standard k×k conv from M to N channels costs k·k·M·N multiply-adds per output pixel; a
depthwise k×k conv (one filter per input channel, `groups=M`) followed by a pointwise 1×1
conv costs k·k·M + M·N, a fraction 1/N + 1/k² of it (8-9× less for 3×3, Section 3.1).

`mobilenet_v1()` is Table 1 of the paper: 4,231,976 parameters at width 1.0 with 1000
classes (the paper's 4.2M); `width_mult` is the paper's α.
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
from ..nn.pool import AdaptiveAvgPool2d
from .mlp import init_conv_relu_

__all__ = ["ConvBNReLU", "DepthwiseSeparableConv", "MobileNetV1", "mobilenet_v1"]


class ConvBNReLU(Sequential):
    """conv (no bias) → BatchNorm → ReLU, keys "0", "1" as torchvision's
    Conv2dNormActivation.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    out_channels : int
        Output channels.
    kernel_size : int
        Side of the square convolution kernel.
    stride : int
        Stride of the convolution.
    groups : int
        Channel groups of the grouped convolutions (2 for the paper's two GPUs).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
    ):
        super().__init__(
            Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            BatchNorm2d(out_channels),
            ReLU(),
        )


class DepthwiseSeparableConv(Module):
    """depthwise 3×3 (groups = in_channels, carries the stride) → pointwise 1×1, each with
    BatchNorm and ReLU (Fig. 3 of the paper).

    Parameters
    ----------
    out_channels : int
        Output channels.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.depthwise = ConvBNReLU(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pointwise = ConvBNReLU(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


# Table 1 after the first full conv: (output channels, stride) of each separable block.
MOBILENET_V1 = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
]


class MobileNetV1(Module):
    """MobileNet v1: `features` (3×3/2 conv, 13 separable blocks), `avgpool`,
    `classifier` (dropout, FC).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    width_mult : float
        α: every layer's channels are multiplied by it.
    cfg : sequence
        The (channels, stride) of each depthwise-separable block (Table 1 by default).
    stem_stride : int
        Stride of the first convolution (2 for 224×224 inputs, 1 for small images).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_mult: float = 1.0,
        dropout: float = 0.0,
        cfg: Sequence[tuple[int, int]] = MOBILENET_V1,
        stem_stride: int = 2,
    ) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"mobilenet_v1: width_mult must be positive, got {width_mult}")

        def w(c: int) -> int:
            return max(8, int(c * width_mult))

        c = w(32)
        layers: list[Module] = [ConvBNReLU(in_channels, c, 3, stem_stride)]
        for out, stride in cfg:
            layers.append(DepthwiseSeparableConv(c, w(out), stride))
            c = w(out)
        self.features = Sequential(*layers)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.classifier = Sequential(Dropout(dropout), Linear(c, num_classes))
        init_conv_relu_(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.reshape(x.shape[0], -1))


def mobilenet_v1(
    num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0, **kwargs: Any
) -> MobileNetV1:
    """MobileNet v1 (Table 1): 4,231,976 parameters at α = 1 with 1000 classes.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    width_mult : float
        α: every layer's channels are multiplied by it.
    """
    return MobileNetV1(num_classes, in_channels, width_mult, **kwargs)
