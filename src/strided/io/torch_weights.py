"""Load PyTorch / torchvision weights into strided models, without pickle.

`load_torch_state_dict(model, path)` reads a `.safetensors` file (safetensors.numpy) or a
`.npz` archive (`np.load(allow_pickle=False)`) holding a torch `state_dict` and copies it
into `model`. The models of `strided.models` use torchvision's attribute names, so the
keys match 1:1:

    ResNet     conv1, bn1, layer1.0.conv1, layer2.0.downsample.0 / .1, fc
    VGG        features.N, classifier.N            AlexNet   features.N, classifier.N
    GoogLeNet  conv1.conv, conv1.bn, inception3a.branch2.0.conv, aux1.conv.conv, aux1.fc1,
               aux1.fc2, fc   (use googlenet(variant="torchvision") for its 3×3 "5×5" branch)
    DenseNet   features.conv0, features.denseblock1.denselayer1.norm1, features.transition1
               .conv, features.norm5, classifier

Mappings applied (documented, no guessing beyond these):
- `num_batches_tracked` is optional both ways: a checkpoint may carry it or not (old
  torchvision checkpoints do not), and it is dropped when the model keeps no such buffer.
- Weights of submodules the model has switched off (set to None, e.g. `aux1`/`aux2` of
  `googlenet(aux_logits=False)`; torchvision's GoogLeNet checkpoint carries them) are
  skipped.
- Old DenseNet checkpoints name layer parts "norm.1", "conv.2"; they become "norm1",
  "conv2", as torchvision's own loader does.
- `key_map` (a dict old → new, or a function) renames anything else, e.g. a prefix left
  by `DataParallel` ("module.").

Checks are strict: all missing, unexpected and mis-shaped keys are listed in one
ValueError, and nothing is loaded then. Values are cast to the model's dtype.

To produce a file from PyTorch: `safetensors.torch.save_file(model.state_dict(), "w.safetensors")`
or `np.savez("w.npz", **{k: v.numpy() for k, v in model.state_dict().items()})`.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from .atomic import atomic_write_bytes
from .format import host_array

if TYPE_CHECKING:  # io sits below nn: data and nn may both save files
    from ..nn.module import Module

__all__ = ["read_state_dict", "load_torch_state_dict", "save_state_dict"]

# torch name → ours (a name mapped to None is dropped)
KeyMap = Mapping[str, str] | Callable[[str], str | None]

_DENSENET_OLD = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|"
    r"running_var|num_batches_tracked))$"
)


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Name → array from a .safetensors or .npz file; never unpickles anything.

    Parameters
    ----------
    path : str or PathLike
        A .safetensors or .npz file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"read_state_dict: no such file {path!r}")
    lower = path.lower()
    if lower.endswith(".safetensors"):
        from safetensors.numpy import load_file

        return dict(load_file(path))
    if lower.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    raise ValueError(
        f"read_state_dict: {path!r} is neither .safetensors nor .npz; convert a torch "
        "checkpoint with safetensors.torch.save_file(model.state_dict(), 'w.safetensors') "
        "(pickled .pt/.pth files are not read, on purpose)"
    )


def save_state_dict(model_or_state: Module | Mapping, path: str | os.PathLike) -> None:
    """Write a state dict as .safetensors or .npz, atomically (`strided.io`'s writer), in
    the plain form PyTorch reads (`safetensors.torch.load_file`, `np.load`).

    Parameters
    ----------
    model_or_state : Module or Mapping
        A model (its state_dict is saved) or a state dict of arrays/tensors.
    path : str or PathLike
        The .safetensors file to write (atomically).
    """
    path = os.fspath(path)
    state = (
        model_or_state.state_dict()
        if hasattr(model_or_state, "state_dict")
        else dict(model_or_state)
    )
    # order="C" keeps 0-d arrays 0-d (ascontiguousarray would make them 1-d)
    arrays = {k: np.asarray(host_array(v), order="C") for k, v in state.items()}
    if path.lower().endswith(".safetensors"):
        from safetensors.numpy import save

        data = save(arrays)
    elif path.lower().endswith(".npz"):
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=False, **arrays)
        data = buf.getvalue()
    else:
        raise ValueError(f"save_state_dict: {path!r} must end in .safetensors or .npz")
    atomic_write_bytes(path, data)


def _rename(state: Mapping[str, np.ndarray], key_map: KeyMap | None) -> dict[str, np.ndarray]:
    out = {}
    for key, v in state.items():
        k = key
        if key_map is not None:
            mapped = key_map(key) if callable(key_map) else key_map.get(key, key)
            if mapped is None:
                continue
            k = mapped
        m = _DENSENET_OLD.match(k)
        if m:
            k = m.group(1) + m.group(2)  # "norm" + "1.weight"
        out[k] = v
    return out


def load_torch_state_dict(
    model: Module,
    path_or_state: str | os.PathLike[str] | Mapping[str, np.ndarray],
    strict: bool = True,
    key_map: KeyMap | None = None,
) -> tuple[list[str], list[str]]:
    """Copy a torch/torchvision state dict (file path or dict of arrays) into `model`.

    Returns `(missing_keys, unexpected_keys)` (both empty when strict). Raises ValueError
    listing every missing, unexpected and mis-shaped key when they do not match.

    Parameters
    ----------
    path_or_state : str or PathLike or Mapping
        A file saved by PyTorch (.pt/.pth/.safetensors) or an already loaded state dict.
    key_map : Mapping or callable or None
        Renames PyTorch keys to ours: a dict, or a function returning the new key (None to drop
        it).
    """
    if isinstance(path_or_state, (str, os.PathLike)):
        source = os.fspath(path_or_state)
        state = read_state_dict(source)
    else:
        source = "state dict"
        state = {k: host_array(v) for k, v in dict(path_or_state).items()}
    state = _rename(state, key_map)
    targets = model.state_dict(keep_vars=True)
    for k in [k for k in state if k.endswith("num_batches_tracked") and k not in targets]:
        del state[k]
    # submodules the model switched off (set to None, e.g. GoogLeNet's aux heads with
    # aux_logits=False): torchvision's checkpoints still carry their weights
    disabled = tuple(
        f"{name}.{child}." if name else f"{child}."
        for name, mod in model.named_modules()
        for child, sub in mod._modules.items()
        if sub is None
    )
    if disabled:
        for k in [k for k in state if k.startswith(disabled) and k not in targets]:
            del state[k]
    optional = {k for k in targets if k.endswith("num_batches_tracked")}

    missing = [k for k in targets if k not in state and k not in optional]
    unexpected = [k for k in state if k not in targets]
    mis = [
        f"{k}: file {tuple(np.shape(v))}, model {tuple(targets[k].shape)}"
        for k, v in state.items()
        if k in targets and tuple(np.shape(v)) != targets[k].shape
    ]
    problems = []
    if strict and missing:
        problems.append(f"missing keys ({len(missing)}): " + ", ".join(missing))
    if strict and unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): " + ", ".join(unexpected))
    if mis:
        problems.append(f"mis-shaped keys ({len(mis)}): " + "; ".join(mis))
    if problems:
        raise ValueError(
            f"load_torch_state_dict: {source} does not fit "
            f"{type(model).__name__}:\n  " + "\n  ".join(problems)
        )
    known = {k: v for k, v in state.items() if k in targets}
    model.load_state_dict(known, strict=False)
    return missing, unexpected
