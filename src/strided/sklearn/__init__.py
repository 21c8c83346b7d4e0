"""scikit-learn estimators: `MLPClassifier`/`MLPRegressor` (drop-ins for scikit-learn's)
and `NeuralNetClassifier`/`NeuralNetRegressor` (any strided Module as an estimator).

Needs the optional extra: ``pip install 'strided[sklearn]'``.
"""

try:
    import sklearn as _sklearn  # noqa: F401
except ImportError:  # one line saying what to install, instead of a traceback from below
    raise ImportError(
        "strided.sklearn needs scikit-learn: pip install 'strided[sklearn]'"
    ) from None

from .mlp import MLPClassifier, MLPRegressor
from .neural_net import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]
