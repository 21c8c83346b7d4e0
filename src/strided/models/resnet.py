"""Residual networks (He, Zhang, Ren, Sun 2016, "Deep residual learning for image
recognition").

- ImageNet ResNets of Table 1, laid out exactly as torchvision's (`conv1`, `bn1`,
  `layer1.0.conv1`, `layer2.0.downsample.0/1`, `fc`, ...) so its weights load 1:1:
  resnet18 11,689,512 · resnet34 21,797,672 · resnet50 25,557,032 ·
  resnet101 44,549,160 · resnet152 60,192,808 parameters.
- The CIFAR-10 ResNets of Section 4.2: a 3×3 conv with 16 filters, three stages of n basic
  blocks on 32×32, 16×16 and 8×8 maps with 16, 32 and 64 filters, global average pooling
  and a 10-way FC: 6n+2 layers, resnet20/32/44/56/110 (0.27M, 0.46M, 0.66M, 0.85M, 1.7M
  parameters with the paper's parameter-free option-A shortcuts).

Every constructor takes `plain=True` for the paper's "plain" twin: the same stack without
the identity shortcuts, the network of the degradation experiment (Fig. 1 and 4: deeper
plain nets train *worse*, deeper residual nets better).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd import Tensor
from ..functional.padding import pad
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.norm import BatchNorm2d
from ..nn.pool import AdaptiveAvgPool2d, MaxPool2d
from .mlp import init_conv_relu_

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "CifarResNet",
    "PadShortcut",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet110",
]


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> Conv2d:
    # no bias: the BatchNorm that follows has its own shift
    return Conv2d(cin, cout, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> Conv2d:
    return Conv2d(cin, cout, 1, stride=stride, bias=False)


class _ResidualBlock(Module):
    """What both blocks share: the shortcut (or none, `plain`) and the final ReLU."""

    def _set_shortcut(self, downsample: Module | None, stride: int, plain: bool) -> None:
        # assigned after the convs so that state-dict keys come in torchvision's order
        self.downsample = downsample
        self.stride = stride
        self.plain = plain

    def _merge(self, out: Tensor, x: Tensor) -> Tensor:
        if not self.plain:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class BasicBlock(_ResidualBlock):
    """Two 3×3 convs, y = relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)).

    `downsample` maps x to the output's shape when stride or width change (a 1×1 conv + BN,
    torchvision's option B, or `PadShortcut`, the paper's option A); `plain=True` drops the
    shortcut altogether.

    Parameters
    ----------
    inplanes : int
        Channels coming into the block.
    planes : int
        Channels of the block's convolutions (times the expansion at its output).
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: Module | None = None,
        plain: bool = False,
    ):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        self._set_shortcut(downsample, stride, plain)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self._merge(self.bn2(self.conv2(out)), x)


class Bottleneck(_ResidualBlock):
    """1×1 reduce → 3×3 → 1×1 expand (×4), for ResNet-50 and deeper: at 256 channels it
    costs 1×1·256·64 + 3×3·64·64 + 1×1·64·256 ≈ 70K weights where two 3×3 convs at 256
    would cost 1.2M. The stride sits on the 3×3 conv, as in torchvision ("ResNet v1.5").

    Parameters
    ----------
    inplanes : int
        Channels coming into the block.
    planes : int
        Channels of the block's convolutions (times the expansion at its output).
    downsample : Module or None
        The projection of the shortcut when the shape changes.
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    groups : int
        Groups of the 3×3 convolution (ResNeXt's cardinality; 1 for ResNet).
    base_width : int
        Width per group of the bottleneck (64: the plain ResNet).
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: Module | None = None,
        plain: bool = False,
        groups: int = 1,
        base_width: int = 64,
    ):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = BatchNorm2d(planes * self.expansion)
        self.relu = ReLU()
        self._set_shortcut(downsample, stride, plain)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self._merge(self.bn3(self.conv3(out)), x)


class PadShortcut(Module):
    """The paper's option A shortcut: subsample by `stride`, zero-pad the extra channels.

    No parameters, which is why the CIFAR ResNets of Table 6 have exactly 0.27M (n=3).

    Parameters
    ----------
    planes_out : int
        Channels after the shortcut (the extra ones are zeros).
    """

    def __init__(self, planes_out: int, stride: int = 2):
        super().__init__()
        self.planes_out = planes_out
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride
        y = x[:, :, ::s, ::s]
        extra = self.planes_out - y.shape[1]
        if extra <= 0:
            return y
        return pad(y, (0, 0, 0, 0, 0, extra))  # (W, H, C) pairs: zeros after the channels

    def extra_repr(self) -> str:
        return f"planes_out={self.planes_out}, stride={self.stride}"


def _make_layer(
    block: Block, inplanes: int, planes: int, blocks: int, stride: int, plain: bool, shortcut: str
) -> tuple[Sequential, int]:
    """One stage: `blocks` blocks, the first one changing stride/width. Returns the stage
    and its output width."""
    out = planes * block.expansion
    downsample: Module | None = None
    if not plain and (stride != 1 or inplanes != out):
        if shortcut == "A":
            downsample = PadShortcut(out, stride)
        else:
            downsample = Sequential(conv1x1(inplanes, out, stride), BatchNorm2d(out))
    layers = [block(inplanes, planes, stride, downsample, plain=plain)]
    layers += [block(out, planes, plain=plain) for _ in range(1, blocks)]
    return Sequential(*layers), out


# a residual block class: what a stage is made of
Block = type[BasicBlock] | type[Bottleneck]


def _zero_init_last_bn(model: Module) -> None:
    # each residual branch starts as zero, so every block starts as the identity
    # (Goyal et al. 2017); improves early training of deep nets.
    from ..nn import init

    for m in model.modules():
        if isinstance(m, Bottleneck):
            init.zeros_(m.bn3.weight)
        elif isinstance(m, BasicBlock):
            init.zeros_(m.bn2.weight)


class _ResNetBase(Module):
    """Stages `layer1`, `layer2`, ... then global average pooling and the FC classifier,
    with He initialisation; shared by the ImageNet and the CIFAR ResNets."""

    def _add_stages_and_head(
        self,
        block: Block,
        c: int,
        widths: Sequence[int],
        depths: Sequence[int],
        plain: bool,
        shortcut: str,
        num_classes: int,
        zero_init_residual: bool,
    ) -> None:
        for i, (planes, n) in enumerate(zip(widths, depths, strict=True)):
            stage, c = _make_layer(block, c, planes, n, 1 if i == 0 else 2, plain, shortcut)
            setattr(self, f"layer{i + 1}", stage)
        self.num_stages = len(widths)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(c, num_classes)
        init_conv_relu_(self)
        if zero_init_residual:
            _zero_init_last_bn(self)

    def _stages_and_head(self, x: Tensor) -> Tensor:
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        x = self.avgpool(x)
        return self.fc(x.reshape(x.shape[0], -1))


class ResNet(_ResNetBase):
    """torchvision's ImageNet ResNet: 7×7/2 conv, 3×3/2 max pool, four stages of 64, 128,
    256, 512 (×expansion) channels, global average pooling, FC.

    Parameters
    ----------
    block : type
        BasicBlock or Bottleneck.
    layers : sequence of int
        Blocks in each of the four stages.
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    zero_init_residual : bool
        Start each residual block's last BatchNorm at zero, so every block begins as the
        identity.
    """

    def __init__(
        self,
        block: Block,
        layers: Sequence[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        plain: bool = False,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must give 4 stage depths, got {list(layers)}")
        self.conv1 = Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(64)
        self.relu = ReLU()
        self.maxpool = MaxPool2d(3, stride=2, padding=1)
        self._add_stages_and_head(
            block, 64, (64, 128, 256, 512), layers, plain, "B", num_classes, zero_init_residual
        )

    def forward(self, x: Tensor) -> Tensor:
        return self._stages_and_head(self.maxpool(self.relu(self.bn1(self.conv1(x)))))


class CifarResNet(_ResNetBase):
    """The CIFAR-10 ResNet of Section 4.2: 6n+2 layers, widths 16/32/64 on 32/16/8 maps.

    `shortcut="A"` (paper, zero padding, no parameters) or "B" (1×1 conv + BN projection).

    Parameters
    ----------
    depth : int
        Layers of the CIFAR ResNet: 6n + 2 (20, 32, 44, 56, 110).
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    zero_init_residual : bool
        Start each residual block's last BatchNorm at zero, so every block begins as the
        identity.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int = 10,
        in_channels: int = 3,
        plain: bool = False,
        shortcut: str = "A",
        widths: Sequence[int] = (16, 32, 64),
        zero_init_residual: bool = False,
    ):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(
                f"CifarResNet: depth must be 6n+2 (20, 32, 44, 56, 110, ...), got {depth}"
            )
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' or 'B', got {shortcut!r}")
        n = (depth - 2) // 6
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU()
        self._add_stages_and_head(
            BasicBlock,
            widths[0],
            widths,
            [n] * len(widths),
            plain,
            shortcut,
            num_classes,
            zero_init_residual,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self._stages_and_head(self.relu(self.bn1(self.conv1(x))))


def resnet18(
    num_classes: int = 1000, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> ResNet:
    """ResNet-18 (basic blocks 2-2-2-2): 11,689,512 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, plain, **kwargs)


def resnet34(
    num_classes: int = 1000, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> ResNet:
    """ResNet-34 (basic blocks 3-4-6-3): 21,797,672 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, plain, **kwargs)


def resnet50(
    num_classes: int = 1000, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> ResNet:
    """ResNet-50 (bottlenecks 3-4-6-3): 25,557,032 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, plain, **kwargs)


def resnet101(
    num_classes: int = 1000, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> ResNet:
    """ResNet-101 (bottlenecks 3-4-23-3): 44,549,160 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, plain, **kwargs)


def resnet152(
    num_classes: int = 1000, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> ResNet:
    """ResNet-152 (bottlenecks 3-8-36-3): 60,192,808 parameters.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, plain, **kwargs)


def resnet20(
    num_classes: int = 10, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> CifarResNet:
    """CIFAR ResNet-20 (n=3): 269,722 parameters (paper: 0.27M).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return CifarResNet(20, num_classes, in_channels, plain, **kwargs)


def resnet32(
    num_classes: int = 10, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> CifarResNet:
    """CIFAR ResNet-32 (n=5): 464,154 parameters (paper: 0.46M).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return CifarResNet(32, num_classes, in_channels, plain, **kwargs)


def resnet44(
    num_classes: int = 10, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> CifarResNet:
    """CIFAR ResNet-44 (n=7): 658,586 parameters (paper: 0.66M).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return CifarResNet(44, num_classes, in_channels, plain, **kwargs)


def resnet56(
    num_classes: int = 10, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> CifarResNet:
    """CIFAR ResNet-56 (n=9): 853,018 parameters (paper: 0.85M).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return CifarResNet(56, num_classes, in_channels, plain, **kwargs)


def resnet110(
    num_classes: int = 10, in_channels: int = 3, plain: bool = False, **kwargs: Any
) -> CifarResNet:
    """CIFAR ResNet-110 (n=18): 1,727,962 parameters (paper: 1.7M).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    plain : bool
        Leave out the shortcut connections: the 'plain' network of He et al. that shows the
        degradation problem.
    """
    return CifarResNet(110, num_classes, in_channels, plain, **kwargs)
