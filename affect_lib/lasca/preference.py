"""Preference learner (LaScA step 5): does affect go up or down from one window to the
next?

The pairs it learns from (consecutive windows whose relative change exceeds ``tau``) are
made by :mod:`affect_lib.lasca.pairs`.

**Learner.** The input of a pair is ``dz = z[i+1] - z[i]`` of the window representation
``z`` (features ``x``, sentence embedding ``s`` or their concatenation ``[x || s]``).
LaScA describes a two-layer MLP with sigmoid output, binary cross-entropy, Adam, L2
alpha = 1, early stopping after 3 non-improving iterations and at most 25 iterations. We
read that as scikit-learn's ``MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1,
solver="adam")`` trained epoch by epoch (our interpretation: the paper names no library;
"iterations" are epochs), in mini-batches of 8 rows. The network is
:class:`~affect_lib.lasca.mlp.AdamMLP`, which computes scikit-learn's weights bit for
bit, epoch by epoch, about 4x faster at these batches. Early stopping watches the
accuracy on a validation share (10 %) of the training *pairs*, drawn before
symmetrisation (below), stops after 3 epochs in a row without an improvement of more
than ``tol`` (1e-4) and keeps the weights of the best epoch. Inputs are standardised
with statistics of the training rows. Training pairs are *symmetrised*: each pair also
enters reversed (``-dz``, flipped label), so both classes are equally frequent and the
learner cannot score by predicting the more common direction.

Why mini-batches of 8 rows, not scikit-learn's default of 200: the epoch cap makes the
number of Adam steps depend on the batch size. A training split of the book's data holds
about 210 rows at 5 s / 20 %, so 200-row batches give 2 steps per epoch and at most 50
in all, and the MLP stays near its random initialisation (on a separable toy problem
with 200 pairs it is at chance; tested). With 8-row batches an epoch has about 27 steps.
Aff-Wild2's ~2.8M annotated frames make some 19,000 5 s windows; if a similar share of
consecutive pairs passes tau (45 % here), 200-row batches give about 60 steps per epoch
there, the same order. Chapter 5 shows how the ablation depends on it. The batch size
also weighs the L2 penalty: scikit-learn adds ``alpha * W`` to a batch's *summed* data
gradient and divides both by the batch's rows, so against the (mean) data term the
penalty is ``alpha / batch_size`` at every step, 25 times stronger with 8 rows than with
200. A batch-size comparison therefore changes the number of steps and the
regularisation together.

Why the validation pairs are drawn first: scikit-learn's own ``early_stopping=True``
splits the rows it is given, and after symmetrisation a random 10 % of the rows holds
the mirror image of many training pairs. Those are predicted by what the MLP has already
fitted, so the stopping rule would watch a partly memorised score. Here a pair and its
mirror are always on the same side.

Fitting uses one BLAS thread (faster for matrices this small; parallelise over fits
instead).

**Metric.** Pairwise accuracy: the share of test pairs whose predicted direction matches
the truth.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from affect_lib.lasca.mlp import AdamMLP
from affect_lib.lasca.pairs import symmetrise

__all__ = [
    "validation_split",
    "fit_preference",
    "predict_direction",
    "pairwise_accuracy",
    "trainable_parameters",
    "PairScorer",
]


def validation_split(
    n_pairs: int, share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Early stopping's hold-out: (fit, validation) pair indices, a random ``max(1,
    round(share * n))`` of ``range(n_pairs)`` held out
    (``numpy.random.default_rng(seed)``), both sorted."""
    if not 0 < share < 1:
        raise ValueError(f"validation share must be in (0, 1), got {share}")
    order = np.random.default_rng(seed).permutation(n_pairs)
    n_val = max(1, int(round(share * n_pairs)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def fit_preference(
    dZ: np.ndarray,
    labels: np.ndarray,
    *,
    hidden: int = 256,
    alpha: float = 1.0,
    max_iter: int = 25,
    n_iter_no_change: int = 3,
    validation: float = 0.1,
    batch_size: int = 8,
    seed: int = 0,
    symmetric: bool = True,
) -> Pipeline:
    """Train the preference MLP on pair deltas (P, D) and labels (P,); returns scaler +
    MLP pipeline.

    Early stopping on a ``validation`` share of the pairs and ``symmetric`` (reversed
    pairs added to both parts) as in the module docstring. The fitted MLP keeps
    ``validation_pairs_`` (indices into the P pairs), ``validation_scores_`` (per epoch)
    and ``best_validation_score_``. ``batch_size``: Adam mini-batch rows, capped at the
    training rows (200 is scikit-learn's default). Needs at least 10 pairs with both
    directions present after symmetrisation.
    """
    dZ = np.asarray(dZ, dtype=np.float32)
    raw = np.asarray(labels)
    if dZ.ndim != 2 or raw.shape != (dZ.shape[0],):
        raise ValueError(
            f"fit_preference expects dZ (P, D) and labels (P,), got {dZ.shape} and "
            f"{raw.shape}"
        )
    numeric = raw.dtype.kind in "biuf"
    # 0.9 would truncate to 0 silently
    if not numeric or not np.isin(raw, (0, 1)).all():
        shown = (
            sorted(set(raw[~np.isin(raw, (0, 1))].tolist()))[:5]
            if numeric
            else f"dtype {raw.dtype}"
        )
        raise ValueError(
            f"fit_preference: labels must be 0 or 1 (1 = the target increases), got "
            f"{shown}"
        )
    labels = raw.astype(np.int64)
    if batch_size < 1 or max_iter < 1:
        raise ValueError(
            f"fit_preference: batch_size and max_iter must be >= 1, got {batch_size} "
            f"and {max_iter}"
        )
    if not np.isfinite(dZ).all():
        bad = np.argwhere(~np.isfinite(dZ))[0]
        raise ValueError(
            f"fit_preference: non-finite pair delta at pair {bad[0]}, dimension "
            f"{bad[1]}"
        )
    # the labels symmetrise() makes
    both = np.concatenate([labels, 1 - labels]) if symmetric else labels
    if len(labels) < 10 or len(np.unique(both)) < 2:
        raise ValueError(
            f"fit_preference needs >= 10 training pairs of both directions, got "
            f"{len(labels)} "
            f"with labels {sorted(set(labels.tolist()))} (lower tau or use more data)"
        )
    fit, val = validation_split(len(labels), validation, seed)
    (X, y), (Xv, yv) = [
        symmetrise(dZ[i], labels[i]) if symmetric else (dZ[i], labels[i])
        for i in (fit, val)
    ]
    scaler = StandardScaler().fit(X)
    X, Xv = scaler.transform(X), scaler.transform(Xv)
    # seeded once for the whole fit: every epoch draws a new batch order (scikit-learn's
    # partial_fit re-seeds from an int at every call, so it needs a RandomState there;
    # AdamMLP seeds once either way)
    mlp = AdamMLP(
        hidden,
        alpha=alpha,
        max_iter=max_iter,
        batch_size=min(int(batch_size), len(y)),
        random_state=seed,
    )
    tol = 1e-4  # scikit-learn's: an improvement must exceed it
    scores: list[float] = []
    best, since_best, weights = -np.inf, 0, None
    # One BLAS thread: these matrices are small, and a multi-threaded BLAS makes the fit
    # 2-5x *slower* on 2 shared cores (measured); run fits in parallel processes instead
    # (run_protocol's n_jobs).
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(max_iter):
            mlp.partial_fit(X, y)  # one Adam epoch (shuffled mini-batches)
            scores.append(float(np.mean(mlp.predict(Xv) == yv)))
            if scores[-1] > best + tol:
                best, since_best = scores[-1], 0
                weights = (
                    [c.copy() for c in mlp.coefs_],
                    [b.copy() for b in mlp.intercepts_],
                )
            else:
                since_best += 1
                if since_best >= n_iter_no_change:
                    break
    # the best epoch, as scikit-learn's early stopping does
    mlp.coefs_, mlp.intercepts_ = weights
    mlp.validation_pairs_, mlp.validation_scores_, mlp.best_validation_score_ = (
        val,
        scores,
        best,
    )
    return Pipeline([("scale", scaler), ("mlp", mlp)])


def predict_direction(model: Pipeline, dZ: np.ndarray) -> np.ndarray:
    """Predicted direction (P,) int64, 1 = increase."""
    with threadpool_limits(limits=1, user_api="blas"):
        return np.asarray(
            model.predict(np.asarray(dZ, dtype=np.float32)), dtype=np.int64
        )


def pairwise_accuracy(model: Pipeline, dZ: np.ndarray, labels: np.ndarray) -> float:
    """Share of pairs whose predicted direction matches ``labels``; NaN when there is no
    pair."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(predict_direction(model, dZ) == labels))


def trainable_parameters(model: Pipeline | AdamMLP) -> int:
    """Number of trainable weights and biases of the (fitted) MLP (the scaler has
    none)."""
    mlp = model.named_steps["mlp"] if isinstance(model, Pipeline) else model
    return int(sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_))


class PairScorer:
    """The fitted pipeline's forward pass in plain numpy, for one pair at a time
    (inference path).

    ``proba(dz)`` = P(increase) = sigmoid(relu(((dz - mean) / scale) W1 + b1) W2 + b2):
    the same numbers as ``model.predict_proba(dz)[:, 1]`` without scikit-learn's
    per-call input validation (which costs more than the arithmetic for a single pair).
    """

    def __init__(self, model: Pipeline) -> None:
        scaler, mlp = model.named_steps["scale"], model.named_steps["mlp"]
        if (
            mlp.activation != "relu"
            or len(mlp.coefs_) != 2
            or mlp.out_activation_ != "logistic"
        ):
            raise ValueError(
                "PairScorer expects the preference MLP (one relu hidden layer, "
                "logistic output)"
            )
        scale = (
            scaler.scale_ if scaler.scale_ is not None else np.ones_like(scaler.mean_)
        )
        # fold the standardisation into the first layer: ((x - m) / s) W1 + b1 = x (W1 /
        # s) + (b1 - (m / s) W1)
        self.w1 = (mlp.coefs_[0] / scale[:, None]).astype(np.float64)
        self.b1 = (mlp.intercepts_[0] - (scaler.mean_ / scale) @ mlp.coefs_[0]).astype(
            np.float64
        )
        self.w2 = mlp.coefs_[1][:, 0].astype(np.float64)
        self.b2 = float(mlp.intercepts_[1][0])

    def proba(self, dz: np.ndarray) -> np.ndarray | float:
        """P(increase) of one pair delta (D,) -> float, or of (P, D) -> (P,)."""
        h = np.maximum(np.asarray(dz, dtype=np.float64) @ self.w1 + self.b1, 0.0)
        logit = h @ self.w2 + self.b2
        out = 1.0 / (1.0 + np.exp(-logit))
        return float(out) if np.ndim(out) == 0 else out
