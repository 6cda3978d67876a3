"""The preference learner's network: scikit-learn's Adam MLP, step for step, without its
overhead.

LaScA's learner is, in our reading, ``MLPClassifier(hidden_layer_sizes=(hidden,),
activation="relu", solver="adam", alpha=1)`` trained epoch by epoch
(:mod:`affect_lib.lasca.preference`). Chapter 5 fits about 1,300 of them on a few
hundred rows each, and there scikit-learn spends most of a mini-batch step outside the
arithmetic: input validation at every ``partial_fit``, a training loss that nothing
reads, and an Adam update in a dozen numpy passes, some with float32 -> float64 casts
(its learning rate is a numpy float64, so under NumPy 2's promotion rules the step is
computed in float64 and rounded back into the float32 weights). :class:`AdamMLP` does
the same floating-point operations in the same order:

- initialisation: Glorot-uniform weights and biases, ``U(-b, b)`` with ``b = sqrt(6 /
  (fan_in + fan_out))``, drawn layer by layer (weights, then biases) from
  ``numpy.random.RandomState``, cast to the input's dtype;
- an epoch: ``RandomState.shuffle`` of ``arange(n)``, then mini-batches of
  ``batch_size`` rows in that order (the last one smaller);
- a step on a batch of ``m`` rows: ``h = relu(X W1 + b1)``, ``p = sigmoid(h W2 + b2)``,
  ``d2 = p - y``, ``d1 = (d2 W2^T) * [h != 0]``; gradients ``g_W = (A^T d + alpha W) /
  m`` and ``g_b = sum(d) / m`` (float32, the L2 penalty on weights only);
- Adam (Kingma & Ba), ``t`` counting steps: ``m_t = b1 m + (1 - b1) g``, ``v_t = b2 v +
  (1 - b2) g^2`` in float32, ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)`` in float64 and
  ``w += -lr_t m_t / (sqrt(v_t) + eps)`` computed in float64 and rounded to float32.

The matrix products are the same numpy calls, and the gradient, moment and weight
updates are fused into one compiled loop per parameter (:func:`_adam_step`: no
fast-math, so every operation is rounded as numpy rounds it). The weights after every
epoch are bit for bit those of ``MLPClassifier.partial_fit`` with the same
``RandomState`` and the same hyperparameters as Python floats (tests compare the two on
the installed scikit-learn, on several shapes, batch sizes and settings), and an epoch
on chapter 5's rows runs about 4x faster at its 8-row batches, 2-4x at 32 or 200 rows
(``benchmarks/bench_lasca_training.py``). scikit-learn's training loss and its own
stopping rule are left out: the preference learner stops on held-out pairs instead.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

__all__ = ["AdamMLP"]


# numpy's error model: no zero check, so the loop vectorises
@numba.njit(cache=True, error_model="numpy")
def _adam_step(w, g, m, v, alpha, rows, b1, c1, b2, c2, neg_rate, eps):
    """One Adam update of a parameter in place. ``w``, ``m``, ``v`` (one float dtype,
    any shape, C order): weights and moments; ``g``: the summed batch gradient ``A^T d``
    (without the L2 term and the division by ``rows``); ``alpha``: the L2 weight (0 for
    biases); ``c1 = 1 - b1``, ``c2 = 1 - b2`` in that dtype; ``neg_rate``: ``-lr_t`` as
    float64; ``eps`` in that dtype."""
    w, g, m, v = w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1)
    for i in range(w.size):
        gi = ((g[i] + alpha * w[i]) if alpha != 0 else g[i]) / rows
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        # the step in float64, rounded once into w's dtype by the store (numpy's w +=
        # step)
        w[i] = np.float64(w[i]) + (neg_rate * np.float64(mi)) / np.float64(
            np.sqrt(vi) + eps
        )


class AdamMLP(ClassifierMixin, BaseEstimator):
    """A binary classifier: one ReLU hidden layer of ``hidden`` units, a sigmoid output,
    binary cross-entropy with an L2 penalty ``alpha``, Adam in mini-batches of
    ``batch_size`` rows.

    ``partial_fit(X, y)`` runs one epoch (the first call draws the weights, in the dtype
    of its ``X``, which later calls must keep); ``fit`` runs ``max_iter`` epochs from a
    fresh start. ``random_state``: an int seeds one ``RandomState`` for the whole
    training (an instance is used as is). Inputs are (N, D) float32 or float64, labels
    0/1. The hyperparameters enter the arithmetic as Python floats do in scikit-learn's
    (cast to the weights' dtype, the learning-rate factor in float64). Fitted:
    ``coefs_`` [(D, hidden), (hidden, 1)], ``intercepts_`` [(hidden,), (1,)] and
    ``classes_`` [0, 1] as scikit-learn's; ``n_iter_`` counts the epochs of all
    ``partial_fit`` calls and ``t_`` the Adam steps (scikit-learn: 1 per call, and
    samples seen).
    """

    activation = "relu"
    out_activation_ = "logistic"
    solver = "adam"

    def __init__(
        self,
        hidden: int = 256,
        *,
        alpha: float = 1.0,
        batch_size: int = 8,
        max_iter: int = 25,
        learning_rate_init: float = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state

    # ------------------------------------------------------------------------- training
    def _start(self, n_features: int, dtype: np.dtype) -> None:
        self._rng = check_random_state(self.random_state)
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in ((n_features, self.hidden), (self.hidden, 1)):
            # Glorot, as scikit-learn for relu
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            self.coefs_.append(
                self._rng.uniform(-bound, bound, (fan_in, fan_out)).astype(
                    dtype, copy=False
                )
            )
            self.intercepts_.append(
                self._rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
            )
        params = self.coefs_ + self.intercepts_
        self._moments = (
            [np.zeros_like(p) for p in params],
            [np.zeros_like(p) for p in params],
        )
        self.classes_ = np.array([0, 1])
        self.n_iter_, self.t_ = 0, 0

    def _check(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if X.ndim != 2 or (
            hasattr(self, "coefs_") and X.shape[1] != self.coefs_[0].shape[0]
        ):
            expected = (
                f"(N, {self.coefs_[0].shape[0]})"
                if hasattr(self, "coefs_")
                else "(N, D)"
            )
            raise ValueError(f"AdamMLP: X must be {expected}, got {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("AdamMLP: X has NaN or infinite values")
        if y is None:
            return np.ascontiguousarray(X), None
        y = np.asarray(y)
        if y.shape != (X.shape[0],) or not np.isin(y, (0, 1)).all():
            raise ValueError(f"AdamMLP: y must be ({X.shape[0]},) labels 0 or 1")
        return np.ascontiguousarray(X), y.astype(bool).reshape(-1, 1)

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> AdamMLP:
        """One epoch of shuffled mini-batches over (N, D) ``X`` and (N,) labels
        ``y``."""
        if int(self.hidden) < 1 or int(self.batch_size) < 1:
            raise ValueError(
                f"AdamMLP: hidden and batch_size must be >= 1, got {self.hidden} and "
                f"{self.batch_size}"
            )
        X, Y = self._check(X, y)
        if not hasattr(self, "coefs_"):
            self._start(X.shape[1], X.dtype)
        # the moments and constants would mix precisions
        elif X.dtype != self.coefs_[0].dtype:
            raise ValueError(
                f"AdamMLP: X is {X.dtype}, the weights {self.coefs_[0].dtype} (drawn "
                f"at the first "
                "partial_fit); train with one dtype"
            )
        n = X.shape[0]
        rows = int(min(self.batch_size, n))
        order = np.arange(n)
        self._rng.shuffle(order)
        (w1, w2), (c1, c2) = self.coefs_, self.intercepts_
        ms, vs = self._moments
        # the hyperparameters as scikit-learn's arithmetic sees Python floats: cast to
        # the weights' dtype (NumPy 2's weak scalars), the learning-rate factor computed
        # in float64
        lr, beta_1, beta_2 = (
            float(self.learning_rate_init),
            float(self.beta_1),
            float(self.beta_2),
        )
        cast = X.dtype.type
        b1, b2, k1, k2 = cast(beta_1), cast(beta_2), cast(1 - beta_1), cast(1 - beta_2)
        eps, alpha, no_l2 = cast(float(self.epsilon)), cast(float(self.alpha)), cast(0)
        for start in range(0, n, rows):
            batch = order[start : start + rows]
            xb, yb = X[batch], Y[batch]
            h = xb @ w1
            h += c1
            np.maximum(h, 0, out=h)
            d2 = h @ w2
            d2 += c2
            expit(d2, out=d2)
            d2 = d2 - yb  # (m, 1): dloss/dlogit of the sigmoid + cross-entropy
            d1 = d2 @ w2.T  # with W2 before its update, as backpropagation does
            d1[h == 0] = 0
            grads = (xb.T @ d1, h.T @ d2, np.sum(d1, axis=0), np.sum(d2, axis=0))
            self.t_ += 1
            neg_rate = -(lr * np.sqrt(1 - beta_2**self.t_) / (1 - beta_1**self.t_))
            m = cast(len(batch))
            for k, (p, g) in enumerate(
                zip(self.coefs_ + self.intercepts_, grads, strict=True)
            ):
                _adam_step(
                    p,
                    g,
                    ms[k],
                    vs[k],
                    alpha if k < 2 else no_l2,
                    m,
                    b1,
                    k1,
                    b2,
                    k2,
                    float(neg_rate),
                    eps,
                )
        self.n_iter_ += 1
        if not all(np.isfinite(p).all() for p in self.coefs_ + self.intercepts_):
            raise ValueError(
                "AdamMLP: the weights became non-finite (inputs too large? "
                "standardise them)"
            )
        return self

    def fit(self, X: np.ndarray, y: np.ndarray) -> AdamMLP:
        """``max_iter`` epochs from freshly drawn weights (no early stopping)."""
        for name in ("coefs_", "_rng"):
            self.__dict__.pop(name, None)
        for _ in range(self.max_iter):
            self.partial_fit(X, y)
        return self

    # ----------------------------------------------------------------------- prediction
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(N, 2) probabilities of a decrease and an increase."""
        check_is_fitted(self, "coefs_")
        X, _ = self._check(X)
        h = X @ self.coefs_[0]
        h += self.intercepts_[0]
        np.maximum(h, 0, out=h)
        p = h @ self.coefs_[1]
        p += self.intercepts_[1]
        expit(p, out=p)
        return np.hstack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(N,) int labels: 1 where P(increase) > 0.5."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)
