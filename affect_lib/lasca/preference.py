"""Preference learner (LaScA step 5): does affect go up or down from one window to the next?

**Pairs.** Two windows form a pair when they are consecutive in the same video (``index`` i and
i + 1; pairs never cross videos). A pair is kept when the *relative change* of the target exceeds
``tau``::

    relative change = |y[i+1] - y[i]| / 2

the change as a share of the annotation scale's range [-1, 1] (width 2). So tau = 0.1 keeps changes
larger than 0.2 on the valence/arousal scale. (Relative to ``|y[i]|`` instead would explode near the
scale's neutral point 0, where half of in-the-wild annotation lives, and would keep almost every
pair there.) The label is 1 when the target increases, 0 when it decreases.

**Learner.** The input of a pair is ``dz = z[i+1] - z[i]`` of the window representation ``z``
(features ``x``, sentence embedding ``s`` or their concatenation ``[x || s]``). LaScA describes a
two-layer MLP with sigmoid output, binary cross-entropy, Adam, L2 alpha = 1, early stopping after 3
non-improving iterations and at most 25 iterations. We read that as scikit-learn's
``MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1, max_iter=25, early_stopping=True,
n_iter_no_change=3, solver="adam")`` (our interpretation: the paper names no library; "iterations"
are epochs, early stopping watches the accuracy on a 10 % validation split of the training pairs).
Inputs are standardised with statistics of the training pairs. Training pairs are *symmetrised*: each
pair also enters reversed (``-dz``, flipped label), so both classes are equally frequent and the
learner cannot score by predicting the more common direction.

Fitting uses one BLAS thread (faster for matrices this small; parallelise over fits instead).

**Metric.** Pairwise accuracy: the share of test pairs whose predicted direction matches the truth.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

__all__ = ["Pairs", "relative_change", "preference_pairs", "pair_deltas", "symmetrise", "fit_preference",
           "predict_direction", "pairwise_accuracy", "trainable_parameters", "PairScorer"]


@dataclass(frozen=True)
class Pairs:
    """P preference pairs: ``first``, ``second`` (P,) int row indices (``second`` is the next window),
    ``label`` (P,) int64 1 = target increases, ``change`` (P,) float64 relative change."""

    first: np.ndarray
    second: np.ndarray
    label: np.ndarray
    change: np.ndarray

    def __len__(self) -> int:
        return int(self.first.shape[0])

    def subset(self, keep: np.ndarray) -> Pairs:
        """The pairs where ``keep`` (P,) bool is True."""
        return Pairs(self.first[keep], self.second[keep], self.label[keep], self.change[keep])


def relative_change(y_first: np.ndarray, y_second: np.ndarray) -> np.ndarray:
    """``|y_second - y_first| / 2``: the change as a share of the [-1, 1] annotation range."""
    return np.abs(np.asarray(y_second, np.float64) - np.asarray(y_first, np.float64)) / 2.0


def preference_pairs(y: np.ndarray, video: np.ndarray, index: np.ndarray, tau: float) -> Pairs:
    """All pairs of consecutive windows (same video, index i and i + 1) whose relative change exceeds ``tau``.

    ``y``, ``video``, ``index``: (N,) per window, in any row order. Pairs are returned sorted by
    (video, index) of their first window.
    """
    y = np.asarray(y, dtype=np.float64)
    video = np.asarray(video)
    index = np.asarray(index)
    if not (y.shape == video.shape == index.shape) or y.ndim != 1:
        raise ValueError(f"y, video and index must be (N,) alike, got {y.shape}, {video.shape}, {index.shape}")
    if not 0 <= tau < 1:
        raise ValueError(f"tau must be in [0, 1), got {tau}")
    if np.isnan(y).any():
        raise ValueError("preference_pairs: NaN targets (drop unannotated windows first)")
    _, vid = np.unique(video, return_inverse=True)
    order = np.lexsort((index, vid))
    a, b = order[:-1], order[1:]
    consecutive = (vid[a] == vid[b]) & (index[b] == index[a] + 1)
    a, b = a[consecutive], b[consecutive]
    if len(np.unique(np.stack([vid, index], 1), axis=0)) != len(y):
        raise ValueError("preference_pairs: two windows share the same (video, index)")
    change = relative_change(y[a], y[b])
    keep = change > tau
    a, b = a[keep], b[keep]
    return Pairs(a.astype(np.int64), b.astype(np.int64), (y[b] > y[a]).astype(np.int64), change[keep])


def pair_deltas(Z: np.ndarray, pairs: Pairs) -> np.ndarray:
    """``z[second] - z[first]`` for every pair: (N, D) window representations -> (P, D) float32."""
    Z = np.asarray(Z)
    return (Z[pairs.second].astype(np.float32) - Z[pairs.first].astype(np.float32))


def symmetrise(dZ: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add every pair reversed: ``([dZ; -dZ], [labels; 1 - labels])``, (2P, D) and (2P,)."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.concatenate([dZ, -dZ]), np.concatenate([labels, 1 - labels])


def fit_preference(dZ: np.ndarray, labels: np.ndarray, *, hidden: int = 256, alpha: float = 1.0,
                   max_iter: int = 25, n_iter_no_change: int = 3, seed: int = 0,
                   symmetric: bool = True) -> Pipeline:
    """Train the preference MLP on pair deltas (P, D) and labels (P,); returns scaler + MLP pipeline.

    ``symmetric`` adds the reversed pairs first (module docstring). Needs pairs of both directions
    after symmetrisation and at least 10 training rows (early stopping holds out 10 %).
    """
    dZ = np.asarray(dZ, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if dZ.ndim != 2 or labels.shape != (dZ.shape[0],):
        raise ValueError(f"fit_preference expects dZ (P, D) and labels (P,), got {dZ.shape} and {labels.shape}")
    if symmetric:
        dZ, labels = symmetrise(dZ, labels)
    if len(labels) < 10 or len(np.unique(labels)) < 2:
        raise ValueError(f"fit_preference needs >= 10 training pairs of both directions, got {len(labels)} "
                         f"with labels {sorted(set(labels.tolist()))} (lower tau or use more data)")
    model = Pipeline([
        ("scale", StandardScaler()),
        ("mlp", MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", solver="adam", alpha=alpha,
                              max_iter=max_iter, early_stopping=True, n_iter_no_change=n_iter_no_change,
                              random_state=seed)),
    ])
    # One BLAS thread: these matrices are small, and a multi-threaded BLAS makes the fit 2-5x *slower*
    # on 2 shared cores (measured); run fits in parallel processes instead (run_protocol's n_jobs).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter = 25 is the protocol, not a failure
        model.fit(dZ, labels)
    return model


def predict_direction(model: Pipeline, dZ: np.ndarray) -> np.ndarray:
    """Predicted direction (P,) int64, 1 = increase."""
    with threadpool_limits(limits=1, user_api="blas"):
        return np.asarray(model.predict(np.asarray(dZ, dtype=np.float32)), dtype=np.int64)


def pairwise_accuracy(model: Pipeline, dZ: np.ndarray, labels: np.ndarray) -> float:
    """Share of pairs whose predicted direction matches ``labels``; NaN when there is no pair."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(predict_direction(model, dZ) == labels))


def trainable_parameters(model: Pipeline | MLPClassifier) -> int:
    """Number of trainable weights and biases of the (fitted) MLP (the scaler has none)."""
    mlp = model.named_steps["mlp"] if isinstance(model, Pipeline) else model
    return int(sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_))


class PairScorer:
    """The fitted pipeline's forward pass in plain numpy, for one pair at a time (inference path).

    ``proba(dz)`` = P(increase) = sigmoid(relu(((dz - mean) / scale) W1 + b1) W2 + b2): the same
    numbers as ``model.predict_proba(dz)[:, 1]`` without scikit-learn's per-call input validation
    (which costs more than the arithmetic for a single pair).
    """

    def __init__(self, model: Pipeline) -> None:
        scaler, mlp = model.named_steps["scale"], model.named_steps["mlp"]
        if mlp.activation != "relu" or len(mlp.coefs_) != 2 or mlp.out_activation_ != "logistic":
            raise ValueError("PairScorer expects the preference MLP (one relu hidden layer, logistic output)")
        scale = scaler.scale_ if scaler.scale_ is not None else np.ones_like(scaler.mean_)
        # fold the standardisation into the first layer: ((x - m) / s) W1 + b1 = x (W1 / s) + (b1 - (m / s) W1)
        self.w1 = (mlp.coefs_[0] / scale[:, None]).astype(np.float64)
        self.b1 = (mlp.intercepts_[0] - (scaler.mean_ / scale) @ mlp.coefs_[0]).astype(np.float64)
        self.w2 = mlp.coefs_[1][:, 0].astype(np.float64)
        self.b2 = float(mlp.intercepts_[1][0])

    def proba(self, dz: np.ndarray) -> np.ndarray | float:
        """P(increase) of one pair delta (D,) -> float, or of (P, D) -> (P,)."""
        h = np.maximum(np.asarray(dz, dtype=np.float64) @ self.w1 + self.b1, 0.0)
        logit = h @ self.w2 + self.b2
        out = 1.0 / (1.0 + np.exp(-logit))
        return float(out) if np.ndim(out) == 0 else out
