"""Autoencoders: networks trained to reproduce their input through a narrow code.

- `fc_autoencoder`: fully connected encoder and mirrored decoder.
- `conv_autoencoder`: strided convs down, transposed convs up (each the adjoint of a
  strided conv, so the decoder learns an "un-convolution").
- `unpool_autoencoder`: conv + max pool down, max-unpool with the encoder's argmax
  indices + conv up (SegNet's decoder, Badrinarayanan et al. 2017): the unpooling puts
  each value back where its maximum came from.
- `linear_autoencoder`: one linear layer each way, no nonlinearity. Trained with squared
  error on centred data its decoder spans the same subspace as the top-k principal
  components (Baldi & Hornik 1989), though its columns need not be the orthonormal
  components themselves; tests/models/test_autoencoder.py checks this against an SVD.

Each model has `encoder`, `decoder`, `encode(x)`, `decode(z)`; `forward(x)` reconstructs.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..autograd import Tensor
from ..nn.activation import ReLU, Sigmoid
from ..nn.containers import Sequential
from ..nn.conv import Conv2d, ConvTranspose2d
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.pool import MaxPool2d, MaxUnpool2d
from .mlp import mlp

__all__ = [
    "Autoencoder",
    "UnpoolAutoencoder",
    "fc_autoencoder",
    "conv_autoencoder",
    "unpool_autoencoder",
    "linear_autoencoder",
]


class Autoencoder(Module):
    """encoder → code → decoder; `forward(x)` is `decode(encode(x))`."""

    def __init__(self, encoder: Module, decoder: Module):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


def fc_autoencoder(
    sizes: Sequence[int] = (784, 256, 64),
    activation: str = "relu",
    output_activation: str | None = "sigmoid",
) -> Autoencoder:
    """Fully connected: encoder `sizes` (input → ... → code), decoder the reverse.

    Sigmoid outputs suit pixel intensities in [0, 1] (MNIST); the code layer is linear.

    Parameters
    ----------
    activation : str
        Activation between the hidden layers ('relu', 'tanh', 'sigmoid', ...).
    output_activation : str or None
        Activation of the reconstruction ('sigmoid' for pixels in [0, 1], None for a linear
        output).
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"fc_autoencoder: sizes needs an input and a code width, got {sizes}")
    return Autoencoder(
        mlp(sizes, activation), mlp(sizes[::-1], activation, output_activation=output_activation)
    )


def conv_autoencoder(
    in_channels: int = 1,
    channels: Sequence[int] = (16, 32),
    output_activation: str | None = "sigmoid",
) -> Autoencoder:
    """Convolutional: each encoder stage a 3×3 conv at stride 2 (halving H, W), each
    decoder stage a 3×3 transposed conv at stride 2 with output_padding 1 (doubling them
    back exactly, 28 → 14 → 7 → 14 → 28).

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    channels : sequence of int
        Channels of the encoder's stages, from the input side; the decoder mirrors them.
    output_activation : str or None
        Activation of the reconstruction ('sigmoid' for pixels in [0, 1], None for a linear
        output).
    """
    enc: list[Module] = []
    c = in_channels
    for w in channels:
        enc += [Conv2d(c, w, 3, stride=2, padding=1), ReLU()]
        c = w
    dec: list[Module] = []
    outs = list(channels[-2::-1]) + [in_channels]
    for i, w in enumerate(outs):
        dec.append(ConvTranspose2d(c, w, 3, stride=2, padding=1, output_padding=1))
        if i < len(outs) - 1:
            dec.append(ReLU())
        c = w
    if output_activation == "sigmoid":
        dec.append(Sigmoid())
    elif output_activation is not None:
        raise ValueError(
            f"conv_autoencoder: output_activation must be 'sigmoid' or None, "
            f"got {output_activation!r}"
        )
    return Autoencoder(Sequential(*enc), Sequential(*dec))


class UnpoolAutoencoder(Module):
    """conv-ReLU-maxpool stages down; maxunpool (with that stage's indices)-conv up.

    `encode(x)` returns `(code, indices)` with one indices array per pooling stage, the
    deepest last; `decode(code, indices)` consumes them in reverse.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    channels : sequence of int
        Channels of the encoder's stages, from the input side; the decoder mirrors them.
    output_activation : str or None
        Activation of the reconstruction ('sigmoid' for pixels in [0, 1], None for a linear
        output).
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32),
        output_activation: str | None = "sigmoid",
    ):
        super().__init__()
        enc: list[Module] = []
        c = in_channels
        for w in channels:
            enc.append(Sequential(Conv2d(c, w, 3, padding=1), ReLU()))
            c = w
        self.encoder = Sequential(*enc)
        self.pools = Sequential(*[MaxPool2d(2, 2, return_indices=True) for _ in channels])
        self.unpools = Sequential(*[MaxUnpool2d(2, 2) for _ in channels])
        dec: list[Module] = []
        outs = list(channels[-2::-1]) + [in_channels]
        for i, w in enumerate(outs):
            last = i == len(outs) - 1
            act = (Sigmoid() if output_activation == "sigmoid" else None) if last else ReLU()
            dec.append(Sequential(Conv2d(c, w, 3, padding=1), *([act] if act else [])))
            c = w
        self.decoder = Sequential(*dec)

    def encode(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        indices = []
        for conv, pool in zip(self.encoder, self.pools, strict=True):
            x, idx = pool(conv(x))
            indices.append(idx)
        return x, indices

    def decode(self, z: Tensor, indices: Sequence[Tensor]) -> Tensor:
        for unpool, conv, idx in zip(self.unpools, self.decoder, reversed(indices), strict=True):
            z = conv(unpool(z, idx))
        return z

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(*self.encode(x))


def unpool_autoencoder(
    in_channels: int = 1,
    channels: Sequence[int] = (16, 32),
    output_activation: str | None = "sigmoid",
) -> UnpoolAutoencoder:
    """Max-pooling encoder, max-unpooling decoder that reuses the encoder's indices.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    channels : sequence of int
        Channels of the encoder's stages, from the input side; the decoder mirrors them.
    output_activation : str or None
        Activation of the reconstruction ('sigmoid' for pixels in [0, 1], None for a linear
        output).
    """
    return UnpoolAutoencoder(in_channels, channels, output_activation)


def linear_autoencoder(in_features: int, code_size: int, bias: bool = True) -> Autoencoder:
    """x → W₂(W₁x + b₁) + b₂ with W₁ (k, d), W₂ (d, k): a rank-k linear map, the model
    whose optimum is PCA's subspace.

    Parameters
    ----------
    in_features : int
        Size of the input vectors.
    code_size : int
        Size of the code (the bottleneck), at most in_features.
    bias : bool
        Give the two linear maps a bias.
    """
    if not 0 < code_size <= in_features:
        raise ValueError(
            f"linear_autoencoder: code_size must be in 1..in_features="
            f"{in_features}, got {code_size}"
        )
    return Autoencoder(
        Linear(in_features, code_size, bias=bias), Linear(code_size, in_features, bias=bias)
    )
