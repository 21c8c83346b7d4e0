"""scikit-learn's own estimator checks, run on every strided estimator.

Of the checks `parametrize_with_checks` yields, two kinds are skipped in this process:
`check_array_api_input` (it needs SCIPY_ARRAY_API=1 set before SciPy is first imported, so
`test_array_api_dispatch_with_numpy_inputs` runs it in a fresh interpreter instead) and,
for the classifiers, the decision_function checks (no estimator here has one, as
scikit-learn's MLPClassifier has none).
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from strided.nn import Linear, ReLU, Sequential  # noqa: E402
from strided.sklearn import (
    MLPClassifier,
    MLPRegressor,
    NeuralNetClassifier,  # noqa: E402
    NeuralNetRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def small_mlp(in_features: int, out_features: int, width: int = 16) -> Sequential:
    """A builder whose sizes the wrapper fills in from the data."""
    return Sequential(Linear(in_features, width), ReLU(), Linear(width, out_features))


ESTIMATORS = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier(solver="sgd", max_iter=100),
    MLPClassifier(solver="lbfgs", max_iter=100),
    NeuralNetClassifier(small_mlp, lr=0.1, epochs=20, batch_size=32),
    NeuralNetRegressor(
        small_mlp, module__width=32, optimizer="adam", lr=0.01, epochs=40, batch_size=32
    ),
]


@pytest.fixture(autouse=True)
def one_blas_thread():
    # correctness only: the checks' tiny full-batch L-BFGS products gain nothing from BLAS
    # threads and lose much on a busy machine
    with threadpool_limits(1, user_api="blas"):
        yield


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_array_api_dispatch_with_numpy_inputs():
    code = textwrap.dedent("""
        import sys, warnings
        warnings.simplefilter("ignore")
        sys.path.insert(0, sys.argv[1])
        from sklearn.utils.estimator_checks import check_array_api_input
        from test_sklearn_estimator_checks import ESTIMATORS
        for est in ESTIMATORS:
            check_array_api_input(type(est).__name__, est, array_namespace="numpy",
                                  expect_only_array_outputs=False)
            print("passed", type(est).__name__)
    """)
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    out = subprocess.run(
        [sys.executable, "-c", code, os.path.dirname(__file__)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("passed") == len(ESTIMATORS)
