"""Saving and loading, never pickle: arrays in safetensors, everything else in JSON.

``atomic``         the one atomic writer (temp file, fsync, rename)
``format``         ``save``/``load`` (flat arrays + meta), ``save_state``/``load_state``
                   (any nest of dicts, lists and arrays: optimiser states, checkpoints)
``model``          ``save_model``/``load_model``/``read_model_file``: a module's weights
``torch_weights``  PyTorch / torchvision state dicts from .safetensors or .npz files
"""

from .atomic import atomic_open, atomic_write_bytes, atomic_write_text
from .format import (
    CheckpointError,
    decode_tree,
    encode_tree,
    load,
    load_state,
    save,
    save_state,
    to_jsonable,
)
from .model import load_model, read_model_file, save_model
from .torch_weights import load_torch_state_dict, read_state_dict, save_state_dict

__all__ = [
    "CheckpointError",
    "save",
    "load",
    "save_state",
    "load_state",
    "save_model",
    "load_model",
    "read_model_file",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "to_jsonable",
    "encode_tree",
    "decode_tree",
    "load_torch_state_dict",
    "read_state_dict",
    "save_state_dict",
]
