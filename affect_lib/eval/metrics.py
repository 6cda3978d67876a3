"""Classification metrics of the book, in numpy (no hidden state, golden-value tested).

MOSEI convention (REFERENCE.md): per emotion, truth and prediction are binarised with ``> 0`` and
scored with weighted accuracy ``WA = (TP·N/P + TN) / (2N)`` (P positives, N negatives).
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "balanced_accuracy", "f1_scores", "macro_f1", "weighted_f1", "mosei_weighted_accuracy"]


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"metrics: y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-D shapes")
    if y_true.size == 0:
        raise ValueError("metrics: empty input")
    return y_true, y_pred


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y_true``."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


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


def mosei_weighted_accuracy(truth: np.ndarray, pred: np.ndarray) -> float:
    """WA of one emotion: ``truth``/``pred`` are intensities or scores, present when > 0."""
    t, p = _check(np.asarray(truth) > 0, np.asarray(pred) > 0)
    pos, neg = int(t.sum()), int((~t).sum())
    if pos == 0 or neg == 0:
        raise ValueError(f"weighted accuracy needs positives and negatives, got P={pos}, N={neg}")
    tp, tn = int(np.sum(t & p)), int(np.sum(~t & ~p))
    return (tp * neg / pos + tn) / (2 * neg)
