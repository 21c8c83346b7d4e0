"""AlexNet (Krizhevsky, Sutskever, Hinton 2012, "ImageNet classification with deep
convolutional neural networks"), in two forms.

variant="original" — the notes' layer table:

    [227x227x3]  INPUT
    [55x55x96]   CONV1: 96 11x11 filters at stride 4, pad 0
    [27x27x96]   MAX POOL1: 3x3 filters at stride 2
    [27x27x96]   NORM1: local response normalisation
    [27x27x256]  CONV2: 256 5x5 filters at stride 1, pad 2
    [13x13x256]  MAX POOL2, NORM2
    [13x13x384]  CONV3: 384 3x3, pad 1;  [13x13x384] CONV4;  [13x13x256] CONV5
    [6x6x256]    MAX POOL3
    [4096] FC6, [4096] FC7, [1000] FC8, dropout 0.5 before FC6 and FC7

62,378,344 parameters; `groups=2` splits conv2/4/5 across the paper's two GPUs as in its
Figure 2 (60,965,224 parameters, the paper's "60 million"). The FC head is fixed: the
input must be 227×227 (224×224 gives 5×5 maps and a clear error).

variant="torchvision" — torchvision's `alexnet` (from the "one weird trick" paper:
64/192/384/256/256 filters, no LRN, adaptive average pooling to 6×6 before the head):
61,100,840 parameters; its state-dict keys load 1:1.

LRN uses PyTorch's convention (alpha is divided by the window size), as Caffe's reference
AlexNet does: size 5, alpha 1e-4, beta 0.75, k 2.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.norm import LocalResponseNorm
from ..nn.pool import AdaptiveAvgPool2d, MaxPool2d
from .mlp import check_head_input

__all__ = ["AlexNet", "alexnet"]


def _classifier(in_features: int, num_classes: int, dropout: float) -> Sequential:
    # torchvision's order (dropout before each of the two hidden FC layers) so keys match
    return Sequential(
        Dropout(dropout),
        Linear(in_features, 4096),
        ReLU(),
        Dropout(dropout),
        Linear(4096, 4096),
        ReLU(),
        Linear(4096, num_classes),
    )


class AlexNet(Module):
    """AlexNet: `features`, (torchvision only) `avgpool`, `classifier`.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    variant : str
        Which published form of the network to build (see above).
    groups : int
        Channel groups of the grouped convolutions (2 for the paper's two GPUs).
    dropout : float
        Dropout probability before the fully connected layers.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        variant: str = "torchvision",
        groups: int = 1,
        dropout: float = 0.5,
    ):
        super().__init__()
        if variant not in ("torchvision", "original"):
            raise ValueError(
                f"alexnet: variant must be 'torchvision' or 'original', got {variant!r}"
            )
        if groups != 1 and variant != "original":
            raise ValueError("alexnet: groups applies to variant='original' only")
        self.variant = variant
        if variant == "torchvision":
            self.features = Sequential(
                Conv2d(in_channels, 64, 11, stride=4, padding=2),
                ReLU(),
                MaxPool2d(3, 2),
                Conv2d(64, 192, 5, padding=2),
                ReLU(),
                MaxPool2d(3, 2),
                Conv2d(192, 384, 3, padding=1),
                ReLU(),
                Conv2d(384, 256, 3, padding=1),
                ReLU(),
                Conv2d(256, 256, 3, padding=1),
                ReLU(),
                MaxPool2d(3, 2),
            )
            self.avgpool = AdaptiveAvgPool2d((6, 6))
        else:
            self.features = Sequential(
                Conv2d(in_channels, 96, 11, stride=4),
                ReLU(),
                MaxPool2d(3, 2),
                LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
                Conv2d(96, 256, 5, padding=2, groups=groups),
                ReLU(),
                MaxPool2d(3, 2),
                LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
                Conv2d(256, 384, 3, padding=1),
                ReLU(),
                Conv2d(384, 384, 3, padding=1, groups=groups),
                ReLU(),
                Conv2d(384, 256, 3, padding=1, groups=groups),
                ReLU(),
                MaxPool2d(3, 2),
            )
        self.classifier = _classifier(256 * 6 * 6, num_classes, dropout)

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)
        if self.variant == "torchvision":
            f = self.avgpool(f)
        else:
            check_head_input("alexnet(variant='original')", f, (256, 6, 6), x.shape, "227×227")
        return self.classifier(f.reshape(f.shape[0], -1))


def alexnet(
    num_classes: int = 1000,
    in_channels: int = 3,
    variant: str = "torchvision",
    groups: int = 1,
    dropout: float = 0.5,
) -> AlexNet:
    """AlexNet, torchvision's (61,100,840 parameters) or the notes' original table
    (`variant="original"`, 227×227 input, LRN; 62,378,344 parameters, 60,965,224 with
    the paper's two-GPU `groups=2`).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    dropout : float
        Dropout probability before the fully connected layers.
    """
    return AlexNet(num_classes, in_channels, variant, groups, dropout)
