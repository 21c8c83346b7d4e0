"""The process group: MPI's COMM_WORLD through mpi4py, with the few collectives data-parallel
training needs, each bounded in time.

MPI collectives block until every rank has joined; when a rank dies, the others would wait
forever (Open MPI's launcher usually kills the job first, but not every launcher does). So
every collective here is non-blocking underneath and polled against a deadline
(`STRIDED_DIST_TIMEOUT` seconds, default 300): past it, the rank says which operation and
which step it was waiting on, and aborts the whole job.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

_world: Any = None  # the mpi4py communicator once init() ran


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            "strided.distributed needs mpi4py and an MPI library: pip install 'strided[mpi]'"
        ) from error
    return MPI


def init() -> Any:
    """Join the process group started by `mpirun` (a world of one when run without it).
    Returns the communicator; calling it again returns the same one."""
    global _world
    if _world is None:
        _world = _mpi().COMM_WORLD
    return _world


def is_initialized() -> bool:
    """True once `init()` has run."""
    return _world is not None


def _comm() -> Any:
    if _world is None:
        raise RuntimeError("strided.distributed: call strided.distributed.init() first")
    return _world


def get_rank() -> int:
    """This process's rank, 0 … world size − 1 (0 before `init`)."""
    return 0 if _world is None else int(_world.Get_rank())


def get_world_size() -> int:
    """How many processes train together (1 before `init`)."""
    return 1 if _world is None else int(_world.Get_size())


def is_main_process() -> bool:
    """Rank 0: the one that writes checkpoints, curves and the progress bar."""
    return get_rank() == 0


def timeout() -> float:
    """Seconds a collective may wait for the other ranks (`STRIDED_DIST_TIMEOUT`)."""
    try:
        return float(os.environ.get("STRIDED_DIST_TIMEOUT", "300"))
    except ValueError:
        raise ValueError(
            "STRIDED_DIST_TIMEOUT must be a number of seconds, got "
            f"{os.environ['STRIDED_DIST_TIMEOUT']!r}"
        ) from None


def wait(request: Any, what: str) -> None:
    """Wait for a non-blocking MPI request, at most `timeout()` seconds; past that, abort
    the job with a message naming the operation (a rank has most likely died)."""
    if request.Test():
        return
    deadline = time.monotonic() + timeout()
    pause = 1e-5
    while not request.Test():
        if time.monotonic() > deadline:
            rank, size = get_rank(), get_world_size()
            print(
                f"strided.distributed: rank {rank} of {size} waited {timeout():.0f} s for "
                f"{what}; another rank has stopped answering (did it die?). Aborting the "
                "job.",
                file=sys.stderr,
                flush=True,
            )
            _comm().Abort(1)
        time.sleep(pause)
        pause = min(pause * 2, 1e-3)


def allreduce_(array: np.ndarray, what: str = "allreduce", op: str = "sum") -> np.ndarray:
    """Reduce `array` over all ranks in place (`op`: 'sum' or 'max'); returns it."""
    comm = _comm()
    if comm.Get_size() == 1:
        return array
    MPI = _mpi()
    wait(comm.Iallreduce(MPI.IN_PLACE, array, op={"sum": MPI.SUM, "max": MPI.MAX}[op]), what)
    return array


def iallreduce_(array: np.ndarray) -> Any:
    """Start summing `array` over all ranks in place; returns the request to `wait` on."""
    MPI = _mpi()
    return _comm().Iallreduce(MPI.IN_PLACE, array, op=MPI.SUM)


def broadcast_(array: np.ndarray, root: int = 0, what: str = "broadcast") -> np.ndarray:
    """Overwrite `array` with rank `root`'s, in place; returns it."""
    comm = _comm()
    if comm.Get_size() > 1:
        wait(comm.Ibcast(array, root=root), what)
    return array


def gather_text(text: str, what: str = "gather") -> list[str] | None:
    """Every rank's `text` at rank 0 (in rank order), None elsewhere. Strings travel as
    UTF-8 bytes: nothing is unpickled."""
    comm = _comm()
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    sizes = np.zeros(comm.Get_size(), dtype=np.int64)
    sizes[comm.Get_rank()] = data.size
    allreduce_(sizes, what)
    if comm.Get_size() == 1:
        return [text]
    MPI = _mpi()
    if comm.Get_rank() == 0:
        buffer = np.empty(int(sizes.sum()), dtype=np.uint8)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        wait(comm.Igatherv(data, [buffer, sizes, offsets, MPI.BYTE], root=0), what)
        return [
            bytes(buffer[o : o + n]).decode("utf-8") for o, n in zip(offsets, sizes, strict=True)
        ]
    wait(comm.Igatherv(data, None, root=0), what)
    return None


def broadcast_text(text: str | None, root: int = 0, what: str = "broadcast") -> str:
    """Rank `root`'s `text` on every rank."""
    size = np.array(
        [len(text.encode("utf-8")) if get_rank() == root and text else 0], dtype=np.int64
    )
    broadcast_(size, root, what)
    data = np.zeros(int(size[0]), dtype=np.uint8)
    if get_rank() == root and text:
        data[:] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    broadcast_(data, root, what)
    return bytes(data).decode("utf-8")


def barrier(what: str = "barrier") -> None:
    """Wait until every rank gets here (bounded by `timeout()`).

    Parameters
    ----------
    what : str
        What is being waited for, named in the error if another rank stops answering.
    """
    comm = _comm()
    if comm.Get_size() > 1:
        wait(comm.Ibarrier(), what)
