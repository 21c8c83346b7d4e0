"""NeuralNetClassifier / NeuralNetRegressor: strided modules in scikit-learn's machinery."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from strided import optim  # noqa: E402
from strided.functional.loss import cross_entropy  # noqa: E402
from strided.models import LeNet5, lenet5  # noqa: E402
from strided.nn import Linear, ReLU, Sequential  # noqa: E402
from strided.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402


def mlp_builder(n_features: int, n_classes: int, width: int = 16) -> Sequential:
    return Sequential(Linear(n_features, width), ReLU(), Linear(width, n_classes))


@pytest.fixture(scope="module")
def table():
    X, y = make_classification(300, 8, n_classes=3, n_informative=5, random_state=0)
    return X, np.array(["a", "b", "c"])[y]


def test_fits_a_table_with_string_labels(table):
    X, y = table
    net = NeuralNetClassifier(mlp_builder, lr=0.1, epochs=30, batch_size=32, random_state=0)
    net.fit(X, y)
    assert list(net.classes_) == ["a", "b", "c"] and net.n_features_in_ == 8
    assert net.module_[0].in_features == 8 and net.module_[2].out_features == 3
    assert net.score(X, y) > 0.8 and set(net.predict(X)) <= {"a", "b", "c"}
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(net.classes_[proba.argmax(axis=1)], net.predict(X))
    assert len(net.loss_curve_) == 30 and net.loss_curve_[-1] < net.loss_curve_[0]
    assert net.n_iter_ == 30 and net.loss_ == net.loss_curve_[-1]


def test_same_random_state_same_network(table):
    X, y = table
    make = lambda: NeuralNetClassifier(mlp_builder, epochs=2, random_state=7)  # noqa: E731
    a, b = make().fit(X, y), make().fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = NeuralNetClassifier(mlp_builder, epochs=2, random_state=8).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_pipeline_cross_val_score_and_grid_search(table):
    X, y = table
    net = NeuralNetClassifier(mlp_builder, lr=0.1, epochs=15, batch_size=32, random_state=0)
    pipe = make_pipeline(StandardScaler(), net)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
    grid = GridSearchCV(net, {"module__width": [4, 32], "lr": [0.001, 0.1]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_ == {"lr": 0.1, "module__width": 32}  # wider, faster learns more
    assert grid.best_estimator_.module_[0].out_features == 32


def test_routed_parameters_survive_clone_and_set_params():
    net = NeuralNetClassifier(
        mlp_builder, module__width=8, optimizer="sgd", optimizer__momentum=0.9
    )
    copy = clone(net)
    assert copy.get_params()["module__width"] == 8
    assert copy.get_params()["optimizer__momentum"] == 0.9
    copy.set_params(module__width=5, lr=0.5)
    assert copy.get_params()["module__width"] == 5 and copy.lr == 0.5
    assert net.get_params()["module__width"] == 8
    with pytest.raises(ValueError, match="Invalid parameter 'widht'"):
        net.set_params(widht=3)


def test_optimizer_class_options_and_custom_criterion(table):
    X, y = table
    net = NeuralNetClassifier(
        mlp_builder,
        optimizer=optim.Adam,
        lr=0.01,
        epochs=2,
        optimizer__betas=(0.8, 0.9),
        criterion=cross_entropy,
        criterion__label_smoothing=0.1,
        random_state=0,
    ).fit(X, y)
    assert isinstance(net.optimizer_, optim.Adam)
    assert net.optimizer_.param_groups[0]["betas"] == (0.8, 0.9)
    assert pickle.loads(pickle.dumps(net)).predict(X).tolist() == net.predict(X).tolist()


def test_images_with_lenet5_filled_in_from_the_data():
    rng = np.random.default_rng(0)
    X = rng.random((96, 1, 28, 28), dtype=np.float32) * 0.2
    y = np.arange(96) % 2
    X[y == 1, :, :, :14] += 0.8  # class 1: a bright left half
    net = NeuralNetClassifier(
        lenet5, lr=0.05, optimizer__momentum=0.9, epochs=4, batch_size=16, random_state=0
    ).fit(X, y)
    assert isinstance(net.module_, LeNet5) and net.n_features_in_ == 1
    assert net.module_.classifier[-1].out_features == 2
    assert net.score(X, y) == 1.0
    with pytest.raises(ValueError, match="expects 28×28 inputs"):
        net.predict(X[:, :, :24, :24])


def test_a_module_instance_is_copied_not_trained(table):
    X, y = table
    module = mlp_builder(8, 3)
    before = module[0].weight.data.copy()
    net = NeuralNetClassifier(module, epochs=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(module[0].weight.data, before)
    assert net.module_ is not module
    assert not np.array_equal(net.module_[0].weight.data, before)


def test_regressor_one_and_two_targets():
    X, y = make_regression(300, 5, n_targets=2, noise=1.0, random_state=0)
    y = y / y.std()
    net = NeuralNetRegressor(
        mlp_builder,
        module__width=32,
        optimizer="adam",
        lr=0.01,
        epochs=60,
        batch_size=32,
        random_state=0,
    )
    assert net.fit(X, y).predict(X).shape == (300, 2) and net.score(X, y) > 0.9
    assert clone(net).fit(X, y[:, 0]).predict(X).shape == (300,)


def test_verbose_prints_epoch_losses(table, capsys):
    X, y = table
    net = NeuralNetClassifier(mlp_builder, epochs=2, verbose=1, random_state=0).fit(X, y)
    assert capsys.readouterr().out.splitlines() == [
        f"Epoch {i + 1}, loss = {loss:.8f}" for i, loss in enumerate(net.loss_curve_)
    ]


def test_bad_configurations_say_what_is_wrong(table):
    X, y = table
    with pytest.raises(TypeError, match="unexpected keyword argument 'width'"):
        NeuralNetClassifier(mlp_builder, width=3).fit(X, y)
    with pytest.raises(ValueError, match=r"returned shape \(128, 5\).*expected \(128, 3\)"):
        NeuralNetClassifier(lambda n_features: mlp_builder(n_features, 5)).fit(X, y)
    with pytest.raises(ValueError, match="need a callable module"):
        NeuralNetClassifier(mlp_builder(8, 3), module__width=4).fit(X, y)
    with pytest.raises(TypeError, match="not a strided Module"):
        NeuralNetClassifier(lambda: "a net").fit(X, y)
    with pytest.raises(ValueError, match="'optimizer' parameter"):
        NeuralNetClassifier(mlp_builder, optimizer="lion").fit(X, y)
    with pytest.raises(ValueError, match="'lr' parameter"):
        NeuralNetClassifier(mlp_builder, lr=-1).fit(X, y)
    with pytest.raises(ValueError, match="1 class"):
        NeuralNetClassifier(mlp_builder).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="NaN"):
        NeuralNetClassifier(mlp_builder).fit(np.full_like(X, np.nan), y)


@pytest.mark.parametrize("Estimator", [NeuralNetClassifier, NeuralNetRegressor])
def test_device_trains_there_and_gives_the_cpu_result(Estimator):
    if Estimator is NeuralNetClassifier:
        X, y = make_classification(n_samples=60, n_features=6, random_state=0)
    else:
        X, y = make_regression(n_samples=60, n_features=6, random_state=0)
        y = y / y.std()
    X = X.astype(np.float64)
    kwargs = dict(epochs=3, lr=0.05, random_state=0, dtype="float64")
    cpu = Estimator(mlp_builder, **kwargs).fit(X, y)
    sim = Estimator(mlp_builder, device="sim", **kwargs).fit(X, y)
    assert sim.module_.device == "sim:0"
    np.testing.assert_allclose(sim.loss_curve_, cpu.loss_curve_, rtol=1e-9)
    prediction = sim.predict(X)
    assert isinstance(prediction, np.ndarray)
    np.testing.assert_allclose(prediction, cpu.predict(X), rtol=1e-9)


def test_an_unknown_device_is_refused_at_fit(table):
    X, y = table
    with pytest.raises(ValueError, match="NeuralNetClassifier: device: .*unknown device"):
        NeuralNetClassifier(mlp_builder, device="tpu").fit(X, y)
