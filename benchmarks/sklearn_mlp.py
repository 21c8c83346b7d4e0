"""The notes' MLPClassifier on Fashion-MNIST: scikit-learn's against strided's, side by side.

    nice -n 19 python benchmarks/sklearn_mlp.py [--rounds 2] [--gridsearch-samples 3000]

Configuration of the notes: hidden_layer_sizes=(50,), max_iter=10, alpha=1e-4,
solver='sgd', verbose=10, random_state=1, learning_rate_init=.1; X/255, the data set's own
60,000/10,000 train/test split. Each round fits scikit-learn's estimator and ours one after
the other in this process (so both see the same machine load); the table reports the
fastest round of each, the fit-time ratio sklearn/ours (> 1: we are faster) and both test
accuracies. The goals of issue 13: accuracy within 0.5 points, ratio ≥ 2.

Then `NeuralNetClassifier` around LeNet-5 in a 3-fold GridSearchCV over two learning rates,
end to end, on the first --gridsearch-samples training images (a subset, to keep it short),
scored on the full test set. Speed and accuracy only; correctness lives in tests/.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from strided.data import FashionMNIST  # noqa: E402
from strided.models import lenet5  # noqa: E402
from strided.sklearn import MLPClassifier, NeuralNetClassifier  # noqa: E402

NOTES = dict(
    hidden_layer_sizes=(50,),
    max_iter=10,
    alpha=1e-4,
    solver="sgd",
    verbose=10,
    random_state=1,
    learning_rate_init=0.1,
)


def load() -> tuple[np.ndarray, ...]:
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    X_train = train.images.reshape(len(train), -1) / 255
    X_test = test.images.reshape(len(test), -1) / 255
    return X_train, train.targets, X_test, test.targets


def timed_fit(est, X, y) -> tuple[float, str]:
    """Seconds to fit, and what the fit printed (the verbose loss lines)."""
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - t0, out.getvalue()


def one_blas_thread(est):
    """scikit-learn's estimator with its BLAS held to one thread, as ours runs its batches."""

    class OneThread:
        def fit(self, X, y):
            with threadpool_limits(1, user_api="blas"):
                return est.fit(X, y)

    return OneThread()


CONTESTANTS = {
    "scikit-learn": lambda: SklearnMLP(**NOTES),
    "scikit-learn, BLAS on 1 thread": lambda: SklearnMLP(**NOTES),
    "strided": lambda: MLPClassifier(**NOTES),
}


def mlp_table(rounds: int) -> None:
    X_train, y_train, X_test, y_test = load()
    best = dict.fromkeys(CONTESTANTS, np.inf)
    fitted = {}
    for r in range(rounds):
        for name, make in CONTESTANTS.items():
            est = make()
            runner = one_blas_thread(est) if "1 thread" in name else est
            seconds, printed = timed_fit(runner, X_train, y_train)
            best[name] = min(best[name], seconds)
            fitted[name] = (est, printed)
            print(f"round {r + 1} {name:30s} fit {seconds:6.2f} s", flush=True)
    print()
    for name in ("scikit-learn", "strided"):
        print(f"{name} verbose output:\n{fitted[name][1]}")
    print(
        f"{'':30s} {'fit (s)':>8s} {'ratio':>6s} {'train acc':>10s} {'test acc':>9s} "
        f"{'final loss':>11s}"
    )
    for name, (est, _) in fitted.items():
        print(
            f"{name:30s} {best[name]:8.2f} {best[name] / best['strided']:5.2f}× "
            f"{100 * est.score(X_train, y_train):9.2f}% "
            f"{100 * est.score(X_test, y_test):8.2f}% {est.loss_:11.6f}"
        )
    sk, ours = fitted["scikit-learn"][0], fitted["strided"][0]
    print(
        f"ratio = fit time / strided's (goal: scikit-learn ≥ 2×); test accuracy difference "
        f"strided − scikit-learn: "
        f"{100 * (ours.score(X_test, y_test) - sk.score(X_test, y_test)):+.2f} points "
        "(goal within ±0.5)"
    )


def lenet_gridsearch(n: int) -> None:
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    X = train.images[:n].astype(np.float32) / 255
    y = train.targets[:n]
    net = NeuralNetClassifier(
        lenet5, optimizer="sgd", optimizer__momentum=0.9, batch_size=64, epochs=3, random_state=0
    )
    search = GridSearchCV(net, {"lr": [0.01, 0.05]}, cv=3)
    t0 = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - t0
    print(
        f"\nGridSearchCV(NeuralNetClassifier(lenet5), lr ∈ {{0.01, 0.05}}, cv=3) on the "
        f"first {n} training images, 3 epochs each: {seconds:.1f} s end to end "
        "(6 fits + the refit)"
    )
    for lr, mean, std in zip(
        search.cv_results_["param_lr"],
        search.cv_results_["mean_test_score"],
        search.cv_results_["std_test_score"],
        strict=False,
    ):
        print(f"  lr={lr}: cross-validated accuracy {100 * mean:.2f}% ± {100 * std:.2f}")
    X_test = test.images.astype(np.float32) / 255
    print(
        f"  best {search.best_params_}: test accuracy (10,000 images) "
        f"{100 * search.score(X_test, test.targets):.2f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gridsearch-samples", type=int, default=3000)
    args = parser.parse_args()
    mlp_table(args.rounds)
    if args.gridsearch_samples:
        lenet_gridsearch(args.gridsearch_samples)


if __name__ == "__main__":
    main()
