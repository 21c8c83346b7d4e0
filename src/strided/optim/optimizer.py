"""The optimiser base class: parameter groups, per-parameter state, and a state dict.

An optimiser holds `param_groups`, a list of dicts each with a "params" list and its own
hyperparameters (e.g. no weight decay on biases, a smaller lr for a pretrained backbone),
and `state`, a dict from parameter to that parameter's buffers (momentum, moments, step).
`step()` updates every parameter that has a gradient, in place, under no_grad semantics:
it writes `p.data` with in-place NumPy operations and records nothing.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable
from typing import Any, cast

import numpy as np

from ..autograd import Tensor, no_grad
from ..device import device_of, move, on_cpu
from ..nn.utils import zero_grads_

# what an optimiser takes: the parameters, or groups of them (dicts with "params" and
# per-group options)
Params = Iterable[Tensor] | Iterable[dict[str, Any]]


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def check_range(
    owner: str,
    name: str,
    value: object,
    low: float,
    high: float | None = None,
    high_open: bool = True,
) -> None:
    """ValueError unless low ≤ value (< or ≤) high."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    v = float(value)
    if v < low or (high is not None and (v >= high if high_open else v > high)):
        if high is None:
            rng = f">= {low}"
        else:
            rng = f"in [{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: invalid {name} {value!r}; it must be {rng}")


# Elements per block of an update: its temporaries (~128 KB each) stay in cache and are
# recycled by the allocator, where a full-size temporary of a 100M-parameter layer was a
# fresh 400 MB mapping each step, page-faulted in (VGG-11's SGD step: 0.88 → 0.20 s).
UPDATE_BLOCK = 1 << 15


def for_blocks(update: Callable, *arrays: Any) -> None:
    """update(*blocks) over matching flat blocks of `arrays` (None stays None), in place.
    Arrays that are not all C-contiguous (no flat views) are passed whole."""
    present = [a for a in arrays if a is not None]
    n = present[0].size
    # on a GPU one kernel per operation over the whole array beats many small launches
    if (
        n <= UPDATE_BLOCK
        or type(present[0]) is not np.ndarray
        or not all(a.flags.c_contiguous for a in present)
    ):
        update(*arrays)
        return
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    for i in range(0, n, UPDATE_BLOCK):
        update(*(None if f is None else f[i : i + UPDATE_BLOCK] for f in flat))


def _is_array(value: Any) -> bool:
    """True for a NumPy array or an array on a device (not for Python or NumPy scalars)."""
    return isinstance(value, np.ndarray) or (
        hasattr(value, "shape") and not isinstance(value, np.generic) and not on_cpu(value)
    )


def _follow(state: dict[str, Any], data: Any) -> None:
    """Move a parameter's state arrays to the parameter's device when it moved since (as
    `module.to("cuda")` after some steps): the state follows on the next step."""
    host = type(data) is np.ndarray
    for k, v in state.items():
        if getattr(v, "ndim", 0) == 0:
            continue  # counters (Python or NumPy scalars) stay where they are
        if (type(v) is np.ndarray) if host else device_of(v) == device_of(data):
            continue
        state[k] = move(v, device_of(data))


class Optimizer:
    """Base class: subclasses set `defaults`, validate them, and implement `step()`.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        The parameters to optimise, or parameter groups (dicts with a 'params' key and per-group
        options).
    """

    def __init__(self, params: Params, defaults: dict) -> None:
        name = type(self).__name__
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts, "
                f"got a single Tensor (wrap it in a list)"
            )
        if isinstance(params, dict):
            params = [params]
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{name} got an empty parameter list: nothing to optimise "
                "(did model.parameters() come back empty, or was the "
                "generator already consumed?)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(cast(dict, g))

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones take the
        optimiser's defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}: a param group must be a dict, got {type(param_group).__name__}"
            )
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: params must be an ordered collection, not a set "
                "(a set's order changes between runs)"
            )
        params = list(params) if params is not None else []
        if not params:
            raise ValueError(f"{name}: a parameter group was given no parameters")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimise Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: can't optimise a non-leaf Tensor (shape "
                    f"{p.shape}); optimise the leaves it was computed from"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group holds the same parameter twice")
        group["params"] = params
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(
                    f"{name}: parameter group didn't specify a value of "
                    f"required optimisation parameter {k}"
                )
            group.setdefault(k, v)
        self._validate(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _validate(self, group: dict) -> None:
        """Check a group's hyperparameters; subclasses extend it."""
        check_range(type(self).__name__, "learning rate (lr)", group["lr"], 0.0)
        if "weight_decay" in group:
            check_range(type(self).__name__, "weight_decay", group["weight_decay"], 0.0)
        if "eps" in group:
            check_range(type(self).__name__, "eps", group["eps"], 0.0)

    # -- the loop ------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter: drop them (default) or zero them."""
        zero_grads_((p for g in self.param_groups for p in g["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient. `closure` (re-evaluates the
        model and returns the loss) is called first, with gradients enabled, if given."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad

            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.data
                    if g.shape != p.shape:
                        raise ValueError(
                            f"{type(self).__name__}: gradient shape {g.shape} does not match "
                            f"parameter shape {p.shape}"
                        )
                    state = self.state.get(p)
                    if state is None:
                        state = self.state[p] = {}
                    else:
                        _follow(state, p.data)
                    self._update(p, g, state, group)
                    p._version += 1
        return loss

    def _update(self, p: Tensor, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError  # pragma: no cover

    # -- state dict ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: {name: array or number}}, "param_groups": [{..., "params":
        [index, ...]}]}: parameters are referred to by their position across groups, so
        the dict can be saved (arrays + JSON) and loaded into a fresh optimiser."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            packed["params"] = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: (v.copy() if _is_array(v) else v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by `state_dict()` into an optimiser
        built over the same parameters (same group sizes, same order)."""
        name = type(self).__name__
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if groups is None or "state" not in state_dict:
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'"
            )
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(groups)} "
                f"parameter groups, this optimiser has {len(self.param_groups)}"
            )
        sizes_saved = [len(g["params"]) for g in groups]
        sizes_here = [len(g["params"]) for g in self.param_groups]
        if sizes_saved != sizes_here:
            raise ValueError(
                f"{name}.load_state_dict: group sizes {sizes_saved} in the state "
                f"dict do not match this optimiser's {sizes_here}"
            )
        by_index = {}
        for saved, here in zip(groups, self.param_groups, strict=True):
            for i, p in zip(saved["params"], here["params"], strict=True):
                by_index[int(i)] = p
        new_state: dict = {}
        for i, s in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter index {i}, which no group holds"
                )
            st = {}
            for k, v in s.items():
                if isinstance(v, Tensor):
                    v = v.data
                if _is_array(v):
                    if v.shape != p.shape and v.ndim > 0:
                        raise ValueError(
                            f"{name}.load_state_dict: state {k!r} of parameter {i} has shape "
                            f"{v.shape}, the parameter has shape {p.shape}"
                        )
                    if v.ndim > 0:
                        # moments go to the parameter's device and dtype; counters keep theirs
                        v = move(v, p.device)
                        v = v.astype(p.dtype) if np.issubdtype(v.dtype, np.floating) else v.copy()
                    else:
                        v = v.copy()
                st[k] = v
            new_state[p] = st
        self.state = new_state
        for saved, here in zip(groups, self.param_groups, strict=True):
            for k, v in saved.items():
                if k != "params":
                    here[k] = copy.deepcopy(v)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"
