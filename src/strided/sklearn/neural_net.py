"""`NeuralNetClassifier` / `NeuralNetRegressor`: any strided Module as a scikit-learn
estimator, the role skorch plays for PyTorch.

The `module` is a Module instance (copied at each fit, so refits start from the same
weights) or a callable that builds one — a Module class or a function — called with the
``module__*`` hyper-parameters, plus the sizes the data decides when its signature asks
for them and they were not given: ``in_features`` / ``n_features`` / ``input_dim`` (the
columns of a table), ``in_channels`` (the C of (N, C, H, W) images), and ``num_classes`` /
``n_classes`` / ``out_features`` / ``n_outputs`` / ``output_dim`` (classes, or regression
targets). So ``NeuralNetClassifier(strided.models.lenet5)`` fits Fashion-MNIST images and
``GridSearchCV(net, {"module__width": [16, 64], "lr": [0.01, 0.1]})`` tunes both.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .. import optim
from ..autograd import Tensor, host_array, no_grad
from ..backend import default_generator
from ..device import device as strided_device
from ..functional.loss import cross_entropy, mse_loss
from ..nn.module import Module
from ..optim import list_optimizers
from .params import check_bool, check_number

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

ROUTES = ("module__", "optimizer__", "criterion__")
FEATURE_ARGS = ("in_features", "n_features", "input_dim", "in_dim", "n_inputs")
OUTPUT_ARGS = ("num_classes", "n_classes", "out_features", "n_outputs", "output_dim", "out_dim")


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """strided's default generator seeded for the block (initial weights, dropout masks),
    and the caller's stream restored afterwards."""
    gen = default_generator()
    state, old_seed = gen.get_state(), gen.seed
    gen.manual_seed(seed)
    try:
        yield
    finally:
        gen.seed = old_seed
        gen.set_state(state)


def _arguments(fn: Callable) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to fill in
        return set()


class _NeuralNet(BaseEstimator):
    """What the classifier and the regressor share: routed hyper-parameters, building the
    module, the training loop and batched inference."""

    def __init__(
        self,
        module: Module | Callable[..., Module],
        *,
        criterion: Callable | None = None,
        optimizer: str | type = "sgd",
        lr: float = 0.01,
        batch_size: int = 128,
        epochs: int = 10,
        shuffle: bool = True,
        random_state: Any = None,
        verbose: int = 0,
        dtype: Any = "float32",
        device: Any = "cpu",
        **kwargs: Any,
    ) -> None:
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.device = device
        # checked at fit, as every parameter is: __init__ and set_params never fail
        self._routed = dict(kwargs)

    def get_params(self, deep: bool = True) -> dict:
        """The estimator's parameters, the routed ``module__*`` / ``optimizer__*`` /
        ``criterion__*`` ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
        """
        return {**super().get_params(deep=deep), **self._routed}

    def set_params(self, **params: Any) -> Any:
        """Set parameters, the routed ``module__*`` / ``optimizer__*`` / ``criterion__*``
        ones included (used at the next fit).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self
        """
        routed = {k: v for k, v in params.items() if k.startswith(ROUTES)}
        self._routed.update(routed)
        rest = {k: v for k, v in params.items() if k not in routed}
        return super().set_params(**rest) if rest else self

    def _prefixed(self, prefix: str) -> dict:
        return {k[len(prefix) :]: v for k, v in self._routed.items() if k.startswith(prefix)}

    def _check_params(self) -> None:
        name = type(self).__name__
        try:
            strided_device(self.device)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}: device: {error}") from None
        for key in self._routed:
            if not key.startswith(ROUTES) or key in ROUTES:
                raise TypeError(
                    f"{name} got an unexpected keyword argument {key!r}; the module's, "
                    "optimizer's and criterion's own hyper-parameters are passed as "
                    "module__name, optimizer__name and criterion__name"
                )
        check_number(name, "lr", self.lr, 0, closed="neither")
        check_number(name, "batch_size", self.batch_size, 1, integer=True)
        check_number(name, "epochs", self.epochs, 1, integer=True)
        check_bool(name, "shuffle", self.shuffle)
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_number(name, "verbose", self.verbose, 0, integer=True)
        if self.dtype is None or np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ValueError(
                f"The 'dtype' parameter of {name} must be 'float32' or "
                f"'float64'. Got {self.dtype!r} instead."
            )
        if isinstance(self.optimizer, str) and self.optimizer.lower() not in list_optimizers():
            raise ValueError(
                f"The 'optimizer' parameter of {name} must be one of "
                f"{list_optimizers()} or an optimizer class. "
                f"Got {self.optimizer!r} instead."
            )
        if not isinstance(self.module, Module) and not callable(self.module):
            raise TypeError(
                f"{name}: module must be a strided Module or a callable that "
                f"builds one, got {type(self.module).__name__}"
            )

    # -- building ------------------------------------------------------------------------
    def _build_module(self, X: np.ndarray, n_outputs: int) -> Module:
        name = type(self).__name__
        if isinstance(self.module, Module):
            if self._prefixed("module__"):
                raise ValueError(
                    f"{name}: module__* parameters need a callable module (a "
                    "class or builder function), not a built Module instance"
                )
            module = copy.deepcopy(self.module)
        else:
            kwargs = self._prefixed("module__")
            wanted = _arguments(self.module)
            derived = {
                **dict.fromkeys(OUTPUT_ARGS, n_outputs),
                **(
                    dict.fromkeys(FEATURE_ARGS, X.shape[1])
                    if X.ndim == 2
                    else {"in_channels": X.shape[1]}
                ),
            }
            for arg, value in derived.items():
                if arg in wanted and arg not in kwargs:
                    kwargs[arg] = value
            module = self.module(**kwargs)
            if not isinstance(module, Module):
                raise TypeError(
                    f"{name}: the module builder {self.module!r} returned "
                    f"{type(module).__name__}, not a strided Module"
                )
        return module.to(strided_device(self.device), np.dtype(self.dtype))

    def _build_optimizer(self, module: Module) -> optim.Optimizer:
        kwargs = {"lr": self.lr, **self._prefixed("optimizer__")}
        if isinstance(self.optimizer, str):
            return optim.create(self.optimizer, module.parameters(), **kwargs)
        return self.optimizer(module.parameters(), **kwargs)

    def _build_criterion(self) -> Callable:
        kwargs = self._prefixed("criterion__")
        if isinstance(self.criterion, type):  # a loss Module class, e.g. nn.CrossEntropyLoss
            return self.criterion(**kwargs)
        # a partial, not a closure: a fitted estimator must pickle
        return functools.partial(self.criterion or self._default_criterion, **kwargs)

    # -- training and inference ----------------------------------------------------------
    def _validate_X(self, X: Any, y: Any = None, reset: bool = False) -> Any:
        kwargs = dict(allow_nd=True, dtype=(np.float32, np.float64), reset=reset)
        if y is None and reset:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        if y is None:
            return validate_data(self, X, **kwargs).astype(np.dtype(self.dtype), copy=False)
        # regression targets may have several columns, and must be numbers
        X, y = validate_data(
            self, X, y, multi_output=self._regression, y_numeric=self._regression, **kwargs
        )
        return X.astype(np.dtype(self.dtype), copy=False), y

    def _train(self, X: np.ndarray, targets: np.ndarray, n_outputs: int) -> None:
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with _seeded(seed):
            self.module_ = self._build_module(X, n_outputs)
            self.optimizer_ = self._build_optimizer(self.module_)
            self.criterion_ = self._build_criterion()
            self.module_.train()
            self.loss_curve_ = []
            n = X.shape[0]
            where = self.module_.device
            for epoch in range(self.epochs):
                order = rng.permutation(n) if self.shuffle else np.arange(n)
                total: Any = 0.0  # summed where the loss lives: one read per epoch
                for start in range(0, n, self.batch_size):
                    idx = order[start : start + self.batch_size]
                    out = self.module_(Tensor(X[idx], device=where))
                    self._check_output(out, len(idx), n_outputs)
                    loss = self.criterion_(out, Tensor(targets[idx], device=where))
                    self.optimizer_.zero_grad()
                    loss.backward()
                    self.optimizer_.step()
                    total = total + loss.data.astype(np.float64) * len(idx)
                self.loss_curve_.append(float(total) / n)
                if self.verbose:
                    print(f"Epoch {epoch + 1}, loss = {self.loss_curve_[-1]:.8f}")
        self.module_.eval()
        self.n_iter_ = self.epochs
        self.loss_ = self.loss_curve_[-1]
        if not np.isfinite(self.loss_):
            raise ValueError(
                f"{type(self).__name__}: the training loss became {self.loss_} "
                f"(lr={self.lr} may be too large, or the inputs need scaling)"
            )

    def _check_output(self, out: Tensor, n: int, n_outputs: int) -> None:
        if tuple(out.shape) != (n, n_outputs):
            raise ValueError(
                f"{type(self).__name__}: the module returned shape {tuple(out.shape)} for a "
                f"batch of {n}; expected ({n}, {n_outputs}) "
                f"({self._outputs_are}); does the module take its output width from "
                f"one of {list(OUTPUT_ARGS)}?"
            )

    def _outputs(self, X: Any) -> np.ndarray:
        """The module's raw output for X, in batches, without gradients."""
        check_is_fitted(self)
        X = self._validate_X(X)
        self.module_.eval()
        with no_grad():
            where = self.module_.device
            parts = [
                host_array(self.module_(Tensor(X[i : i + self.batch_size], device=where)))
                for i in range(0, X.shape[0], self.batch_size)
            ]
        return np.concatenate(parts).astype(np.float64, copy=False)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = False
        return tags


_DOC = """
    Parameters
    ----------
    module : Module, or callable returning one
        The network: an instance (deep-copied at each fit), or a class / function called
        with the ``module__*`` parameters and the data-derived sizes its signature names
        (see the module docstring of strided.sklearn.neural_net).
    criterion : callable or loss Module class, default=None
        ``criterion(output, target) -> scalar Tensor``; {default}.
    optimizer : str (a name optim.create knows) or Optimizer class, default='sgd'
        Built as ``optimizer(module.parameters(), lr=lr, **optimizer__*)``.
    lr : float, default=0.01
        Learning rate.
    batch_size : int, default=128
        Mini-batch size of training and of prediction.
    epochs : int, default=10
        Passes over the training data.
    shuffle : bool, default=True
        Reshuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, dropout and the batch order; a given seed gives the
        same fitted network.
    verbose : int, default=0
        Print "Epoch N, loss = ..." after every epoch.
    dtype : {{'float32', 'float64'}}, default='float32'
        The precision of the network and of the data fed to it.
    device : str, default='cpu'
        Where the network trains and predicts: 'cpu', 'cuda' or 'cuda:N' (as skorch's
        ``device``); inputs and outputs stay NumPy arrays.
    **kwargs
        ``module__name``, ``optimizer__name``, ``criterion__name``: passed on to the
        module builder, the optimizer and the criterion.

    Attributes
    ----------
    module_ : Module
        The trained network (in eval mode).
    optimizer_, criterion_ : the optimizer and the loss used
    loss_curve_ : list of float
        Mean training loss of each epoch; ``loss_`` is the last.
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Columns of a table, or channels of images.
"""


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A strided network as a scikit-learn classifier, trained on the cross-entropy of
    its logits (one output per class). Parameters and attributes below."""

    _regression = False
    _outputs_are = "one logit per class"
    _default_criterion = staticmethod(cross_entropy)

    def fit(self, X: Any, y: Any) -> Any:
        """Train the network on X, (n_samples, n_features) or images (n_samples, C, H, W),
        and class labels y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        self._check_params()
        X, y = self._validate_X(X, y, reset=True)
        check_classification_targets(y)
        y = column_or_1d(y, warn=True)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__}: y has 1 class ({self.classes_[0]!r}); "
                "a classifier needs at least 2 classes"
            )
        self._train(X, encoder.transform(y).astype(np.int64), len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the softmax of the logits, columns in `classes_` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        z = self._outputs(X)
        z -= z.max(axis=1, keepdims=True)  # softmax(z) = softmax(z − max z): no overflow
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._outputs(X), axis=1)]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A strided network as a scikit-learn regressor (one output per target). Parameters
    and attributes below."""

    _regression = True
    _outputs_are = "one output per target"
    _default_criterion = staticmethod(mse_loss)

    def fit(self, X: Any, y: Any) -> Any:
        """Train the network on X, (n_samples, n_features) or images (n_samples, C, H, W),
        and real targets y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        self._check_params()
        X, y = self._validate_X(X, y, reset=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        self._y_ndim = y.ndim
        targets = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(np.dtype(self.dtype))
        self._train(X, targets, targets.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        out = self._outputs(X)
        return out.ravel() if self._y_ndim == 1 else out


NeuralNetClassifier.__doc__ = (
    f"{NeuralNetClassifier.__doc__}\n"
    + _DOC.format(default="None is the cross-entropy of the logits against the class indices")
    + "    classes_ : ndarray\n        The class labels, in the order of the output units.\n"
)
NeuralNetRegressor.__doc__ = f"{NeuralNetRegressor.__doc__}\n" + _DOC.format(
    default="None is the mean squared error"
)
