"""Containers that hold other modules (Sequential, ModuleList, ModuleDict) and the two
shape adaptors every CNN needs between its convolutional and dense parts (Flatten,
Unflatten), plus Identity."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from typing import Any, NoReturn, SupportsIndex, TypeVar

import numpy as np

from ..autograd import Tensor
from ..functional.shape import reshape
from .module import Module

# a list-like container, returned by its own methods
S = TypeVar("S", bound="_ModuleSequence")


def _index(name: str, idx: SupportsIndex, n: int) -> int:
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{name}: index {idx} is out of range for {n} modules")
    return idx % n


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: an ordered run of modules named "0", "1", ...
    (Sequential may also carry names of its own), with list-like access."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: SupportsIndex | slice) -> Any:
        if isinstance(idx, slice):
            return self._from_items(list(self._modules.items())[idx])
        keys = list(self._modules)
        return self._modules[keys[_index(type(self).__name__, idx, len(keys))]]

    def __setitem__(self, idx: SupportsIndex, module: Module) -> None:
        keys = list(self._modules)
        self.add_module(keys[_index(type(self).__name__, idx, len(keys))], module)

    def __delitem__(self, idx: SupportsIndex | slice) -> None:
        items = list(self._modules.items())
        del items[idx if isinstance(idx, slice) else _index(type(self).__name__, idx, len(items))]
        self._reset(items)

    def _reset(self, items: list[tuple[str, Module]]) -> None:
        # keep the names 0..n−1 (unless the user named them), so state_dict keys stay as
        # torch would write them
        numbered = all(k.isdigit() for k, _ in items)
        self._modules.clear()
        for i, (k, m) in enumerate(items):
            self.add_module(str(i) if numbered else k, m)

    def _from_items(self: S, items: list[tuple[str, Module]]) -> S:  # pragma: no cover
        raise NotImplementedError

    def append(self: S, module: Module) -> S:
        """Add `module` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self: S, modules: Iterable[Module]) -> S:
        for m in modules:
            self.append(m)
        return self

    def insert(self: S, index: int, module: Module) -> S:
        """Insert `module` before position `index` (renumbering what follows)."""
        if not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__}.insert: {type(module).__name__} is not a Module"
            )
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(
                f"{type(self).__name__}.insert: index {index} out of range for {n} modules"
            )
        items = list(self._modules.items())
        items.insert(index, (str(n), module))
        self._reset(items)
        return self


class Sequential(_ModuleSequence):
    """Modules applied one after another: `Sequential(a, b, c)(x) == c(b(a(x)))`.

    Built from modules (named "0", "1", ...) or from one OrderedDict of name → module.
    Supports `len`, iteration, indexing (an int gives the module, a slice a new Sequential
    sharing the modules), `append`, `insert`, `extend` and `del`.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                if not isinstance(m, Module):
                    raise TypeError(
                        f"Sequential: argument {i} is a {type(m).__name__}, not a Module"
                    )
                self.add_module(str(i), m)

    def _from_items(self, items: list[tuple[str, Module]]) -> Sequential:
        return Sequential(OrderedDict(items))

    def forward(self, x: Tensor) -> Tensor:
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _from_items(self, items: list[tuple[str, Module]]) -> ModuleList:
        return ModuleList(m for _, m in items)

    def forward(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError("ModuleList has no forward(); iterate over it instead")


class ModuleDict(Module):
    """An ordered dict of name → module whose parameters are registered.

    Parameters
    ----------
    modules : Mapping or iterable of (str, Module) or None
        The initial named modules, in order.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self) -> KeysView[str]:
        return self._modules.keys()

    def items(self) -> ItemsView[str, Module]:
        return self._modules.items()

    def values(self) -> ValuesView[Module]:
        return self._modules.values()

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        items = modules.items() if isinstance(modules, Mapping) else modules
        for k, m in items:
            self.add_module(k, m)

    def forward(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError("ModuleDict has no forward(); index it instead")


class Identity(Module):
    """Returns its input; a placeholder (e.g. to cut a classifier head off a model).
    Any constructor arguments are accepted and ignored, as in torch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Flatten dimensions `start_dim`..`end_dim` into one: (N, C, H, W) → (N, C·H·W)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        nd = x.ndim
        s = self.start_dim % nd if nd else 0
        e = self.end_dim % nd if nd else 0
        if s > e:
            raise ValueError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): "
                f"start_dim comes after end_dim for input shape {x.shape}"
            )
        shape = x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :]
        return reshape(x, shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size`: (N, 784) → (N, 1, 28, 28)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        d = self.dim % x.ndim
        size = list(self.unflattened_size)
        known = int(np.prod([s for s in size if s != -1]))
        if size.count(-1) == 1 and known:
            size[size.index(-1)] = x.shape[d] // known
        if int(np.prod(size)) != x.shape[d]:
            raise ValueError(
                f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size}): "
                f"dimension {d} of input shape {x.shape} has size {x.shape[d]}, which is not "
                f"{'·'.join(map(str, self.unflattened_size))}"
            )
        return reshape(x, x.shape[:d] + tuple(size) + x.shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
