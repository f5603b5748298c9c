"""scikit-learn estimators backed by swann: :class:`MLPClassifier`, :class:`MLPRegressor`.

They follow scikit-learn's estimator conventions (constructor parameters stored
as given, ``fit`` / ``partial_fit`` / ``predict`` / ``score``, ``get_params`` /
``set_params``, ``clone``, pickling), so they go into a ``Pipeline`` or a
``GridSearchCV``. The parameter names are those of
``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` where swann has the
same thing::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from swann.sklearn import MLPClassifier

    clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), random_state=0))
    clf.fit(X_train, labels_train).score(X_test, labels_test)

scikit-learn is needed to import this module; ``import swann`` does not need it.
The fitted :class:`swann.Net` is ``net_``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._core import Net

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        return estimator._validate_data(*args, **kwargs)

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names -> swann's
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_SOLVERS = ("adam", "sgd")
_SEED_MAX = 2 ** 31 - 1


class _SwannMLP(BaseEstimator):
    """What both estimators share: the spec, the training loop, the stopping rule."""

    _output_activation = "identity"
    _loss = "mse"

    def __init__(self, hidden_layer_sizes: Sequence[int] = (100,), activation: str = "relu",
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate_init: float = 0.001, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 momentum: float = 0.9, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 n_iter_no_change: int = 10) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    # ---- parameters -------------------------------------------------------------

    def _hidden(self) -> List[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, np.integer)):
            sizes = [sizes]
        try:
            out = [int(s) for s in sizes]
        except (TypeError, ValueError):
            raise ValueError("hidden_layer_sizes must be a sequence of positive ints, got %r" % (sizes,)) from None
        if any(s < 1 for s in out):
            raise ValueError("hidden_layer_sizes must be positive, got %r" % (sizes,))
        return out

    def _check_params(self) -> None:
        if self.activation not in _ACTIVATIONS:
            raise ValueError("activation %r is not one of %s" % (self.activation, ", ".join(_ACTIVATIONS)))
        if self.solver not in _SOLVERS:
            raise ValueError("solver %r is not one of %s (swann's estimators)" % (self.solver, ", ".join(_SOLVERS)))
        if not (self.max_iter >= 1):
            raise ValueError("max_iter must be at least 1, got %r" % (self.max_iter,))
        if not (self.alpha >= 0):
            raise ValueError("alpha must be non-negative, got %r" % (self.alpha,))
        if not (self.learning_rate_init > 0):
            raise ValueError("learning_rate_init must be positive, got %r" % (self.learning_rate_init,))
        if not (self.n_iter_no_change >= 1):
            raise ValueError("n_iter_no_change must be at least 1, got %r" % (self.n_iter_no_change,))
        if self.early_stopping and not (0 < self.validation_fraction < 1):
            raise ValueError("validation_fraction must be in (0, 1), got %r" % (self.validation_fraction,))

    def _batch(self, n: int) -> int:
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            return max(1, min(200, n))
        b = int(self.batch_size)
        if b < 1:
            raise ValueError("batch_size must be at least 1 or 'auto', got %r" % (self.batch_size,))
        return min(b, n)

    def _spec(self, n_in: int, n_out: int, batch: int, seed: int) -> Dict[str, Any]:
        act = _ACTIVATIONS[self.activation]
        layers = [{"units": u, "activation": act} for u in self._hidden()]
        layers.append({"units": n_out, "activation": self._output_activation})
        # scikit-learn's alpha adds alpha * W / rows to a batch's mean gradient: a
        # weight decay of alpha / batch (swann's also decays the biases).
        decay = float(self.alpha) / batch
        if self.solver == "adam":
            opt = {"type": "adam", "lr": float(self.learning_rate_init), "beta1": float(self.beta_1),
                   "beta2": float(self.beta_2), "eps": float(self.epsilon), "weight_decay": decay}
        else:
            opt = {"type": "sgd", "lr": float(self.learning_rate_init), "momentum": float(self.momentum),
                   "weight_decay": decay}
        return {"input": n_in, "layers": layers, "loss": self._loss, "optimizer": opt, "seed": seed}

    # ---- training ---------------------------------------------------------------

    def _new_net(self, n_in: int, n_out: int, n: int, rng: np.random.RandomState) -> None:
        self._check_params()
        batch = self._batch(n)
        self.net_ = Net(self._spec(n_in, n_out, batch, int(rng.randint(_SEED_MAX))), max_batch=batch)
        self.loss_curve_: List[float] = []
        self.n_iter_ = 0
        self.t_ = 0

    def _train(self, X: np.ndarray, T: np.ndarray, epochs: int, rng: np.random.RandomState,
               stop_early: bool) -> None:
        """Epochs of net_.fit; stops as scikit-learn does (tol, n_iter_no_change), or on
        the validation loss with the best weights restored when early_stopping."""
        batch = self._batch(X.shape[0])
        validation = None
        if stop_early and self.early_stopping:
            n_val = int(round(self.validation_fraction * X.shape[0]))
            if n_val < 1 or n_val >= X.shape[0]:
                raise ValueError("early_stopping: validation_fraction %r of %d samples leaves no validation "
                                 "or no training rows" % (self.validation_fraction, X.shape[0]))
            order = rng.permutation(X.shape[0])
            validation = (X[order[:n_val]], T[order[:n_val]])
            X, T = X[order[n_val:]], T[order[n_val:]]
        best = [np.inf, 0]  # the lowest training loss, epochs since it improved by tol

        def no_improvement(epoch: int, logs: Dict[str, float]) -> bool:
            loss = logs["loss"]
            if loss > best[0] - self.tol:
                best[1] += 1
            else:
                best[1] = 0
            best[0] = min(best[0], loss)
            return best[1] >= self.n_iter_no_change

        history = self.net_.fit(X, T, epochs=epochs, batch_size=batch, shuffle=bool(self.shuffle),
                                validation=validation, progress=bool(self.verbose),
                                seed=int(rng.randint(_SEED_MAX)),
                                early_stopping=validation is not None,
                                patience=int(self.n_iter_no_change), min_delta=float(self.tol),
                                callback=no_improvement if stop_early and validation is None else None)
        self.loss_curve_.extend(history["loss"])
        self.n_iter_ += len(history["loss"])
        self.t_ += X.shape[0] * len(history["loss"])
        if validation is not None:
            self.validation_loss_curve_ = history["val_loss"]
            self.best_validation_loss_ = float(min(history["val_loss"]))
        self.loss_ = float(history["loss"][-1])

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "net_")
        X = _validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.net_.predict(np.ascontiguousarray(X, dtype=np.float32))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class MLPClassifier(ClassifierMixin, _SwannMLP):
    """A multi-layer perceptron classifier trained by swann (softmax outputs, cross-entropy).

    Parameters as ``sklearn.neural_network.MLPClassifier``: ``hidden_layer_sizes``,
    ``activation`` (identity, logistic, tanh, relu), ``solver`` (adam or sgd),
    ``alpha`` (L2, as a weight decay of alpha / batch_size), ``batch_size``
    ("auto": min(200, n)), ``learning_rate_init``, ``max_iter`` (epochs),
    ``shuffle``, ``random_state`` (an int gives the same model every fit),
    ``tol`` and ``n_iter_no_change`` (stop when the training loss has not
    improved by ``tol`` for that many epochs), ``momentum`` (sgd), ``beta_1``,
    ``beta_2``, ``epsilon`` (adam), ``early_stopping`` with
    ``validation_fraction`` (hold out that share of the rows and stop on their
    loss, keeping the best epoch's weights), ``verbose`` (a progress bar).

    Class labels may be any sortable values (ints, strings); ``classes_`` holds
    them sorted. Attributes after fit: ``classes_``, ``n_features_in_``,
    ``net_`` (the swann.Net), ``loss_``, ``loss_curve_``, ``n_iter_``.
    """

    _output_activation = "softmax"
    _loss = "cross_entropy"

    def fit(self, X: Any, y: Any) -> "MLPClassifier":
        """Trains a new net on ``X`` (n, n_features) and labels ``y`` (n,); returns self."""
        X, y = _validate_data(self, X, y, dtype=(np.float64, np.float32), reset=True)
        check_classification_targets(y)
        classes, indices = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError("MLPClassifier.fit: y has 1 class (%r); a classifier needs at least 2 classes"
                             % (classes[0],))
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        self._new_net(X.shape[1], len(classes), X.shape[0], rng)
        self._train(np.ascontiguousarray(X, dtype=np.float32), indices.astype(np.int64), int(self.max_iter),
                    rng, stop_early=True)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> "MLPClassifier":
        """One epoch on ``X``, ``y``; the first call needs ``classes`` (every label there will be)."""
        first = not hasattr(self, "net_")
        X, y = _validate_data(self, X, y, dtype=(np.float64, np.float32), reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("MLPClassifier.partial_fit: the first call needs classes=, every label y will have")
            all_classes = np.unique(np.asarray(classes))
            if len(all_classes) < 2:
                raise ValueError("MLPClassifier.partial_fit: classes has %d label(s); at least 2 are needed"
                                 % len(all_classes))
            self.classes_ = all_classes
            self._rng = check_random_state(self.random_state)
            self._new_net(X.shape[1], len(all_classes), X.shape[0], self._rng)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError("MLPClassifier.partial_fit: classes %r differ from the first call's %r"
                             % (classes, self.classes_))
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError("MLPClassifier.partial_fit: y has labels not in classes: %r" % (unknown[:5],))
        indices = np.searchsorted(self.classes_, y)
        rng = getattr(self, "_rng", None) or check_random_state(self.random_state)
        self._train(np.ascontiguousarray(X, dtype=np.float32), indices.astype(np.int64), 1, rng, stop_early=False)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (n, n_classes) in the order of ``classes_``."""
        p = self._forward(X).astype(np.float64)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (labels from ``classes_``)."""
        best = np.argmax(self._forward(X), axis=1)  # checks fitted before classes_ is read
        return self.classes_[best]


class MLPRegressor(RegressorMixin, _SwannMLP):
    """A multi-layer perceptron regressor trained by swann (identity outputs, squared error).

    Parameters and attributes as :class:`MLPClassifier` (no ``classes_``). ``y``
    is (n,) or (n, n_outputs); :meth:`predict` returns the same shape.
    """

    def fit(self, X: Any, y: Any) -> "MLPRegressor":
        """Trains a new net on ``X`` (n, n_features) and targets ``y``; returns self."""
        X, y = _validate_data(self, X, y, dtype=(np.float64, np.float32), multi_output=True,
                              y_numeric=True, reset=True)
        rng = check_random_state(self.random_state)
        T = self._targets(y)
        self._new_net(X.shape[1], T.shape[1], X.shape[0], rng)
        self._train(np.ascontiguousarray(X, dtype=np.float32), T, int(self.max_iter), rng, stop_early=True)
        return self

    def partial_fit(self, X: Any, y: Any) -> "MLPRegressor":
        """One epoch on ``X``, ``y`` (the first call creates the net)."""
        first = not hasattr(self, "net_")
        X, y = _validate_data(self, X, y, dtype=(np.float64, np.float32), multi_output=True,
                              y_numeric=True, reset=first)
        T = self._targets(y) if first else self._targets(y, self.n_outputs_)
        if first:
            self._rng = check_random_state(self.random_state)
            self._new_net(X.shape[1], T.shape[1], X.shape[0], self._rng)
        rng = getattr(self, "_rng", None) or check_random_state(self.random_state)
        self._train(np.ascontiguousarray(X, dtype=np.float32), T, 1, rng, stop_early=False)
        return self

    def _targets(self, y: np.ndarray, outputs: Optional[int] = None) -> np.ndarray:
        y = np.asarray(y)
        one = y.ndim == 1
        T = (y.reshape(-1, 1) if one else y).astype(np.float32)
        if outputs is not None and T.shape[1] != outputs:
            raise ValueError("MLPRegressor.partial_fit: y has %d outputs, the first call had %d"
                             % (T.shape[1], outputs))
        if outputs is None:
            self.n_outputs_ = T.shape[1]
            self._y_1d = one
        return np.ascontiguousarray(T)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may be (n, n_outputs)
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, (n,) when fitted on a 1-D y, else (n, n_outputs)."""
        out = self._forward(X).astype(np.float64)
        return out.ravel() if self._y_1d else out

