"""The convolution family as differentiable functions: conv1d, conv2d, conv_transpose1d,
conv_transpose2d, the true (flipped-kernel) convolve2d, and unfold / fold (im2col / col2im).

conv2d is a cross-correlation, as in PyTorch (weight (O, C/groups, kh, kw)):

    y[n, o, ho, wo] = b[o] + Σ_{c, i, j} w[o, c, i, j] · xpad[n, c, ho·s + i·d, wo·s + j·d]

Its input gradient is conv_transpose2d's forward and conv_transpose2d's input gradient is
conv2d's forward; both share one weight-gradient kernel (`strided.kernels.conv`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Function, Grads, Tensor
from ..kernels.conv import (
    conv2d_backward_bias,
    conv2d_backward_data,
    conv2d_backward_weight,
    conv2d_forward,
    conv_transpose_output_size,
)
from ..kernels.im2col import col2im, conv_output_size, im2col
from .arguments import (
    as_tensor,
    check_input,
    check_padding_mode,
    check_window_fits,
    conv_pads,
    drop_1d,
    layout,
    lift_1d,
    ntuple,
    positive_int,
)
from .batching import batch_conventions


def check_conv_operands(
    fn: str, x: Tensor, w: Tensor, b: Tensor | None, groups: int, nd: int, transposed: bool
) -> str:
    check_input(x, nd + 2, fn, layout(nd))
    shapes = f"input shape {tuple(x.shape)}, weight shape {tuple(w.shape)}"
    if w.ndim != nd + 2:
        raise ValueError(f"{fn}: expected a {nd + 2}-D weight, got shape {tuple(w.shape)}")
    if w.dtype != x.dtype:
        raise TypeError(
            f"{fn}: input dtype {x.dtype} and weight dtype {w.dtype} differ "
            f"({shapes}); convert one of them"
        )
    positive_int(groups, fn, "groups")
    C = x.shape[1]
    if transposed:
        if w.shape[0] != C:
            raise ValueError(f"{fn}: input has {C} channels, expected {w.shape[0]} ({shapes})")
        if C % groups:
            raise ValueError(
                f"{fn}: groups={groups} does not divide the {C} input channels ({shapes})"
            )
        out_ch = w.shape[1] * groups
    else:
        O = w.shape[0]
        if C % groups or O % groups:
            raise ValueError(
                f"{fn}: groups={groups} must divide both the {C} input channels "
                f"and the {O} output channels ({shapes})"
            )
        if C != w.shape[1] * groups:
            raise ValueError(
                f"{fn}: input has {C} channels, expected {w.shape[1] * groups} ({shapes})"
            )
        out_ch = O
    if b is not None:
        if b.shape != (out_ch,):
            raise ValueError(
                f"{fn}: bias has shape {tuple(b.shape)}, expected ({out_ch},) ({shapes})"
            )
        if b.dtype != x.dtype:
            raise TypeError(f"{fn}: bias dtype {b.dtype} differs from input dtype {x.dtype}")
    return shapes


# ---------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------


class Conv2d(Function):
    """Cross-correlation; params stride, pads, dilation, groups, one_d."""

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        x, w = lift_1d(x, self.one_d), lift_1d(w, self.one_d)
        need_x, need_w = self.needs_input_grad[:2]
        self.x = x if need_w else None  # dW needs x, dx needs w: keep only what is asked
        self.w = w if need_x else None
        self.x_hw = x.shape[2:]
        self.kernel = w.shape[2:]
        y = conv2d_forward(x, w, b, self.stride, self.pads, self.dilation, self.groups)
        return drop_1d(y, self.one_d)

    def backward(self, gy: np.ndarray) -> Grads:
        gy = lift_1d(gy, self.one_d)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            assert self.w is not None  # forward keeps w whenever dx is needed
            gx = drop_1d(
                conv2d_backward_data(
                    gy, self.w, self.x_hw, self.stride, self.pads, self.dilation, self.groups
                ),
                self.one_d,
            )
        if self.needs_input_grad[1]:
            assert self.x is not None  # forward keeps x whenever dW is needed
            gw = drop_1d(
                conv2d_backward_weight(
                    self.x, gy, self.kernel, self.stride, self.pads, self.dilation, self.groups
                ),
                self.one_d,
            )
        if self.needs_input_grad[2]:
            gb = conv2d_backward_bias(gy)
        return gx, gw, gb


class ConvTranspose2d(Function):
    """The adjoint of Conv2d in its input; params stride, pads, dilation, groups, out_hw,
    one_d. The weight (C_in, C_out/groups, kh, kw) is read as a conv weight whose conv maps
    the output back to the input."""

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        x, w = lift_1d(x, self.one_d), lift_1d(w, self.one_d)
        need_x, need_w = self.needs_input_grad[:2]
        self.x = x if need_w else None
        self.w = w if need_x else None
        self.kernel = w.shape[2:]
        y = conv2d_backward_data(
            x, w, self.out_hw, self.stride, self.pads, self.dilation, self.groups
        )
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return drop_1d(y, self.one_d)

    def backward(self, gy: np.ndarray) -> Grads:
        gy = lift_1d(gy, self.one_d)
        gx = gw = gb = None
        if self.needs_input_grad[2]:
            gb = conv2d_backward_bias(gy)
        # output_padding ≥ stride (allowed while < dilation) adds rows that the adjoint
        # conv would read into an extra output row: drop what no input position reads
        gy = gy[:, :, : self.reach[0], : self.reach[1]]
        if self.needs_input_grad[0]:
            assert self.w is not None  # forward keeps w whenever dx is needed
            gx = drop_1d(
                conv2d_forward(
                    gy, self.w, None, self.stride, self.back_pads, self.dilation, self.groups
                ),
                self.one_d,
            )
        if self.needs_input_grad[1]:
            # the roles swap: gy plays the conv's input and x its output gradient
            assert self.x is not None  # forward keeps x whenever dW is needed
            gw = drop_1d(
                conv2d_backward_weight(
                    gy, self.x, self.kernel, self.stride, self.back_pads, self.dilation, self.groups
                ),
                self.one_d,
            )
        return gx, gw, gb


class Flip2d(Function):
    """w[..., ::-1, ::-1] (rotate the kernel by 180°); its own adjoint."""

    def forward(self, w: np.ndarray) -> np.ndarray:
        return w[..., ::-1, ::-1].copy()

    def backward(self, g: np.ndarray) -> Grads:
        return g[..., ::-1, ::-1]


class Unfold(Function):
    """im2col as (N, C·kh·kw, L); params kernel, stride, pads, dilation."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x_hw = x.shape[2:]
        col = im2col(x, self.kernel, self.stride, self.pads, self.dilation)
        C, kh, kw, N, Ho, Wo = col.shape
        self.col_shape = col.shape
        return col.transpose(3, 0, 1, 2, 4, 5).reshape(N, C * kh * kw, Ho * Wo)

    def backward(self, g: np.ndarray) -> Grads:
        C, kh, kw, N, Ho, Wo = self.col_shape
        col = g.reshape(N, C, kh, kw, Ho, Wo).transpose(1, 2, 3, 0, 4, 5)
        return col2im(col, self.x_hw, self.stride, self.pads, self.dilation)


class Fold(Function):
    """col2im from (N, C·kh·kw, L), summing overlaps; params out_hw, kernel, stride, pads,
    dilation, grid (Ho, Wo)."""

    def forward(self, cols: np.ndarray) -> np.ndarray:
        N, K, L = cols.shape
        kh, kw = self.kernel
        C = K // (kh * kw)
        col = cols.reshape(N, C, kh, kw, *self.grid).transpose(1, 2, 3, 0, 4, 5)
        return col2im(col, self.out_hw, self.stride, self.pads, self.dilation)

    def backward(self, g: np.ndarray) -> Grads:
        col = im2col(g, self.kernel, self.stride, self.pads, self.dilation)
        C, kh, kw, N, Ho, Wo = col.shape
        return col.transpose(3, 0, 1, 2, 4, 5).reshape(N, C * kh * kw, Ho * Wo)


# ---------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------


def _conv(
    fn: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: int | tuple[int, ...],
    padding: int | tuple[int, ...] | str,
    dilation: int | tuple[int, ...],
    groups: int,
    padding_mode: str,
) -> Tensor:
    x, w = as_tensor(input, fn), as_tensor(weight, fn, "weight")
    b = None if bias is None else as_tensor(bias, fn, "bias")
    shapes = check_conv_operands(fn, x, w, b, groups, nd, transposed=False)
    stride = ntuple(stride, nd, fn, "stride", minimum=1)
    dilation = ntuple(dilation, nd, fn, "dilation", minimum=1)
    kernel = tuple(w.shape[2:])
    pads = conv_pads(padding, kernel, dilation, stride, fn)
    if check_padding_mode(padding_mode, fn) != "zeros":
        from .padding import pad

        flat = tuple(v for lo_hi in reversed(pads) for v in lo_hi)  # PyTorch order
        if any(flat):
            x = pad(x, flat, mode=padding_mode)
        pads = ((0, 0),) * nd
    check_window_fits(tuple(x.shape[2:]), kernel, pads, dilation, fn, shapes)
    if nd == 1:
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    return Conv2d.apply(
        x, w, b, stride=stride, pads=pads, dilation=dilation, groups=int(groups), one_d=(nd == 1)
    )


@batch_conventions(4)
def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> Tensor:
    """2-D cross-correlation of `input` (N, C, H, W) with `weight` (O, C/groups, kh, kw).

    `padding` is an int, a pair, 'same' or 'valid'; `padding_mode` ('zeros', 'reflect',
    'replicate', 'circular') says what the padding holds. Output spatial size
    ⌊(W − d·(k−1) − 1 + 2P) / S⌋ + 1. Returns (N, O, Ho, Wo).

    Parameters
    ----------
    bias : Tensor or None
        Bias added to each output channel (C_out,).
    stride : int or tuple
        Stride of the convolution (default 1).
    dilation : int or tuple
        Spacing between the kernel elements (default 1).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups, padding_mode)


@batch_conventions(3)
def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> Tensor:
    """1-D cross-correlation of `input` (N, C, L) with `weight` (O, C/groups, k); as conv2d.

    Parameters
    ----------
    bias : Tensor or None
        Bias added to each output channel (C_out,).
    stride : int or tuple
        Stride of the convolution (default 1).
    padding : int or tuple
        Zero padding on both sides of each spatial dimension (default 0).
    dilation : int or tuple
        Spacing between the kernel elements (default 1).
    padding_mode : str
        'zeros' (default), 'reflect', 'replicate' or 'circular'.
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups, padding_mode)


@batch_conventions(4)
def convolve2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> Tensor:
    """True 2-D convolution (the signal-processing convention): the kernel is rotated by
    180° before sliding, y[m, n] = Σ_{i,j} w[i, j] · x[m − i, n − j] (with the origin at the
    kernel's far corner). Equals conv2d with `weight` flipped in both spatial axes.

    Parameters
    ----------
    input : Tensor
        The input tensor.
    bias : Tensor or None
        Bias added to each output channel (C_out,).
    stride : int or tuple
        Stride of the convolution (default 1).
    padding : int or tuple
        Zero padding on both sides of each spatial dimension (default 0).
    dilation : int or tuple
        Spacing between the kernel elements (default 1).
    groups : int
        Blocked connections from input to output channels (default 1).
    """
    w = as_tensor(weight, "convolve2d", "weight")
    if w.ndim != 4:
        raise ValueError(f"convolve2d: expected a 4-D weight, got shape {tuple(w.shape)}")
    return _conv(
        "convolve2d", 2, input, Flip2d.apply(w), bias, stride, padding, dilation, groups, "zeros"
    )


def _conv_transpose(
    fn: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: int | tuple[int, ...],
    padding: int | tuple[int, ...] | str,
    output_padding: int | tuple[int, ...],
    groups: int,
    dilation: int | tuple[int, ...],
    output_size: Sequence[int] | None,
) -> Tensor:
    x, w = as_tensor(input, fn), as_tensor(weight, fn, "weight")
    b = None if bias is None else as_tensor(bias, fn, "bias")
    shapes = check_conv_operands(fn, x, w, b, groups, nd, transposed=True)
    stride = ntuple(stride, nd, fn, "stride", minimum=1)
    dilation = ntuple(dilation, nd, fn, "dilation", minimum=1)
    pad = ntuple(padding, nd, fn, "padding", minimum=0)
    kernel = tuple(w.shape[2:])
    in_sp = tuple(x.shape[2:])
    smallest = tuple(
        conv_transpose_output_size(i, k, s, p, d, 0)
        for i, k, s, p, d in zip(in_sp, kernel, stride, pad, dilation, strict=True)
    )
    if output_size is not None:
        size = tuple(int(v) for v in output_size)[-nd:]
        if len(size) != nd:
            raise ValueError(f"{fn}: output_size must give {nd} spatial sizes, got {output_size!r}")
        out_pad = tuple(o - m for o, m in zip(size, smallest, strict=True))
        if any(
            op < 0 or op >= max(s, d) for op, s, d in zip(out_pad, stride, dilation, strict=True)
        ):
            largest = tuple(
                m + max(s, d) - 1 for m, s, d in zip(smallest, stride, dilation, strict=True)
            )
            raise ValueError(
                f"{fn}: output_size {size} is not reachable: sizes from {smallest} to {largest}"
                f" are ({shapes})"
            )
    else:
        out_pad = ntuple(output_padding, nd, fn, "output_padding", minimum=0)
        if any(op >= max(s, d) for op, s, d in zip(out_pad, stride, dilation, strict=True)):
            raise ValueError(
                f"{fn}: output_padding {out_pad} must be smaller than either "
                f"stride {stride} or dilation {dilation}"
            )
    out_sp = tuple(m + op for m, op in zip(smallest, out_pad, strict=True))
    if any(o < 1 for o in out_sp):
        raise ValueError(
            f"{fn}: output size {out_sp} is not positive; padding {pad} is too large ({shapes})"
        )
    pads = tuple((p, p) for p in pad)
    # The adjoint conv's output row i reads output rows up to i·s − p + d·(k − 1), at most
    # smallest − 1 + p: the rows past that are cut, and the right padding shrinks by what
    # of it the output_padding rows already hold, so the adjoint gives exactly the input.
    reach = tuple(m + min(op, p) for m, op, p in zip(smallest, out_pad, pad, strict=True))
    back_pads = tuple((p, p - min(op, p)) for op, p in zip(out_pad, pad, strict=True))
    if nd == 1:
        stride, dilation, pads, out_sp = (
            (1,) + stride,
            (1,) + dilation,
            ((0, 0),) + pads,
            (1,) + out_sp,
        )
        reach, back_pads = (1,) + reach, ((0, 0),) + back_pads
    return ConvTranspose2d.apply(
        x,
        w,
        b,
        stride=stride,
        pads=pads,
        dilation=dilation,
        groups=int(groups),
        out_hw=out_sp,
        reach=reach,
        back_pads=back_pads,
        one_d=(nd == 1),
    )


@batch_conventions(4)
def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """Transposed convolution of `input` (N, C_in, H, W) with `weight`
    (C_in, C_out/groups, kh, kw): the adjoint of conv2d, <conv2d(x, w), y> = <x,
    conv_transpose2d(y, w)>. Output size (i − 1)·s − 2p + d·(k − 1) + output_padding + 1;
    `output_size` (H, W) picks the output_padding instead.

    Parameters
    ----------
    bias : Tensor or None
        Bias added to each output channel (C_out,).
    stride : int or tuple
        Stride of the convolution (default 1).
    padding : int or tuple
        dilation·(kernel_size − 1) − padding zeros are added to both sides of the input (default
        0).
    dilation : int or tuple
        Spacing between the kernel elements (default 1).
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size,
    )


@batch_conventions(3)
def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """Transposed 1-D convolution of (N, C_in, L) with (C_in, C_out/groups, k).

    Parameters
    ----------
    input : Tensor
        The input tensor.
    weight : Tensor
        Filters (C_out, C_in/groups, *kernel), or (C_in, C_out/groups, *kernel) for transposed
        convolutions.
    bias : Tensor or None
        Bias added to each output channel (C_out,).
    stride : int or tuple
        Stride of the convolution (default 1).
    padding : int
        dilation·(kernel_size − 1) − padding zeros are added to both sides of the input (default
        0).
    output_padding : int or tuple
        Extra size added to one side of the output (default 0).
    dilation : int or tuple
        Spacing between the kernel elements (default 1).
    output_size : tuple or None
        Exact output size, instead of output_padding, to choose among the possible sizes.
    """
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size,
    )


def _unfold_geometry(
    fn: str,
    spatial: tuple[int, ...],
    kernel_size: int | tuple[int, ...],
    dilation: int | tuple[int, ...],
    padding: int | tuple[int, ...] | str,
    stride: int | tuple[int, ...],
) -> tuple:
    kernel = ntuple(kernel_size, 2, fn, "kernel_size", minimum=1)
    dilation = ntuple(dilation, 2, fn, "dilation", minimum=1)
    stride = ntuple(stride, 2, fn, "stride", minimum=1)
    pad = ntuple(padding, 2, fn, "padding", minimum=0)
    pads = tuple((p, p) for p in pad)
    check_window_fits(spatial, kernel, pads, dilation, fn, f"spatial size {spatial}")
    grid = tuple(
        conv_output_size(s, k, st, p, p, d)
        for s, k, st, p, d in zip(spatial, kernel, stride, pad, dilation, strict=True)
    )
    return kernel, dilation, stride, pads, grid


@batch_conventions(4)
def unfold(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    dilation: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    stride: int | tuple[int, ...] = 1,
) -> Tensor:
    """im2col: every (C, kh, kw) window of `input` (N, C, H, W) as a column of an
    (N, C·kh·kw, L) tensor, L the number of window positions (as torch.nn.functional.unfold).

    Parameters
    ----------
    kernel_size : int or tuple
        Size of the sliding blocks.
    dilation : int or tuple
        Spacing between the elements of a block (default 1).
    padding : int or tuple
        Zero padding on both sides of each spatial dimension (default 0).
    stride : int or tuple
        Stride of the sliding blocks (default 1).
    """
    x = as_tensor(input, "unfold")
    check_input(x, 4, "unfold", "(N, C, H, W)")
    kernel, dilation, stride, pads, _ = _unfold_geometry(
        "unfold", tuple(x.shape[2:]), kernel_size, dilation, padding, stride
    )
    return Unfold.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=dilation)


@batch_conventions(3)
def fold(
    input: Tensor,
    output_size: int | tuple[int | None, ...],
    kernel_size: int | tuple[int, ...],
    dilation: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    stride: int | tuple[int, ...] = 1,
) -> Tensor:
    """col2im, the adjoint of `unfold`: columns (N, C·kh·kw, L) summed back into an
    (N, C, H, W) image of spatial size `output_size`, overlapping windows added.

    Parameters
    ----------
    input : Tensor
        Blocks (N, C·∏kernel_size, L), as unfold returns them.
    kernel_size : int or tuple
        Size of the sliding blocks.
    dilation : int or tuple
        Spacing between the elements of a block (default 1).
    padding : int or tuple
        Zero padding on both sides of each spatial dimension (default 0).
    stride : int or tuple
        Stride of the sliding blocks (default 1).
    """
    cols = as_tensor(input, "fold")
    check_input(cols, 3, "fold", "(N, C·kh·kw, L)")
    out_hw = ntuple(output_size, 2, "fold", "output_size", minimum=1)
    kernel, dilation, stride, pads, grid = _unfold_geometry(
        "fold", out_hw, kernel_size, dilation, padding, stride
    )
    N, K, L = cols.shape
    if K % (kernel[0] * kernel[1]) or L != grid[0] * grid[1]:
        raise ValueError(
            f"fold: input of shape {tuple(cols.shape)} does not match kernel {kernel} and "
            f"output_size {out_hw}: expected (N, C·{kernel[0] * kernel[1]}, "
            f"{grid[0] * grid[1]})"
        )
    return Fold.apply(
        cols, out_hw=out_hw, kernel=kernel, stride=stride, pads=pads, dilation=dilation, grid=grid
    )


__all__ = [
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "convolve2d",
    "unfold",
    "fold",
]
