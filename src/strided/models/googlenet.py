"""GoogLeNet / Inception v1 (Szegedy et al. 2015, "Going deeper with convolutions"),
Table 1 of the paper, laid out as torchvision's `googlenet` (`conv1.conv`, `conv1.bn`,
`inception3a.branch1.conv`, `inception3a.branch2.0.conv`, ..., `aux1.conv.conv`,
`aux1.fc1`, `aux1.fc2`, `fc`).

An inception block runs four branches on the same input and concatenates their channels:
1×1; 1×1 reduce → 3×3; 1×1 reduce → 5×5; 3×3 max pool → 1×1 projection. The 1×1
reductions are what keep it cheap (the notes' arithmetic: a 3×3 conv 192→128 alone has
3·3·192·128 + 128 = 221,312 parameters; reducing to 96 channels first costs
192·96 + 96 + 3·3·96·128 + 128 = 129,248).

Two auxiliary classifiers (after 4a and 4d) add gradient signal to the middle of the
network during training; the training loss is main + 0.3·aux1 + 0.3·aux2
(`googlenet_loss`), and evaluation uses the main head only.

Differences from the 2014 paper, shared with torchvision: every conv is a `BasicConv2d`
(conv without bias + BatchNorm(eps=1e-3) + ReLU) rather than conv + bias + ReLU with LRN,
and the pools use ceil_mode so the 224×224 geometry of Table 1 (112, 56, 28, 14, 7) holds.
`variant="torchvision"` also takes over torchvision's 3×3 kernel in the "5×5" branch (a
long-standing quirk of its implementation, kept for its weights) and its dropout of 0.2;
`variant="paper"` (default) has the paper's 5×5 kernels and dropout 0.4. For
torchvision's pretrained checkpoint pass `variant="torchvision", transform_input=True`
(it was trained on inputs in [-1, 1]; the flag maps ImageNet-normalised inputs there).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.norm import BatchNorm2d
from ..nn.pool import AdaptiveAvgPool2d, MaxPool2d

__all__ = [
    "BasicConv2d",
    "Inception",
    "InceptionAux",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "INCEPTION_TABLE",
    "googlenet",
    "googlenet_loss",
]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = "Training-mode output: main logits and the two auxiliary heads'."

# Table 1: name → (#1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj); in_channels
# follow from the previous block's four outputs.
INCEPTION_TABLE: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


class BasicConv2d(Module):
    """conv (no bias) → BatchNorm(eps=1e-3) → ReLU; torchvision's building unit.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    out_channels : int
        Output channels.
    kernel_size : int
        Side of the square convolution kernel.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], **kwargs: Any
    ) -> None:
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, kernel_size, bias=False, **kwargs)
        self.bn = BatchNorm2d(out_channels, eps=0.001)
        self.relu = ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class Inception(Module):
    """The four-branch block; output channels ch1x1 + ch3x3 + ch5x5 + pool_proj.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    ch3x3red : int
        Channels of the 1×1 reduction before the 3×3 branch.
    ch5x5red : int
        Channels of the 1×1 reduction before the 5×5 branch.
    kernel5 : int
        Kernel of the '5×5' branch (3 in torchvision's variant, 5 in the paper).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        kernel5: int = 5,
    ):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = Sequential(
            BasicConv2d(in_channels, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, padding=1)
        )
        self.branch3 = Sequential(
            BasicConv2d(in_channels, ch5x5red, 1),
            BasicConv2d(ch5x5red, ch5x5, kernel5, padding=kernel5 // 2),
        )
        self.branch4 = Sequential(
            MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, 1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: Tensor) -> Tensor:
        return F.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionAux(Module):
    """Auxiliary head: 5×5/3 average pool (→ 4×4 on the 14×14 map), 1×1 conv 128, FC 1024,
    dropout 0.7, FC classes. Pooling is adaptive to 4×4 as in torchvision.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    num_classes : int
        Size of the output layer (the number of classes).
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.avgpool = AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, 1)
        self.fc1 = Linear(2048, 1024)
        self.relu = ReLU()
        self.dropout = Dropout(dropout)
        self.fc2 = Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.avgpool(x))
        x = self.relu(self.fc1(x.reshape(x.shape[0], -1)))
        return self.fc2(self.dropout(x))


class GoogLeNet(Module):
    """GoogLeNet. In training mode with `aux_logits=True` forward returns
    `GoogLeNetOutputs(logits, aux_logits2, aux_logits1)`; otherwise the logits.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    variant : str
        Which published form of the network to build (see above).
    dropout : float
        Dropout probability before the fully connected layers.
    dropout_aux : float
        Dropout probability in the auxiliary heads.
    transform_input : bool
        Map ImageNet-normalised inputs to [-1, 1], as torchvision's pretrained weights expect.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        in_channels: int = 3,
        variant: str = "paper",
        dropout: float | None = None,
        dropout_aux: float = 0.7,
        transform_input: bool = False,
    ):
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError("googlenet: transform_input needs in_channels=3 (RGB)")
        self.transform_input = transform_input
        if variant not in ("paper", "torchvision"):
            raise ValueError(
                f"googlenet: variant must be 'paper' or 'torchvision', got {variant!r}"
            )
        kernel5 = 5 if variant == "paper" else 3
        if dropout is None:
            dropout = 0.4 if variant == "paper" else 0.2
        self.aux_logits = aux_logits
        self.variant = variant
        self.conv1 = BasicConv2d(in_channels, 64, 7, stride=2, padding=3)
        self.maxpool1 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = MaxPool2d(3, stride=2, ceil_mode=True)
        c = 192
        for name, widths in INCEPTION_TABLE.items():
            block = Inception(c, *widths, kernel5=kernel5)
            setattr(self, "inception" + name, block)
            c = block.out_channels
            if name == "3b":
                self.maxpool3 = MaxPool2d(3, stride=2, ceil_mode=True)
            elif name == "4e":
                self.maxpool4 = MaxPool2d(2, stride=2, ceil_mode=True)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout_aux)  # after 4a
            self.aux2 = InceptionAux(528, num_classes, dropout_aux)  # after 4d
        else:  # registered as None, as torchvision does, so the names stay known
            self.add_module("aux1", None)
            self.add_module("aux2", None)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.dropout = Dropout(dropout)
        self.fc = Linear(1024, num_classes)

    def _transform_input(self, x: Tensor) -> Tensor:
        # torchvision's pretrained GoogLeNet was trained on inputs scaled to [-1, 1]; this
        # maps ImageNet-normalised inputs (mean/std below) to that range, channel by channel
        mean = np.array([0.485, 0.456, 0.406], dtype=x.dtype).reshape(1, 3, 1, 1)
        std = np.array([0.229, 0.224, 0.225], dtype=x.dtype).reshape(1, 3, 1, 1)
        return x * Tensor(std / 0.5) + Tensor((mean - 0.5) / 0.5)

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux = self.training and self.aux_logits and self.aux1 is not None
        aux1 = self.aux1(x) if aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.avgpool(x)
        x = self.fc(self.dropout(x.reshape(x.shape[0], -1)))
        if aux:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet_loss(
    outputs: Tensor | GoogLeNetOutputs, target: Tensor, aux_weight: float = 0.3
) -> Tensor:
    """The paper's training loss: cross-entropy of the main head plus `aux_weight` (0.3)
    times each auxiliary head's; a plain tensor of logits (evaluation) gives the main
    loss alone.

    Parameters
    ----------
    outputs : GoogLeNetOutputs or Tensor
        The model's outputs: the three heads in training, the logits alone in evaluation.
    target : Tensor
        Class indices (N,).
    """
    from ..functional.loss import cross_entropy

    if isinstance(outputs, GoogLeNetOutputs):
        loss = cross_entropy(outputs.logits, target)
        for aux in (outputs.aux_logits1, outputs.aux_logits2):
            if aux is not None:
                loss = loss + aux_weight * cross_entropy(aux, target)
        return loss
    return cross_entropy(outputs, target)


def googlenet(
    num_classes: int = 1000,
    aux_logits: bool = True,
    in_channels: int = 3,
    variant: str = "paper",
    **kwargs: Any,
) -> GoogLeNet:
    """GoogLeNet (Inception v1). `variant="torchvision"` for torchvision's weights.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    aux_logits : bool
        Build the two auxiliary classifier heads used in training.
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    """
    return GoogLeNet(num_classes, aux_logits, in_channels, variant, **kwargs)
