"""Inference speed: a strided model against the same model exported to ONNX and run by
ONNX Runtime, on the same inputs and the same number of threads, side by side.

    python benchmarks/onnx_inference.py [--threads 2] [--reps 20]

Prints images per second for each (model, batch) and the ratio strided / ONNX Runtime.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def _best_rate(run, batch: int, reps: int) -> float:
    run()  # warm up: compile, allocate
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    return batch / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

    import onnxruntime as ort

    import strided as st
    import strided.onnx as so
    from strided.models.registry import get_model, input_shape_of

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, batches in (("lenet5", (1, 128)), ("resnet20", (1, 128))):
            model = get_model(name).eval()
            shape = tuple(input_shape_of(name))
            path = os.path.join(folder, f"{name}.onnx")
            so.export(model, np.zeros((2,) + shape, np.float32), path)
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            for batch in batches:
                x = np.random.default_rng(0).random((batch,) + shape, dtype=np.float32)
                xt = st.tensor(x)

                def ours() -> None:
                    with st.no_grad():
                        model(xt)

                def theirs() -> None:
                    session.run(None, {"input": x})

                a = _best_rate(ours, batch, args.reps)
                b = _best_rate(theirs, batch, args.reps)
                a = max(a, _best_rate(ours, batch, args.reps))  # alternate, keep the best
                rows.append((name, batch, a, b))
    print(
        f"ONNX Runtime {ort.__version__}, {args.threads} thread(s); images/s, best of "
        f"{args.reps} runs each"
    )
    print(f"{'model':10s} {'batch':>5s} {'strided':>10s} {'ORT':>10s} {'strided/ORT':>12s}")
    for name, batch, a, b in rows:
        print(f"{name:10s} {batch:5d} {a:10.1f} {b:10.1f} {a / b:12.2f}")


if __name__ == "__main__":
    main()
