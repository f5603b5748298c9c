"""swann.sklearn: the estimators pass scikit-learn's own estimator checks and
work in a Pipeline, GridSearchCV (two worker processes), clone and pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from swann.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

from conftest import DIGITS  # noqa: E402

# The checks skipped, each with its reason (at most three, says issue 19).
SKIPPED = {
    "check_array_api_input": "needs SCIPY_ARRAY_API and array-api-strict; the estimators compute in numpy "
                             "through ctypes, not through the array API",
}


@pytest.fixture(scope="module")
def digits():
    data = np.loadtxt(DIGITS, delimiter=",", dtype=np.int64)
    return train_test_split(data[:, :64].astype(np.float64), data[:, 64], test_size=0.25, random_state=0,
                            stratify=data[:, 64])


@pytest.mark.parametrize("estimator", [MLPClassifier(random_state=0), MLPRegressor(random_state=0)],
                         ids=["MLPClassifier", "MLPRegressor"])
def test_check_estimator(estimator):
    results = check_estimator(estimator, on_fail=None, on_skip=None)
    failed = {r["check_name"]: str(r["exception"])[:400] for r in results if r["status"] == "failed"}
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    passed = [r for r in results if r["status"] == "passed"]
    assert failed == {}
    assert skipped <= set(SKIPPED), "skipped without a listed reason: %s" % (skipped - set(SKIPPED))
    assert len(passed) >= 50
    print("%s: %d checks passed, skipped %s" % (type(estimator).__name__, len(passed), sorted(skipped)))


def test_pipeline_with_standard_scaler_on_digits(digits):
    xtr, xte, ytr, yte = digits
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), max_iter=30, random_state=0))
    model.fit(xtr, ytr)
    assert model.score(xte, yte) >= 0.94
    proba = model.predict_proba(xte)
    assert proba.shape == (len(yte), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.classes_, np.arange(10))
    np.testing.assert_array_equal(model.predict(xte), model.classes_[proba.argmax(axis=1)])


def test_grid_search_with_two_jobs(digits):
    xtr, _, ytr, _ = digits
    grid = GridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(max_iter=10, random_state=0)),
                        {"mlpclassifier__hidden_layer_sizes": [(16,), (64,)],
                         "mlpclassifier__learning_rate_init": [1e-3, 1e-2]}, cv=3, n_jobs=2)
    grid.fit(xtr[:600], ytr[:600])
    assert len(grid.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_score_ >= 0.85
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] in [(16,), (64,)]


def test_string_labels_and_params(digits):
    xtr, xte, ytr, yte = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = MLPClassifier(hidden_layer_sizes=[32], max_iter=25, random_state=1)
    assert clf.get_params()["hidden_layer_sizes"] == [32]      # stored as given
    clf.set_params(alpha=1e-3, batch_size=64)
    assert clf.alpha == 1e-3 and clf.batch_size == 64
    clf.fit(xtr / 16, names[ytr])
    assert list(clf.classes_) == sorted(names)
    assert clf.n_features_in_ == 64 and clf.n_iter_ >= 1 and len(clf.loss_curve_) == clf.n_iter_
    pred = clf.predict(xte / 16)
    assert set(pred) <= set(names)
    assert np.mean(pred == names[yte]) >= 0.9


def test_same_random_state_same_model_and_pickle_and_clone(digits):
    xtr, xte, ytr, _ = digits
    a = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=7).fit(xtr / 16, ytr)
    b = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=7).fit(xtr / 16, ytr)
    np.testing.assert_array_equal(a.predict_proba(xte / 16), b.predict_proba(xte / 16))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(xte / 16), c.predict_proba(xte / 16))
    d = clone(a)
    assert d.get_params() == a.get_params() and not hasattr(d, "net_")


def test_partial_fit_needs_classes_then_learns(digits):
    xtr, xte, ytr, yte = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), batch_size=32, learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="first call needs classes"):
        clf.partial_fit(xtr[:50] / 16, ytr[:50])
    for _ in range(10):
        clf.partial_fit(xtr / 16, ytr, classes=np.arange(10))
    assert clf.n_iter_ == 10
    assert clf.score(xte / 16, yte) >= 0.9
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(xtr[:5] / 16, np.full(5, 11))


def test_early_stopping_keeps_the_best_validation_loss(digits):
    xtr, _, ytr, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, early_stopping=True, n_iter_no_change=3,
                        random_state=0).fit(xtr / 16, ytr)
    assert clf.n_iter_ < 200
    assert clf.best_validation_loss_ == min(clf.validation_loss_curve_)
    assert int(np.argmin(clf.validation_loss_curve_)) == clf.n_iter_ - 1 - 3


def test_regressor_one_and_two_outputs():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (400, 3))
    y2 = np.stack([np.sin(2 * x[:, 0]), x[:, 1] * x[:, 2]], axis=1)
    reg = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", max_iter=200, random_state=0, tol=1e-6)
    reg.fit(x[:300], y2[:300, 0])
    assert reg.predict(x[300:]).shape == (100,)
    assert reg.score(x[300:], y2[300:, 0]) >= 0.9
    reg2 = make_pipeline(StandardScaler(), clone(reg)).fit(x[:300], y2[:300])
    assert reg2.predict(x[300:]).shape == (100, 2)
    assert reg2.score(x[300:], y2[300:]) >= 0.8


def test_bad_parameters_are_value_errors():
    x = np.zeros((10, 2))
    y = np.arange(10) % 2
    for bad in ({"activation": "softmax"}, {"solver": "lbfgs"}, {"hidden_layer_sizes": (0,)},
                {"max_iter": 0}, {"batch_size": 0}, {"learning_rate_init": -1.0}):
        with pytest.raises(ValueError):
            MLPClassifier(**bad).fit(x, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(x, np.zeros(10))
