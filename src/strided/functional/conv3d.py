"""3-D convolution as a differentiable function, `conv3d`: the cross-correlation of
(N, C, D, H, W) with a weight (O, C/groups, kd, kh, kw), as PyTorch's:

    y[n, o, p] = b[o] + Σ_{c, t} w[o, c, t] · xpad[n, c, p·s + t·d]

Its input gradient is the adjoint (col2im of Wᵀ·dy) and its weight gradient the
correlation of the input with dy (`strided.kernels.conv3d`).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..kernels.conv3d import conv3d_backward_data, conv3d_backward_weight, conv3d_forward
from .arguments import as_tensor, check_padding_mode, check_window_fits, conv_pads, ntuple
from .batching import batch_conventions
from .conv import check_conv_operands


class Conv3d(Function):
    """params stride, padding, dilation, groups."""

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        need_x, need_w = self.needs_input_grad[:2]
        self.x = x if need_w else None
        self.w = w if need_x else None
        self.x_shape, self.kernel = x.shape, w.shape[2:]
        return conv3d_forward(x, w, b, self.stride, self.padding, self.dilation, self.groups)

    def backward(self, gy: np.ndarray) -> Grads:
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            assert self.w is not None  # forward keeps w whenever dx is needed
            gx = conv3d_backward_data(
                gy, self.w, self.x_shape, self.stride, self.padding, self.dilation, self.groups
            )
        if self.needs_input_grad[1]:
            assert self.x is not None  # forward keeps x whenever dW is needed
            gw = conv3d_backward_weight(
                self.x, gy, self.kernel, self.stride, self.padding, self.dilation, self.groups
            )
        if self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3, 4))
        return gx, gw, gb


@batch_conventions(5)
def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> Tensor:
    """3-D cross-correlation of `input` (N, C, D, H, W) or (C, D, H, W) with `weight`
    (O, C/groups, kd, kh, kw).

    Parameters
    ----------
    input, weight, bias : Tensor
        Input, weight and optional bias (O,).
    stride, dilation : int or tuple of 3 ints
    padding : int, tuple of 3 ints, 'same' or 'valid'
    groups : int
        Channels split into this many independent groups.
    padding_mode : str
        What the padding holds: 'zeros', 'reflect', 'replicate' or 'circular'.

    Returns
    -------
    Tensor
        (N, O, Do, Ho, Wo), each ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1.
    """
    fn = "conv3d"
    x, w = as_tensor(input, fn), as_tensor(weight, fn, "weight")
    b = None if bias is None else as_tensor(bias, fn, "bias")
    shapes = check_conv_operands(fn, x, w, b, groups, 3, transposed=False)
    stride = ntuple(stride, 3, fn, "stride", minimum=1)
    dilation = ntuple(dilation, 3, fn, "dilation", minimum=1)
    kernel = tuple(w.shape[2:])
    pads = conv_pads(padding, kernel, dilation, stride, fn)
    check_padding_mode(padding_mode, fn)
    if padding_mode != "zeros" or any(lo != hi for lo, hi in pads):
        from .padding import pad

        flat = tuple(v for lo_hi in reversed(pads) for v in lo_hi)  # PyTorch order
        if any(flat):  # uneven 'same' padding, or a non-zero fill: pad explicitly
            x = pad(x, flat, mode="constant" if padding_mode == "zeros" else padding_mode)
        pads = ((0, 0),) * 3
    check_window_fits(tuple(x.shape[2:]), kernel, pads, dilation, fn, shapes)
    return Conv3d.apply(
        x,
        w,
        b,
        stride=stride,
        padding=tuple(lo for lo, _ in pads),
        dilation=dilation,
        groups=int(groups),
    )


__all__ = ["conv3d"]
