"""Multilayer perceptrons, the fully connected networks the notes start from, and the few
helpers every other architecture file shares (activation by name, the fixed-head input
check, He initialisation of conv layers).

`mlp([784, 16, 16, 10])` is the notes' digit classifier: 784·16+16 + 16·16+16 + 16·10+10 =
13,002 parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ..autograd import Tensor
from ..nn.containers import Sequential
from ..nn.linear import Linear
from ..nn.module import Module

__all__ = ["mlp", "make_activation", "check_head_input", "init_conv_relu_"]


def make_activation(activation: str | Callable[[], Module] | None) -> Module | None:
    """A fresh activation module from a name ("relu", "tanh", "sigmoid", ...) or a factory.

    A new instance each call, so that no two layers share a module (their forward hooks and
    summaries stay per layer).
    """
    if activation is None:
        return None
    if callable(activation) and not isinstance(activation, str):
        return activation()
    from ..nn import activation as act

    names = {
        "relu": "ReLU",
        "tanh": "Tanh",
        "sigmoid": "Sigmoid",
        "leaky_relu": "LeakyReLU",
        "elu": "ELU",
        "gelu": "GELU",
        "softplus": "Softplus",
        "identity": None,
        "linear": None,
    }
    key = str(activation).lower()
    if key not in names:
        raise ValueError(
            f"activation: unknown name {activation!r}; expected one of {sorted(names)} "
            "or a callable returning a Module"
        )
    cls_name = names[key]
    if cls_name is None:
        return None
    return getattr(act, cls_name)()


def mlp(
    sizes: Sequence[int],
    activation: str | Callable[[], Module] = "relu",
    output_activation: str | Callable[[], Module] | None = None,
    dropout: float = 0.0,
    bias: bool = True,
) -> Sequential:
    """A fully connected network with layer widths `sizes` (input first, classes last).

    Between consecutive Linear layers comes `activation` (and Dropout when `dropout > 0`);
    the last layer returns logits unless `output_activation` is given. Keys are
    Sequential indices: "0.weight", "0.bias", "2.weight", ...
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise ValueError(
            f"mlp: sizes must list at least an input and an output width, all positive; got {sizes}"
        )
    layers: list[Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(n_in, n_out, bias=bias))
        last = i == len(sizes) - 2
        act = make_activation(output_activation if last else activation)
        if act is not None:
            layers.append(act)
        if not last and dropout > 0:
            from ..nn.dropout import Dropout

            layers.append(Dropout(dropout))
    return Sequential(*layers)


def check_head_input(
    model: str, features: Tensor, expected: tuple, input_shape: tuple, expected_input: str
) -> None:
    """Raise a clear ValueError when a fixed-size fully connected head gets the wrong size.

    Models without adaptive pooling (the original LeNet-5 and AlexNet) only work for the
    input size their first FC layer was sized for; the plain size mismatch inside `Linear`
    would not say which input the model wanted.
    """
    got = tuple(features.shape[1:])
    if got != tuple(expected):
        raise ValueError(
            f"{model}: the fully connected head expects features of shape "
            f"{'×'.join(map(str, expected))}, which a {expected_input} input gives; "
            f"the input of shape {tuple(input_shape)} gave {'×'.join(map(str, got))}"
        )


def init_conv_relu_(model: Module, zero_bias: bool = True) -> Module:
    """He-normal (fan_out, ReLU gain) initialisation of every Conv2d, BatchNorm to (1, 0).

    What torchvision does for VGG, ResNet, DenseNet and MobileNet (He et al. 2015, "Delving
    deep into rectifiers"): with ReLU, Var(w) = 2/fan keeps activations from shrinking with
    depth, which plain VGG-16/19 need to train at all. Linear layers keep their default.
    """
    from ..nn import init
    from ..nn.conv import Conv2d
    from ..nn.norm import BatchNorm2d

    for m in model.modules():
        if isinstance(m, Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None and zero_bias:
                init.zeros_(m.bias)
        elif isinstance(m, BatchNorm2d) and m.weight is not None:
            init.ones_(m.weight)
            init.zeros_(m.bias)
    return model
