"""The geometry of one convolution: everything a kernel, or the plan choosing it, needs to
know about a layer except the numbers in its arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..im2col import Pair, conv_output_size


class ConvGeometry(NamedTuple):
    """y (N, O, Ho, Wo) = conv2d(x (N, C, H, W), w (O, C/groups, kh, kw)) with `stride`,
    `pads` ((top, bottom), (left, right)), `dilation` and `groups`.

    The same geometry describes all three passes (forward, input gradient, weight
    gradient) and conv_transpose2d, whose input is this convolution's output. Hashable, so
    that the plan is chosen once per geometry."""

    N: int
    C: int
    H: int
    W: int
    O: int
    kh: int
    kw: int
    stride: Pair
    pads: tuple[Pair, Pair]
    dilation: Pair
    groups: int

    @classmethod
    def of(
        cls,
        x_shape: Sequence[int],
        w_shape: Sequence[int],
        stride: Sequence[int],
        pads: Sequence[Sequence[int]],
        dilation: Sequence[int],
        groups: int,
    ) -> ConvGeometry:
        """The geometry of conv2d on an input of `x_shape` with a weight of `w_shape`."""
        N, C, H, W = (int(v) for v in x_shape)
        O, _, kh, kw = (int(v) for v in w_shape)
        (pt, pb), (pl, pr) = pads
        return cls(
            N, C, H, W, O, kh, kw,
            (int(stride[0]), int(stride[1])),
            ((int(pt), int(pb)), (int(pl), int(pr))),
            (int(dilation[0]), int(dilation[1])),
            int(groups),
        )  # fmt: skip

    @property
    def kernel(self) -> Pair:
        """(kh, kw)."""
        return self.kh, self.kw

    @property
    def out_hw(self) -> Pair:
        """(Ho, Wo) = ⌊(H + pads − d·(k − 1) − 1) / s⌋ + 1 per axis."""
        return (
            conv_output_size(self.H, self.kh, self.stride[0], *self.pads[0], self.dilation[0]),
            conv_output_size(self.W, self.kw, self.stride[1], *self.pads[1], self.dilation[1]),
        )

    @property
    def padded_hw(self) -> Pair:
        """The input's size with its padding, (H + pt + pb, W + pl + pr)."""
        return self.H + sum(self.pads[0]), self.W + sum(self.pads[1])

    @property
    def depthwise(self) -> bool:
        """One filter per channel: groups == C == O."""
        return self.groups == self.C == self.O

    @property
    def pointwise(self) -> bool:
        """1×1 without stride, padding or groups: a channel product at every pixel."""
        return (
            self.kernel == (1, 1)
            and self.stride == (1, 1)
            and self.groups == 1
            and self.pads == ((0, 0), (0, 0))
        )

    def macs(self) -> int:
        """Multiply-adds of one pass: N·O·(C/g)·kh·kw·Ho·Wo."""
        Ho, Wo = self.out_hw
        return self.N * self.O * (self.C // self.groups) * self.kh * self.kw * Ho * Wo
