"""Classification metrics of the book, in numpy (no hidden state, golden-value tested).

MOSEI convention (REFERENCE.md): per emotion, truth and prediction are binarised with
``> 0`` and scored with weighted accuracy ``WA = (TP·N/P + TN) / (2N)`` (P positives, N
negatives) and weighted F1 (the F1 of "present" and of "absent", averaged with their
supports as weights, as ``sklearn.metrics.f1_score(average="weighted")`` computes it on
the binarised arrays).

``auroc`` is the rank (Mann-Whitney) form of the area under the ROC curve, ties counted
as half.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "f1_scores",
    "macro_f1",
    "weighted_f1",
    "mosei_weighted_accuracy",
    "mosei_weighted_f1",
    "auroc",
]


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"metrics: y_true {y_true.shape} and y_pred {y_pred.shape} must be equal "
            f"1-D shapes"
        )
    if y_true.size == 0:
        raise ValueError("metrics: empty input")
    return y_true, y_pred


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y_true``."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(
        np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)])
    )


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes,) one-vs-rest F1; 0 where a class is neither true nor predicted."""
    y_true, y_pred = _check(y_true, y_pred)
    out = np.zeros(n_classes)
    for c in range(n_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        denom = np.sum(y_pred == c) + np.sum(y_true == c)
        out[c] = 2 * tp / denom if denom else 0.0
    return out


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    return float(np.mean(f1_scores(y_true, y_pred, n_classes)))


def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """F1 averaged with weights = class support in ``y_true``."""
    support = np.bincount(np.asarray(y_true), minlength=n_classes)
    return float(np.sum(f1_scores(y_true, y_pred, n_classes) * support) / support.sum())


def _presence(
    truth: np.ndarray, pred: np.ndarray, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Binarise one emotion's intensities/scores with > 0; both classes must occur in
    the truth."""
    truth, pred = np.asarray(truth, dtype=float), np.asarray(pred, dtype=float)
    if not (np.isfinite(truth).all() and np.isfinite(pred).all()):
        raise ValueError(f"{what}: truth and pred must be finite (NaN/inf found)")
    t, p = _check(truth > 0, pred > 0)
    pos, neg = int(t.sum()), int((~t).sum())
    if pos == 0 or neg == 0:
        raise ValueError(f"{what} needs positives and negatives, got P={pos}, N={neg}")
    return t, p


def mosei_weighted_accuracy(truth: np.ndarray, pred: np.ndarray) -> float:
    """WA of one emotion: ``truth``/``pred`` (N,) are intensities or scores, present
    when > 0."""
    t, p = _presence(truth, pred, "weighted accuracy")
    pos, neg = int(t.sum()), int((~t).sum())
    tp, tn = int(np.sum(t & p)), int(np.sum(~t & ~p))
    return (tp * neg / pos + tn) / (2 * neg)


def mosei_weighted_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """Weighted F1 of one emotion: ``truth``/``pred`` (N,) intensities or scores,
    present when > 0."""
    t, p = _presence(truth, pred, "weighted F1")
    return weighted_f1(t.astype(int), p.astype(int), 2)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (N,) for the boolean ``positive`` (N,):
    the chance that a random positive outscores a random negative, ties counting one
    half. NaN when a class is absent."""
    scores, positive = np.asarray(scores, dtype=float), np.asarray(positive)
    if scores.shape != positive.shape or scores.ndim != 1:
        raise ValueError(
            f"auroc: scores {scores.shape} and positive {positive.shape} must be "
            f"equal 1-D shapes"
        )
    if positive.dtype != bool:
        raise ValueError(f"auroc: positive must be boolean, got {positive.dtype}")
    if not np.isfinite(scores).all():
        raise ValueError("auroc: scores must be finite (NaN/inf found)")
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = scipy.stats.rankdata(scores)  # average ranks: ties count one half
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
