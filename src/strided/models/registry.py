"""Name → constructor for every architecture, for the command line (`strided summary vgg16`,
`strided train --model lenet5`) and for code that picks a model from a config.

    get_model("lenet5", num_classes=10)      list_models()      input_shape_of("vgg16")
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..nn.module import Module
from .googlenet import googlenet
from .lenet import lenet5
from .mlp import mlp

# Modules by import path: the package rebinds names like `alexnet` to the constructors, so
# `from . import alexnet` would give the function, not the module.
_alexnet_mod, ae, dn, mb, rn, vg = (
    importlib.import_module(f"{__package__}.{m}")
    for m in ("alexnet", "autoencoder", "densenet", "mobilenet", "resnet", "vgg")
)

__all__ = [
    "ModelEntry",
    "register_model",
    "get_model",
    "list_models",
    "input_shape_of",
    "describe_model",
    "takes_in_channels",
]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: constructor, the input shape (C, H, W) of one example the notes
    use for it, a one-line description, and whether the constructor takes `in_channels`."""

    name: str
    build: Callable
    input_shape: tuple
    description: str
    in_channels: bool


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str,
    build: Callable,
    input_shape: tuple,
    description: str = "",
    overwrite: bool = False,
    in_channels: bool | None = None,
) -> None:
    """Add `build` under `name` (lower case); a duplicate name is an error unless
    `overwrite`. `in_channels` says whether `build` accepts that argument (default: whether
    its signature names it).

    Parameters
    ----------
    input_shape : tuple of int
        One example's shape (C, H, W) as the notes use it.
    description : str
        A one-line description for `strided summary --list`.
    """
    key = name.lower()
    if key in _REGISTRY and not overwrite:
        raise ValueError(f"register_model: {name!r} is already registered")
    if in_channels is None:
        in_channels = "in_channels" in inspect.signature(build).parameters
    _REGISTRY[key] = ModelEntry(key, build, tuple(input_shape), description, in_channels)


def _entry(name: str) -> ModelEntry:
    key = str(name).lower()
    if key not in _REGISTRY:
        close = difflib.get_close_matches(key, list(_REGISTRY), n=3)
        raise ValueError(
            f"get_model: unknown model {name!r}"
            + (f" (did you mean {', '.join(close)}?)" if close else "")
            + f"; known models: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[key]


def get_model(name: str, **kwargs: Any) -> Module:
    """Build the model registered as `name`, passing `kwargs` (num_classes, in_channels,
    plain, batch_norm, ...) to its constructor."""
    return _entry(name).build(**kwargs)


def list_models() -> list[str]:
    """Registered names, sorted."""
    return sorted(_REGISTRY)


def input_shape_of(name: str) -> tuple:
    """The (C, H, W) input the notes use for this model (e.g. (3, 224, 224) for VGG-16).

    Parameters
    ----------
    name : str
        A registered model name.
    """
    return _entry(name).input_shape


def describe_model(name: str) -> str:
    """The one-line description registered with `name`."""
    return _entry(name).description


def takes_in_channels(name: str) -> bool:
    """Whether the constructor of `name` accepts `in_channels` (the MLP and the fully
    connected autoencoders take vectors instead)."""
    return _entry(name).in_channels


_IMAGENET = (3, 224, 224)
_CIFAR = (3, 32, 32)
_MNIST = (1, 28, 28)

register_model(
    "mlp",
    lambda sizes=(784, 16, 16, 10), **kw: mlp(sizes, **kw),
    (784,),
    "MLP 784-16-16-10 of the notes (13,002 parameters); pass sizes=[...]",
)
register_model("lenet5", lenet5, _MNIST, "LeNet-5, modern (ReLU, max pool, 28x28)")
register_model(
    "lenet5_classic",
    partial(lenet5, variant="classic"),
    (1, 32, 32),
    "LeNet-5 as in 1998 (tanh, average pooling, 32x32)",
)
register_model("alexnet", _alexnet_mod.alexnet, _IMAGENET, "AlexNet, torchvision's (61.1M)")
register_model(
    "alexnet_original",
    partial(_alexnet_mod.alexnet, variant="original"),
    (3, 227, 227),
    "AlexNet as in the notes' table (227x227, LRN)",
)
for _n, _f in (("vgg11", vg.vgg11), ("vgg13", vg.vgg13), ("vgg16", vg.vgg16), ("vgg19", vg.vgg19)):
    register_model(_n, _f, _IMAGENET, f"{_n.upper()} ({_f.__doc__.split(',')[1].strip()}")
    register_model(
        _n + "_bn",
        partial(_f, batch_norm=True),
        _IMAGENET,
        f"{_n.upper()} with batch normalisation",
    )
register_model(
    "googlenet", googlenet, _IMAGENET, "GoogLeNet / Inception v1 (Table 1, auxiliary heads)"
)
for _n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
    register_model(_n, getattr(rn, _n), _IMAGENET, getattr(rn, _n).__doc__)
for _n in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110"):
    register_model(_n, getattr(rn, _n), _CIFAR, getattr(rn, _n).__doc__)
    register_model(
        "plain" + _n[6:],
        partial(getattr(rn, _n), plain=True),
        _CIFAR,
        f"plain twin of {_n} (no shortcuts), for the degradation experiment",
    )
register_model("densenet121", dn.densenet121, _IMAGENET, dn.densenet121.__doc__)
register_model(
    "densenet_bc_100", dn.densenet_cifar, _CIFAR, "DenseNet-BC for CIFAR (L=100, k=12, 0.8M)"
)
register_model("mobilenet_v1", mb.mobilenet_v1, _IMAGENET, "MobileNet v1 (4.2M)")
register_model(
    "fc_autoencoder", ae.fc_autoencoder, (784,), "fully connected autoencoder 784-256-64"
)
register_model(
    "conv_autoencoder", ae.conv_autoencoder, _MNIST, "conv encoder, transposed-conv decoder"
)
register_model(
    "unpool_autoencoder",
    ae.unpool_autoencoder,
    _MNIST,
    "max-pool encoder, max-unpool decoder with the encoder's indices",
)
register_model(
    "linear_autoencoder",
    lambda in_features=784, code_size=32, **kw: ae.linear_autoencoder(in_features, code_size, **kw),
    (784,),
    "linear autoencoder (learns the PCA subspace)",
)
