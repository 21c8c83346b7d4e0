"""`Module` and `Parameter`: the building blocks every layer and model is made of.

A Module owns three kinds of state, each in its own ordered dict so that names come out in
definition order, as PyTorch's do:

- parameters (`Parameter`, trained by an optimiser),
- buffers (arrays that belong to the model but are not trained, e.g. BatchNorm's running
  statistics),
- submodules.

Assigning an attribute files the value in the right dict (`self.fc = Linear(...)` registers
a submodule, `self.weight = Parameter(...)` a parameter), so `parameters()`, `state_dict()`,
`train()` and `to()` reach everything without a model listing its parts twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..autograd import Tensor, as_array
from ..backend import get_default_dtype, is_floating
from ..device import Device, array_module, get_default_device, move, to_numpy
from ..device import device as as_device


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable; `requires_grad` is True by default.

    `Parameter(data)` shares `data`'s array (an ndarray or a Tensor's `.data`); Python
    numbers and lists take the default dtype.
    """

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        super().__init__(as_array(data), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _source_array(value: Any) -> Any:
    """The array of a state-dict entry where it lives (a Tensor's data, a NumPy or device
    array as is); anything else (lists, numbers) as a NumPy array."""
    value = value.data if isinstance(value, Tensor) else value
    return value if hasattr(value, "shape") and hasattr(value, "dtype") else np.asarray(value)


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` returns: the keys it could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by `register_forward_hook`/`register_forward_pre_hook`; `remove()` undoes it."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class _DeviceOfState:
    """`module.device`: the device of its first parameter (or buffer); the default device
    for a module without state (a module split over two devices reports the first).

    A non-data descriptor, so a subclass may still assign `self.device = ...` in its
    `__init__`, as much PyTorch code does; that attribute then wins.
    """

    def __get__(self, module: Module | None, owner: type | None = None) -> Any:
        if module is None:
            return self
        for t in module._state_tensors():
            return t.device
        return get_default_device()


class Module:
    """Base class of every layer and model.

    Subclasses call `super().__init__()` first, assign parameters, buffers and submodules as
    attributes, and implement `forward`. Calling the module runs `forward` (and any hooks).
    """

    training: bool

    def __init__(self) -> None:
        # object.__setattr__ because our own __setattr__ needs these dicts to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # -- forward -------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(); subclasses of Module must define it"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._forward_hooks and not self._forward_pre_hooks:  # the common, fast path
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, out)
            if new is not None:
                out = new
        return out

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every forward; a non-None return
        replaces the output. Used e.g. to collect activations for an L1 penalty."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, inputs)` before every forward; a non-None return replaces
        the inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # -- registration --------------------------------------------------------------------
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: cannot assign {what} before Module.__init__() call "
                "(call super().__init__() first)"
            )

    @staticmethod
    def _check_name(kind: str, name: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, e.g. `bias=False`) under `name`."""
        self._check_init("parameters")
        self._check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"{type(self).__name__}: cannot assign {type(param).__name__} as parameter "
                f"{name!r} (strided.nn.Parameter or None expected)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add a buffer: state saved with the model but not trained (running statistics).

        Non-persistent buffers are left out of `state_dict()`. Arrays are wrapped as Tensors.
        """
        self._check_init("buffers")
        self._check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            if not isinstance(tensor, np.ndarray):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(tensor).__name__} as buffer "
                    f"{name!r} (Tensor, ndarray or None expected)"
                )
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a submodule under `name` (what attribute assignment does)."""
        self._check_init("submodules")
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._remove_from(name, d, self._buffers, self._modules)
            self._parameters[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as "
                    f"parameter {name!r} (strided.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("submodules")
            self._remove_from(name, d, self._parameters, self._buffers)
            self._modules[name] = value
        elif d.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as child "
                    f"module {name!r} (Module or None expected)"
                )
            self._modules[name] = None
        elif d.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                if not isinstance(value, np.ndarray):
                    raise TypeError(
                        f"{type(self).__name__}: cannot assign {type(value).__name__} as "
                        f"buffer {name!r} (Tensor, ndarray or None expected)"
                    )
                value = Tensor(value)
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name: str, *dicts: Any) -> None:
        for dct in dicts:
            if name in dct:
                del dct[name]

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: look in the three registries
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            reg = d.get(key)
            if reg is not None and name in reg:
                return reg[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            reg = self.__dict__[key]
            if name in reg:
                del reg[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    # -- traversal -----------------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, pre-order."""
        # iterative pre-order walk: a 1000-layer Sequential must not hit the recursion limit
        memo = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            children = [
                (name + ("." if name else "") + n, m)
                for n, m in mod._modules.items()
                if m is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, v in getattr(mod, registry).items():
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                yield mod_name + ("." if mod_name else "") + name, v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two layers comes once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path `target` ("" is self)."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(
                    f"{type(mod).__name__} has no submodule {part!r} (looking up {target!r})"
                )
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path `target`, e.g. "features.0.weight"."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many scalars the parameters hold (shared parameters counted once).

        The notes' MLP 784-16-16-10 has 784·16+16 + 16·16+16 + 16·10+10 = 13,002.
        """
        return sum(p.data.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # -- modes and gradients -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Switch to training mode (dropout active, BatchNorm uses batch statistics)."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: mode should be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode: `train(False)`."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter, e.g. for fine-tuning."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: drop it (default) or fill it with zeros."""
        from .utils import zero_grads_

        zero_grads_(self.parameters(), set_to_none)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every submodule (children first) and then on self, e.g. to
        initialise weights: `model.apply(init_fn)`."""
        # post-order over the pre-order list reversed: children before parents
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    # -- device and dtype ----------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move to a device and/or cast floating state to a dtype, in place, as PyTorch's
        `module.to(...)`: `to("cuda")`, `to(np.float64)`, `to("cuda:1", np.float32)`,
        `to(device=..., dtype=...)` or `to(tensor)` (its device and dtype).

        Parameters, their gradients and buffers are moved (and floating ones cast) in place:
        the Parameter objects stay the same, so an optimiser built before the move still
        holds them (its state follows on its next step). Returns self.

        Parameters
        ----------
        *args : str, Device, dtype or Tensor
            The destination device and/or dtype, in any order.
        **kwargs : Any
            `device=`, `dtype=`; `non_blocking=` is accepted and ignored.
        """
        where, dtype = self._to_args(args, kwargs)
        if dtype is not None and not is_floating(dtype):
            raise TypeError(
                f"{type(self).__name__}.to: only floating dtypes are allowed, got {dtype}"
            )
        for t in self._state_tensors():
            moved = t.data if where is None else move(t.data, where)
            if dtype is not None and is_floating(t.dtype) and moved.dtype != dtype:
                moved = moved.astype(dtype)
            if moved is not t.data:
                t.data = moved
                t._version += 1
            if isinstance(t, Parameter) and t.grad is not None:
                g = t.grad.data if where is None else move(t.grad.data, where)
                t.grad.data = g if g.dtype == t.dtype else g.astype(t.dtype)
        return self

    def _to_args(self, args: tuple, kwargs: dict) -> tuple[Device | None, np.dtype | None]:
        """(device, dtype) named by `to`'s arguments (None: unchanged)."""
        where = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.to: unexpected keyword argument(s) {', '.join(kwargs)}"
            )
        for a in args:
            if isinstance(a, Tensor):
                where, dtype = a.device, a.dtype
            elif isinstance(a, Device):
                where = a
            elif isinstance(a, str):
                try:
                    where = as_device(a)
                except ValueError:
                    dtype = a  # a dtype name, e.g. "float64"
            elif a is not None:
                dtype = a
        return (
            None if where is None else as_device(where),
            None if dtype is None else np.dtype(dtype),
        )

    def _state_tensors(self) -> Iterator[Tensor]:
        """Every parameter and buffer (persistent or not) of this module and its
        descendants, each once."""
        seen: set[int] = set()
        for m in self.modules():
            for t in (*m._parameters.values(), *m._buffers.values()):
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    yield t

    def cuda(self, device: int | str | Device | None = None) -> Module:
        """Move every parameter and buffer to a CUDA GPU (`device`: its index, default
        the current one), in place.

        Parameters
        ----------
        device : int, str, Device or None
            The GPU: 1, "cuda:1"; None for "cuda".
        """
        if device is None:
            return self.to("cuda")
        return self.to(f"cuda:{device}" if isinstance(device, int) else device)

    def cpu(self) -> Module:
        """Move every parameter and buffer to the CPU, in place."""
        return self.to("cpu")

    device = _DeviceOfState()

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64."""
        return self.to(np.float64)

    # -- state dict ----------------------------------------------------------------------
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Name → array copy of every parameter and persistent buffer.

        Names are dotted paths as in torchvision ("features.0.weight", "bn1.running_mean");
        within a module its parameters come before its buffers, then its children.
        With `keep_vars=True` the values are the Parameter/Tensor objects themselves.
        """
        out: OrderedDict = OrderedDict()
        for mod_name, mod in self.named_modules(prefix=prefix.rstrip(".")):
            pre = mod_name + ("." if mod_name else "")
            for name, p in mod._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.data.copy()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers:
                    out[pre + name] = b if keep_vars else b.data.copy()
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy arrays from `state_dict` into this module's parameters and buffers.

        Values are cast to each target's dtype. With `strict=True` (default) any missing,
        unexpected or mis-shaped key is an error, and the error lists all of them; nothing
        is loaded then. With `strict=False` the keys that match are loaded, mis-shaped keys
        still raise, and `(missing_keys, unexpected_keys)` is returned.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: expected a dict of arrays, "
                f"got {type(state_dict).__name__}"
            )
        targets = self.state_dict(keep_vars=True)
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        mismatched = []
        for k, t in targets.items():
            if k in state_dict:
                shape = tuple(_source_array(state_dict[k]).shape)
                if shape != t.shape:
                    mismatched.append(f"{k}: checkpoint shape {shape}, model shape {t.shape}")
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("size mismatch: " + "; ".join(mismatched))
        if problems:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: {len(missing) * strict} missing, "
                f"{len(unexpected) * strict} unexpected, {len(mismatched)} mis-shaped "
                "entries:\n  " + "\n  ".join(problems)
            )
        for k, t in targets.items():
            if k not in state_dict:
                continue
            src = _source_array(state_dict[k])
            if type(t.data) is np.ndarray:
                src = to_numpy(src)
                if t.data.flags.writeable and t.data.flags.c_contiguous:
                    np.copyto(t.data, src, casting="unsafe")
                else:
                    t.data = np.array(src, dtype=t.dtype, copy=True)
            else:  # onto the device the target lives on, wherever the source is
                src = move(src, t.device)
                array_module(t.data).copyto(t.data, src, casting="unsafe")
            t._version += 1
        return IncompatibleKeys(missing, unexpected)

    # -- repr ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses (e.g. "in_features=784, ..."); override."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(m), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
