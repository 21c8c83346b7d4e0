"""`MLPClassifier` and `MLPRegressor`: scikit-learn's multilayer perceptrons, as a drop-in.

Same constructor parameters, defaults, fitted attributes, verbose lines, warnings and
random streams as `sklearn.neural_network` (a given `random_state` draws the same initial
weights and the same batch order), trained on the lean path of `mlp_backprop` in float32
by default: pass ``dtype="float64"`` for scikit-learn's precision, or ``dtype=None`` to
compute in the input's own floating dtype as scikit-learn does.

The notes' example::

    clf = MLPClassifier(hidden_layer_sizes=(50,), max_iter=10, alpha=1e-4, solver="sgd",
                        verbose: Any = 10, random_state=1, learning_rate_init=.1)
    clf.fit(X_train / 255, y_train)   # Iteration 1, loss = 0.3...
    clf.score(X_test / 255, y_test)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from threadpoolctl import ThreadpoolController

from .mlp_backprop import forward, glorot_bound, loss_and_gradients
from .mlp_solvers import AdamSolver, SGDSolver
from .params import check_bool, check_number, check_options

__all__ = ["MLPClassifier", "MLPRegressor"]

_STOCHASTIC = ("sgd", "adam")


def _packed(arrays: list[np.ndarray]) -> np.ndarray:
    """One float64 vector holding every array, in order (what L-BFGS-B optimises)."""
    return np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])


def _unpack_into(vector: np.ndarray, arrays: list[np.ndarray]) -> None:
    start = 0
    for a in arrays:
        a[...] = vector[start : start + a.size].reshape(a.shape)
        start += a.size


_controller: list[ThreadpoolController] = []


def _blas_threads(limit: int | None) -> Any:
    """A context holding BLAS to `limit` threads (None: unchanged). The controller, which
    scans every loaded library (~0.1 s), is made once per process."""
    if not _controller:
        _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=limit, user_api="blas")


def _store_parameters(est: Any, arguments: dict) -> None:
    """Every constructor argument becomes the attribute of its name, unchanged (scikit-learn
    validates and converts them at fit time)."""
    for name, value in arguments.items():
        if name != "self":
            setattr(est, name, value)


def _can_partial_fit(est: Any) -> bool:
    if est.solver not in _STOCHASTIC:
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. "
            f"{est.solver} is not stochastic."
        )
    return True


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: validation, initialisation, the
    stochastic and L-BFGS solvers, and the forward pass of prediction."""

    _loss_options: tuple[str, ...] = ()

    def _check_params(self) -> list[int]:
        """Validate every hyper-parameter (at fit time, as scikit-learn does) and return
        the hidden layer sizes as a list."""
        name = type(self).__name__
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        for s in sizes:
            check_number(name, "hidden_layer_sizes", s, integer=True)
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        check_options(name, "activation", self.activation, ("identity", "logistic", "tanh", "relu"))
        check_options(name, "solver", self.solver, ("lbfgs", "sgd", "adam"))
        check_options(
            name, "learning_rate", self.learning_rate, ("constant", "invscaling", "adaptive")
        )
        check_options(name, "loss", self.loss, self._loss_options)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_number(name, "batch_size", self.batch_size, 1, integer=True)
        check_number(name, "alpha", self.alpha, 0)
        check_number(name, "learning_rate_init", self.learning_rate_init, 0, closed="neither")
        check_number(name, "power_t", self.power_t, 0)
        check_number(name, "max_iter", self.max_iter, 1, integer=True)
        check_number(name, "tol", self.tol, 0)
        check_number(name, "momentum", self.momentum, 0, 1, closed="both")
        check_number(name, "validation_fraction", self.validation_fraction, 0, 1)
        check_number(name, "beta_1", self.beta_1, 0, 1)
        check_number(name, "beta_2", self.beta_2, 0, 1)
        check_number(name, "epsilon", self.epsilon, 0, closed="neither")
        check_number(
            name, "n_iter_no_change", self.n_iter_no_change, 1, integer=True, allow_inf=True
        )
        check_number(name, "max_fun", self.max_fun, 1, integer=True)
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_number(name, "verbose", self.verbose, 0, integer=True)
        for flag in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            check_bool(name, flag, getattr(self, flag))
        if self.dtype is not None and np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ValueError(
                f"The 'dtype' parameter of {name} must be 'float32', 'float64' "
                f"or None. Got {self.dtype!r} instead."
            )
        return sizes

    def _compute_dtype(self, X: Any) -> np.dtype:
        return np.dtype(X.dtype if self.dtype is None else self.dtype)

    def _initialize(self, layer_units: list[int], dtype: np.dtype) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=False):
            bound = glorot_bound(fan_in, fan_out, self.activation)
            # drawn in float64 in this order, so a random_state gives scikit-learn's weights
            W = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            b = self._random_state.uniform(-bound, bound, fan_out)
            self.coefs_.append(W.astype(dtype))
            self.intercepts_.append(b.astype(dtype))
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        if self.solver in _STOCHASTIC:
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                # None where they do not apply, as in scikit-learn
                self.validation_scores_: Any = []
                self.best_validation_score_: Any = -np.inf
                self.best_loss_: Any = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _loss_name(self) -> str:
        if self.loss == "log_loss":
            return "log_loss" if self.out_activation_ == "softmax" else "binary_log_loss"
        return self.loss

    def _fit(self, X: Any, y: Any, incremental: bool = False) -> Any:
        sizes = self._check_params()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        dtype = self.coefs_[0].dtype if not first_pass else self._compute_dtype(X)
        X = X.astype(dtype, copy=False)
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(dtype)
        n_samples, n_features = X.shape
        self.n_outputs_ = Y.shape[1]
        layer_units = [n_features] + sizes + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, dtype)
        elif [W.shape[0] for W in self.coefs_] + [self.n_outputs_] != layer_units:
            raise ValueError(
                f"{type(self).__name__}: the fitted network has layer sizes "
                f"{[W.shape[0] for W in self.coefs_] + [self.coefs_[-1].shape[1]]}, but "
                f"this data and hidden_layer_sizes need {layer_units}; refit with "
                "warm_start=False"
            )
        coef_grads = [np.empty_like(W) for W in self.coefs_]
        intercept_grads = [np.empty_like(b) for b in self.intercepts_]
        # A mini-batch's products (200×784 by 784×50) are too small to share among BLAS
        # threads: the hand-offs cost more than they save, 10× more on a busy machine.
        with _blas_threads(1 if self.solver in _STOCHASTIC else None):
            if self.solver in _STOCHASTIC:
                self._fit_stochastic(X, Y, coef_grads, intercept_grads, incremental)
            else:
                self._fit_lbfgs(X, Y, coef_grads, intercept_grads)
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data "
                "may contain large values and need to be preprocessed."
            )
        return self

    def _loss_and_gradients(
        self, X: Any, Y: np.ndarray, coef_grads: list, intercept_grads: list
    ) -> float:
        return loss_and_gradients(
            X,
            Y,
            self.coefs_,
            self.intercepts_,
            self.activation,
            self.out_activation_,
            self._loss_name(),
            self.alpha,
            coef_grads,
            intercept_grads,
        )

    def _make_solver(self) -> SGDSolver | AdamSolver:
        params = self.coefs_ + self.intercepts_
        if self.solver == "sgd":
            return SGDSolver(
                params,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return AdamSolver(params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)

    def _fit_stochastic(
        self, X: Any, Y: np.ndarray, coef_grads: list, intercept_grads: list, incremental: bool
    ) -> None:
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_solver()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X_val = y_val = None
        if self.early_stopping:
            # stratified only for one output column (binary), as scikit-learn does
            stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
            X, X_val, Y, Y_val = train_test_split(
                X,
                Y,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase "
                    "'validation_fraction' or the size of your dataset."
                )
            y_val = self._targets_for_score(Y_val)
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. "
                    "It is going to be clipped",
                    stacklevel=2,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        params = self.coefs_ + self.intercepts_
        grads = coef_grads + intercept_grads
        sample_idx = np.arange(n_samples)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    order = np.arange(n_samples)  # the draw sklearn.utils.shuffle makes
                    self._random_state.shuffle(order)
                    sample_idx = sample_idx[order]
                total = 0.0
                for start in range(0, n_samples, batch_size):
                    if self.shuffle:
                        idx = sample_idx[start : start + batch_size]
                        Xb, Yb = X[idx], Y[idx]
                    else:
                        Xb, Yb = X[start : start + batch_size], Y[start : start + batch_size]
                    batch_loss = self._loss_and_gradients(Xb, Yb, coef_grads, intercept_grads)
                    total += batch_loss * Xb.shape[0]
                    self._optimizer.update_params(params, grads)
                self.n_iter_ += 1
                self.loss_ = total / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(X_val, y_val)
                self._optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if self._optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=2,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=2)
        if self.early_stopping:
            self.coefs_, self.intercepts_ = self._best_coefs, self._best_intercepts

    def _update_no_improvement_count(self, X_val: Any, y_val: Any) -> None:
        if self.early_stopping:
            score = self._score(X_val, y_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            last = self.loss_curve_[-1]
            if last > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self.best_loss_:
                self.best_loss_ = last

    def _fit_lbfgs(self, X: Any, Y: np.ndarray, coef_grads: list, intercept_grads: list) -> None:
        try:
            from scipy.optimize import minimize
        except ImportError:  # pragma: no cover - scikit-learn itself requires SciPy
            raise ImportError(
                f"{type(self).__name__}(solver='lbfgs') needs SciPy's L-BFGS-B: "
                "pip install scipy (or use solver='sgd' or 'adam')"
            ) from None
        params = self.coefs_ + self.intercepts_
        grads = coef_grads + intercept_grads
        latest = [np.nan]

        def loss_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
            _unpack_into(w, params)
            latest[0] = self._loss_and_gradients(X, Y, coef_grads, intercept_grads)
            return latest[0], _packed(grads)

        iteration = [0]

        def report(_: Any) -> None:
            iteration[0] += 1
            print(f"Iteration {iteration[0]}, loss = {latest[0]:.8f}")

        result = minimize(
            loss_and_gradient,
            _packed(params),
            method="L-BFGS-B",
            jac=True,
            callback=report if self.verbose else None,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        if result.status != 0:
            message = result.message
            message = message.decode() if isinstance(message, bytes) else message
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) "
                f"(status={result.status}):\n{message}\n\nIncrease the number of "
                "iterations to improve the convergence (max_iter="
                f"{self.max_iter}).",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        _unpack_into(result.x, params)

    def _forward_output(self, X: Any, check_input: bool = True) -> np.ndarray:
        """The network's output for X, computed in X's floating dtype when that is wider
        than the weights' (float64 data gets float64 predictions, as in scikit-learn)."""
        if check_input:
            X = validate_data(
                self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
            )
        dt = np.result_type(X.dtype, self.coefs_[0].dtype)
        coefs = [W.astype(dt, copy=False) for W in self.coefs_]
        intercepts = [b.astype(dt, copy=False) for b in self.intercepts_]
        return forward(
            X.astype(dt, copy=False), coefs, intercepts, self.activation, self.out_activation_
        )[-1]

    def _score(self, X: Any, y: Any) -> float:
        """The validation score of early stopping (accuracy or R²), without input checks."""
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted classes (an indicator row per sample for multi-label targets) or
        regression targets.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        return self._predict(X)

    def fit(self, X: Any, y: Any) -> Any:
        """Fit the network to data X (n_samples, n_features) and targets y.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real numbers (regression).

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_DOC_PARAMS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        The number of neurons of each hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        The hidden layers' activation.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'lbfgs' runs SciPy's L-BFGS-B on the whole data set; 'sgd' and 'adam' go through
        it in mini-batches.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases).
    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' is min(200, n_samples).
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The SGD schedule: η₀; η₀ / (t + 1)^power_t (t samples seen); or η divided by 5
        each time the loss stops improving for n_iter_no_change epochs.
    learning_rate_init : float, default=1e-3
        The initial step size (sgd, adam).
    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.
    max_iter : int, default=200
        Epochs of the stochastic solvers; iterations of L-BFGS-B.
    shuffle : bool, default=True
        Shuffle the samples every epoch (stochastic solvers).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling and the early-stopping split; a given
        seed draws the same numbers as scikit-learn's estimator.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement (or L-BFGS-B's gtol).
    verbose : bool or int, default=False
        Print "Iteration N, loss = ..." after every epoch.
    warm_start : bool, default=False
        Continue from the fitted weights when fit is called again.
    momentum : float, default=0.9
        SGD momentum, in [0, 1].
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for SGD.
    early_stopping : bool, default=False
        Hold out validation_fraction of the data and stop when its score stops improving
        for n_iter_no_change epochs; the best weights are kept.
    validation_fraction : float, default=0.1
        The held-out share for early stopping, in [0, 1).
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's numerical stability term.
    n_iter_no_change : int, default=10
        Epochs without tol improvement before stopping (or lowering an adaptive rate).
    max_fun : int, default=15000
        Largest number of loss evaluations of L-BFGS-B.
    dtype : {'float32', 'float64'} or None, default='float32'
        The precision of training (strided's addition). None computes in the input's
        floating dtype, as scikit-learn does.
"""

_DOC_ATTRIBUTES = """
    Attributes
    ----------
    coefs_, intercepts_ : list of ndarray
        The weight matrix (fan_in, fan_out) and bias vector of each layer.
    loss_ : float
        The loss at the end of training.
    loss_curve_ : list of float
        The loss after each epoch (stochastic solvers).
    best_loss_ : float or None
        The lowest loss seen (None with early stopping).
    validation_scores_, best_validation_score_ : list of float, float or None
        The held-out scores with early stopping (None without).
    n_iter_ : int
        Epochs (or L-BFGS-B iterations) run.
    t_ : int
        Training samples seen by the stochastic solvers.
    n_features_in_, feature_names_in_ : int, ndarray of str
        The input width, and the column names when X had string column names.
    n_layers_, n_outputs_ : int
        Layers including input and output; output units.
    out_activation_ : str
        The output layer's activation.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier trained on the log loss (softmax outputs for
    several classes, logistic for two classes or multi-label targets); a drop-in for
    `sklearn.neural_network.MLPClassifier`. Parameters and attributes below."""

    _loss_options = ("log_loss",)

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: Any = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: Any = 10,
        max_fun: int = 15000,
        dtype: Any = "float32",
    ):
        _store_parameters(self, locals())

    loss = "log_loss"  # the only loss; a class attribute, as it is no parameter

    def _out_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> Any:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` "
                    f"has {self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    def _targets_for_score(self, Y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(Y)

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        y_pred = self._forward_output(X, check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    _score_function = staticmethod(accuracy_score)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of `classes_`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        p = self._forward_output(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of `predict_proba(X)`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)

    @available_if(_can_partial_fit)
    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> Any:
        """One epoch over (X, y), continuing from the current weights.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        classes : array-like, default=None
            Every class that y may contain; required on the first call (not for
            multi-label indicator targets).

        Returns
        -------
        self
        """
        first = getattr(self, "classes_", None) is None
        if classes is None and first:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if (
            classes is not None
            and not first
            and not np.array_equal(self.classes_, unique_labels(classes))
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to "
                f"partial_fit, was: {self.classes_!r}"
            )
        if first:
            self._label_binarizer = LabelBinarizer()
            multilabel = type_of_target(y).startswith("multilabel")
            self._label_binarizer.fit(y if multilabel else unique_labels(classes))
            self.classes_ = self._label_binarizer.classes_
        return self._fit(X, y, incremental=True)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor trained on the squared error (or the Poisson
    deviance with an exponential output); a drop-in for
    `sklearn.neural_network.MLPRegressor`. Parameters and attributes below."""

    _loss_options = ("squared_error", "poisson")

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: Any = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: Any = 10,
        max_fun: int = 15000,
        dtype: Any = "float32",
    ):
        _store_parameters(self, locals())

    def _out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> Any:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                f"MLPRegressor(loss='poisson'): y must be non-negative (smallest value {y.min()})"
            )
        return X, y

    def _targets_for_score(self, Y: np.ndarray) -> np.ndarray:
        return Y

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        y_pred = self._forward_output(X, check_input)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    _score_function = staticmethod(r2_score)

    @available_if(_can_partial_fit)
    def partial_fit(self, X: Any, y: Any) -> Any:
        """One epoch over (X, y), continuing from the current weights.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=True)


MLPClassifier.__doc__ = (
    f"{MLPClassifier.__doc__}\n{_DOC_PARAMS}{_DOC_ATTRIBUTES}"
    "    classes_ : ndarray or list of ndarray\n        The class labels.\n"
)
MLPRegressor.__doc__ = (
    f"{MLPRegressor.__doc__}\n"
    "    loss : {'squared_error', 'poisson'}, default='squared_error'\n"
    "        Half the squared error with an identity output, or half the Poisson deviance\n"
    "        with an exp output (for counts; y >= 0).\n"
    f"{_DOC_PARAMS}{_DOC_ATTRIBUTES}"
)
