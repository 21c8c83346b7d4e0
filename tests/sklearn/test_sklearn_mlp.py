"""MLPClassifier / MLPRegressor against scikit-learn's own: same numbers, same behaviour."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    make_classification,
    make_multilabel_classification,
    make_regression,  # noqa: E402
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

from sklearn import neural_network as skl  # noqa: E402
from strided.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def three_classes():
    return make_classification(300, 12, n_classes=3, n_informative=6, random_state=0)


def fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


# float64 runs draw the same initial weights and batches as scikit-learn: same numbers
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
def test_classifier_matches_sklearn_in_float64(three_classes, solver, activation):
    X, y = three_classes
    kw = dict(
        hidden_layer_sizes=(10, 7),
        activation=activation,
        solver=solver,
        max_iter=15,
        random_state=3,
    )
    ours = fit_quietly(MLPClassifier(dtype="float64", **kw), X, y)
    ref = fit_quietly(skl.MLPClassifier(**kw), X, y)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-9)
    if solver != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize(
    "kw",
    [
        dict(solver="sgd", learning_rate="invscaling", nesterovs_momentum=False),
        dict(
            solver="sgd",
            learning_rate="adaptive",
            momentum=0.0,
            max_iter=40,
            tol=0.5,
            n_iter_no_change=2,
        ),
        dict(solver="adam", early_stopping=True, n_iter_no_change=3, max_iter=40),
        dict(solver="sgd", shuffle=False, batch_size=64, alpha=0.1),
    ],
)
def test_schedules_and_early_stopping_match_sklearn(three_classes, kw):
    X, y = three_classes
    kw = dict(dict(hidden_layer_sizes=(8,), max_iter=12, random_state=1), **kw)
    ours = fit_quietly(MLPClassifier(dtype="float64", **kw), X, y)
    ref = fit_quietly(skl.MLPClassifier(**kw), X, y)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)
    assert ours.n_iter_ == ref.n_iter_
    assert ours._optimizer.learning_rate == pytest.approx(ref._optimizer.learning_rate)
    if kw.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
        assert ours.best_validation_score_ == ref.best_validation_score_
        assert ours.best_loss_ is None
    else:
        assert ours.best_loss_ == pytest.approx(ref.best_loss_, rel=1e-9)
        assert ours.validation_scores_ is None


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_matches_sklearn_in_float64(loss):
    X, y = make_regression(200, 6, n_targets=2, random_state=0)
    if loss == "poisson":
        y = np.exp(y / y.std()) // 1
    kw = dict(
        loss=loss,
        hidden_layer_sizes=(9,),
        solver="sgd",
        max_iter=10,
        random_state=0,
        learning_rate_init=1e-3,
    )
    ours = fit_quietly(MLPRegressor(dtype="float64", **kw), X, y)
    ref = fit_quietly(skl.MLPRegressor(**kw), X, y)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-7, atol=1e-7)
    assert ours.out_activation_ == ref.out_activation_


def test_float32_default_stays_close_to_sklearn(three_classes):
    X, y = three_classes
    kw = dict(hidden_layer_sizes=(16,), solver="sgd", max_iter=20, random_state=0)
    ours = fit_quietly(MLPClassifier(**kw), X, y)
    ref = fit_quietly(skl.MLPClassifier(**kw), X, y)
    assert ours.coefs_[0].dtype == np.float32
    assert ours.predict_proba(X).dtype == np.float64  # float64 data: float64 predictions
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-3)
    assert abs(ours.score(X, y) - ref.score(X, y)) <= 0.02


def test_fitted_attributes(three_classes):
    X, y = three_classes
    clf = fit_quietly(MLPClassifier((5, 4), solver="sgd", max_iter=3, random_state=0), X, y)
    assert [W.shape for W in clf.coefs_] == [(12, 5), (5, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (4,), (3,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.n_features_in_ == 12
    assert clf.out_activation_ == "softmax" and list(clf.classes_) == [0, 1, 2]
    assert clf.n_iter_ == 3 and clf.t_ == 3 * len(X) and len(clf.loss_curve_) == 3
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    assert not hasattr(clf, "feature_names_in_")
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    np.testing.assert_array_equal(clf.predict(X), proba.argmax(axis=1))


def test_verbose_prints_the_iteration_lines(three_classes, capsys):
    X, y = three_classes
    clf = fit_quietly(
        MLPClassifier((6,), solver="sgd", max_iter=3, verbose=10, random_state=0), X, y
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"Iteration {i + 1}, loss = {loss:.8f}" for i, loss in enumerate(clf.loss_curve_)
    ]


def test_convergence_warning_when_max_iter_stops_it(three_classes):
    X, y = three_classes
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\) reached"):
        MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((4,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y)


def test_string_labels_binary_and_multilabel():
    X, y = make_classification(200, 6, random_state=0)
    names = np.array(["cat", "dog"])[y]
    clf = fit_quietly(MLPClassifier((8,), solver="lbfgs", random_state=0), X, names)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert list(clf.classes_) == ["cat", "dog"]
    assert set(clf.predict(X)) <= {"cat", "dog"} and clf.score(X, names) > 0.8
    assert clf.predict_proba(X).shape == (200, 2)

    X, Y = make_multilabel_classification(200, 8, n_classes=4, random_state=0)
    ml = fit_quietly(MLPClassifier((16,), max_iter=100, random_state=0), X, Y)
    assert ml.out_activation_ == "logistic" and ml.n_outputs_ == 4
    assert ml.predict(X).shape == (200, 4) and set(np.unique(ml.predict(X))) <= {0, 1}
    ref = fit_quietly(skl.MLPClassifier((16,), max_iter=100, random_state=0), X, Y)
    assert abs(ml.score(X, Y) - ref.score(X, Y)) <= 0.05


def test_partial_fit_needs_classes_then_continues(three_classes):
    X, y = three_classes
    clf = MLPClassifier((6,), solver="sgd", random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    first = clf.loss_
    for _ in range(5):
        clf.partial_fit(X, y)
    assert clf.t_ == 100 + 5 * len(X) and clf.loss_ < first
    with pytest.raises(ValueError, match="not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="adam", random_state=0)
    reg.partial_fit(X, y.astype(float))
    assert reg.n_iter_ == 1


def test_warm_start_continues_from_the_fitted_weights(three_classes):
    X, y = three_classes
    clf = fit_quietly(
        MLPClassifier((6,), solver="sgd", max_iter=2, warm_start=True, random_state=0), X, y
    )
    before = [W.copy() for W in clf.coefs_]
    fit_quietly(clf, X, y)
    cold = fit_quietly(MLPClassifier((6,), solver="sgd", max_iter=2, random_state=0), X, y)
    np.testing.assert_allclose(cold.coefs_[0], before[0])
    assert not np.allclose(clf.coefs_[0], before[0])
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 2, 1, y))


def test_clone_and_params_round_trip():
    clf = MLPClassifier((50,), solver="sgd", learning_rate_init=0.1, random_state=1)
    params = clone(clf).get_params()
    assert params["hidden_layer_sizes"] == (50,) and params["learning_rate_init"] == 0.1
    assert params["dtype"] == "float32"
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        clf.set_params(nope=1)


@pytest.mark.parametrize(
    "param, value",
    [
        ("alpha", -1.0),
        ("solver", "newton"),
        ("activation", "softmax"),
        ("batch_size", 0),
        ("momentum", 1.5),
        ("hidden_layer_sizes", (10, 0)),
        ("learning_rate_init", 0.0),
        ("max_iter", 0),
        ("validation_fraction", 1.0),
        ("shuffle", "yes"),
        ("dtype", "int8"),
    ],
)
def test_bad_parameters_are_refused_at_fit(three_classes, param, value):
    X, y = three_classes
    with pytest.raises(ValueError, match=param if param != "hidden_layer_sizes" else "> 0"):
        MLPClassifier(**{param: value}).fit(X, y)


def test_bad_input_raises_sklearns_errors(three_classes):
    X, y = three_classes
    clf = MLPClassifier((4,), max_iter=5)
    with pytest.raises(ValueError, match="Expected 2D array"):
        clf.fit(X[0], y)
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ValueError, match="infinity"):
        clf.fit(np.where(X > 2, np.inf, X), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(NotFittedError):
        clf.predict(X)
    fit_quietly(clf, X, y)
    with pytest.raises(ValueError, match="X has 11 features"):
        clf.predict(X[:, 1:])
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, np.linspace(0, 1, len(X)))


def test_sparse_input_gives_the_dense_result(three_classes):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = three_classes
    X = np.where(np.abs(X) < 1, 0, X)
    kw = dict(hidden_layer_sizes=(6,), solver="sgd", max_iter=4, random_state=0, dtype="float64")
    dense = fit_quietly(MLPClassifier(**kw), X, y)
    csr = fit_quietly(MLPClassifier(**kw), sparse.csr_matrix(X), y)
    np.testing.assert_allclose(csr.coefs_[0], dense.coefs_[0], rtol=1e-10, atol=1e-12)


def test_lbfgs_without_scipy_says_what_to_install(three_classes, monkeypatch):
    X, y = three_classes
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # makes the import fail
    with pytest.raises(ImportError, match="needs SciPy"):
        MLPClassifier(solver="lbfgs").fit(X, y)


def test_import_strided_does_not_import_sklearn():
    code = "import sys, strided; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_missing_sklearn_names_the_extra():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    import strided.sklearn\n"
        "except ImportError as e:\n    print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pip install 'strided[sklearn]'" in out.stdout
