"""Run under mpirun by the distributed tests (and alone for the one-process reference).

    python mpi_worker.py MODE OUT [EPOCHS] [RESUME]

MODE: 'plain' (a small conv net), 'bn' (with BatchNorm → SyncBatchNorm), 'mismatch' (rank 1
builds a wider model), 'die' (rank 1 is killed during the second step), 'die-after-epoch'
(the whole job is killed after the epoch-2 checkpoint). Rank 0 writes the final parameters
and history to OUT (.npz + .json). $STRIDED_TEST_CHECKPOINT adds a Checkpoint callback,
$STRIDED_TEST_TENSORBOARD a TensorBoard one.
"""

import json
import os
import signal
import sys

import numpy as np

import strided as st
import strided.distributed as dist
import strided.nn as nn
from strided.data import DataLoader
from strided.train.callbacks import Callback

GLOBAL_BATCH, SAMPLES, SEED = 16, 96, 7


def build(mode: str, width: int = 8) -> nn.Module:
    st.manual_seed(SEED)
    layers = [nn.Conv2d(1, width, 3, padding=1)]
    if mode == "bn":
        layers.append(nn.BatchNorm2d(width))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(width * 4 * 4, 5)]
    return nn.Sequential(*layers)


def data() -> tuple:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((SAMPLES, 1, 8, 8)).astype(np.float32)
    y = (x.reshape(SAMPLES, -1)[:, :5].argmax(1)).astype(np.int64)
    return x, y


class Killer(Callback):
    order = 200  # after the Checkpoint callback has written the epoch

    def __init__(self, mode: str):
        self.mode = mode

    def on_batch_end(self, trainer, logs):
        if self.mode == "die" and dist.get_rank() == 1 and trainer.global_step == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_epoch_end(self, trainer, record):
        if self.mode == "die-after-epoch" and record["epoch"] == 2:
            dist.barrier()
            if dist.get_rank() == 0:
                os.kill(os.getppid(), signal.SIGKILL)  # mpirun itself: the whole job
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    mode, out = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    resume = sys.argv[4] if len(sys.argv) > 4 else None
    single = os.environ.get("STRIDED_TEST_SINGLE") == "1"
    x, y = data()
    if single:  # the reference: one process, the global batch
        model = build(mode)
        loader = DataLoader((x, y), batch_size=GLOBAL_BATCH, shuffle=True, seed=SEED)
        trainer_cls = st.train.Trainer
    else:
        dist.init()
        width = 12 if (mode == "mismatch" and dist.get_rank() == 1) else 8
        model = build(mode, width)
        if mode == "bn":
            model = dist.SyncBatchNorm.convert_sync_batchnorm(model)
        model = dist.DistributedDataParallel(model, bucket_mb=0.001)  # several buckets
        sampler = dist.DistributedSampler(len(x), seed=SEED)
        loader = DataLoader(
            (x, y), batch_size=GLOBAL_BATCH // dist.get_world_size(), sampler=sampler
        )
        trainer_cls = dist.DistributedTrainer
    optimizer = st.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    callbacks = [Killer(mode)]
    checkpoint = os.environ.get("STRIDED_TEST_CHECKPOINT")
    if checkpoint:
        from strided.train.callbacks import Checkpoint

        callbacks.append(Checkpoint(checkpoint))
    tensorboard = os.environ.get("STRIDED_TEST_TENSORBOARD")
    if tensorboard:
        from strided.train import TensorBoard

        callbacks.append(TensorBoard(tensorboard, update_freq=1, histogram_freq=2))
    trainer = trainer_cls(model, optimizer, callbacks=callbacks, progress=False, verbose=False)
    history = trainer.fit(loader, epochs=epochs, resume=resume)
    if dist.get_rank() == 0:
        state = (model.module if hasattr(model, "module") else model).state_dict()
        np.savez(
            out + ".npz",
            **{k: v.numpy() if hasattr(v, "numpy") else np.asarray(v) for k, v in state.items()},
        )
        with open(out + ".json", "w") as f:
            json.dump(history.records if hasattr(history, "records") else list(history), f)


if __name__ == "__main__":
    main()
