"""Data-parallel training: every rank holds the whole model, computes the gradient of its
share of the batch, and the ranks average their gradients before each step.

    dL/dθ = (1/R) Σ_r dL_r/dθ     (L_r the mean loss over rank r's equal share)

so R ranks with batch B take the same steps as one process with batch R·B. The averaging is
an allreduce per bucket of parameters (~`bucket_mb` MB each, in reverse order of
registration, which is about the order backward finishes them): a bucket is sent, without
blocking, as soon as the last gradient in it is final, while backward goes on with the
layers below, and the step waits for the rest when backward ends.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor, queue_callback
from ..nn.module import Module
from . import comm


class _Bucket:
    def __init__(self, params: list):
        self.params = params
        self.buffer = np.zeros(sum(p.data.size for p in params), dtype=params[0].dtype)
        self.ready: set[int] = set()
        self.request: Any = None
        self.launched = False


class DistributedDataParallel(Module):
    """Wrap `module` so that its gradients are averaged over all ranks after backward.

    At construction, rank 0's parameters and buffers are copied to every rank, after a check
    that all ranks built the same model (names, shapes and dtypes; a mismatch is an error
    that names the rank and the parameter). Forward runs the module unchanged.

    Parameters
    ----------
    module : Module
    bucket_mb : float
        Size of the gradient buckets sent together, in MB (PyTorch's default: 25).
    broadcast_buffers : bool
        Also copy rank 0's buffers (BatchNorm statistics) to every rank before each forward
        in training mode, as PyTorch does; with SyncBatchNorm they agree anyway.
    """

    def __init__(self, module: Module, bucket_mb: float = 25.0, broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel: module must be a strided Module, got "
                f"{type(module).__name__}"
            )
        comm.init()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self._check_same_model()
        self.sync_state()
        params = [p for p in module.parameters() if p.requires_grad]
        self._buckets: list[_Bucket] = []
        limit = max(1, int(bucket_mb * (1 << 20)))
        current: list = []
        size = 0
        for p in reversed(params):  # backward finishes the last layers first
            if current and (size + p.data.nbytes > limit or p.dtype != current[0].dtype):
                self._buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
        if current:
            self._buckets.append(_Bucket(current))
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._pending_finish = False
        self._handles = [p.register_post_accumulate_grad_hook(self._ready) for p in params]

    # -- set-up ---------------------------------------------------------------------------
    def _check_same_model(self) -> None:
        entries = [
            f"{name}:{tuple(t.shape)}:{t.dtype}"
            for name, t in list(self.module.named_parameters()) + list(self.module.named_buffers())
        ]
        signatures = comm.gather_text("\n".join(entries), "the model check at start")
        if comm.get_rank() == 0 and signatures is not None:
            mine = signatures[0].split("\n")
            for rank, text in enumerate(signatures[1:], start=1):
                theirs = text.split("\n")
                if theirs != mine:
                    diff = next(
                        (
                            f"rank 0 has {a!r}, rank {rank} has {b!r}"
                            for a, b in zip(mine, theirs, strict=False)
                            if a != b
                        ),
                        f"rank 0 has {len(mine)} tensors, rank {rank} {len(theirs)}",
                    )
                    verdict = f"ranks built different models: {diff}"
                    break
            else:
                verdict = ""
        else:
            verdict = None
        verdict = comm.broadcast_text(verdict, 0, "the model check at start")
        if verdict:
            raise ValueError(f"DistributedDataParallel: {verdict}")

    def sync_state(self) -> None:
        """Copy rank 0's parameters and buffers to every rank."""
        for _, t in list(self.module.named_parameters()) + list(self.module.named_buffers()):
            data = np.ascontiguousarray(t.data)
            comm.broadcast_(data, 0, "broadcasting rank 0's parameters")
            t.data[...] = data

    # -- the hooks of backward --------------------------------------------------------------
    def _ready(self, p: Tensor) -> None:
        if not self._pending_finish:
            self._pending_finish = True
            queue_callback(self._finish)
        bucket = self._bucket_of[id(p)]
        bucket.ready.add(id(p))
        if len(bucket.ready) == len(bucket.params):
            self._launch(bucket)

    def _launch(self, bucket: _Bucket) -> None:
        offset = 0
        for p in bucket.params:
            n = p.data.size
            if p.grad is None:  # unused in this pass: contributes zero, as PyTorch does
                bucket.buffer[offset : offset + n] = 0
            else:
                bucket.buffer[offset : offset + n] = p.grad.data.reshape(-1)
            offset += n
        bucket.launched = True
        bucket.request = comm.iallreduce_(bucket.buffer) if comm.get_world_size() > 1 else None

    def _finish(self) -> None:
        """After backward: send what is left, wait for everything, write the averages."""
        self._pending_finish = False
        scale = 1.0 / comm.get_world_size()
        for bucket in self._buckets:
            if not bucket.launched:
                self._launch(bucket)
        for bucket in self._buckets:
            if bucket.request is not None:
                comm.wait(bucket.request, "the gradient allreduce")
                bucket.request = None
            offset = 0
            for p in bucket.params:
                n = p.data.size
                avg = (bucket.buffer[offset : offset + n] * scale).reshape(p.shape)
                if p.grad is None:
                    p.grad = Tensor(avg.astype(p.dtype, copy=False))
                else:
                    p.grad.data = avg.astype(p.dtype, copy=False)
                offset += n
            bucket.ready.clear()
            bucket.launched = False

    # -- forward --------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.training and self.broadcast_buffers and comm.get_world_size() > 1:
            for _, b in self.module.named_buffers():
                data = np.ascontiguousarray(b.data)
                comm.broadcast_(data, 0, "broadcasting rank 0's buffers")
                b.data[...] = data
        return self.module(*args, **kwargs)

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped module's state (without a 'module.' prefix), so that checkpoints load
        into the plain model."""
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> Any:
        return self.module.load_state_dict(state_dict, strict=strict)
