"""One cell of the LaScA protocol (:mod:`affect_lib.experiments.lasca_protocol`): its
key columns (:class:`Cell`), the fit it runs (:class:`Fit`, :func:`fit_cell`) and its
result (:class:`Score`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from affect_lib.lasca.preference import (
    fit_preference,
    pairwise_accuracy,
    trainable_parameters,
)

__all__ = ["MIN_TRAIN_PAIRS", "Cell", "Score", "Fit", "fit_cell"]

# 20 rows once symmetrised: early stopping's 10 % split still holds both classes
MIN_TRAIN_PAIRS = 10


class Cell(NamedTuple):
    """One cell of the grid for one seed: the key columns of the protocol's table."""

    window_s: float
    tau: float
    target: str
    variant: str
    encoder: str  # "none" for a variant without text, as lexicon and mode
    lexicon: str
    mode: str
    seed: int


class Score(NamedTuple):
    """A cell's result: the table's other columns."""

    n_train_pairs: int
    n_test_pairs: int
    accuracy: float  # NaN when not fitted
    n_iter: int
    note: str  # why the cell was not fitted; "" when it was


@dataclass(frozen=True, eq=False)
class Fit:
    """One fit to run: its cell, pair deltas (P, D), labels (P,) 0/1, training and
    test pairs (P,) bool."""

    cell: Cell
    deltas: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray


def fit_cell(fit: Fit, hyper: Mapping[str, Any]) -> tuple[Score, int | None]:
    """Fit on the train pairs, score on the others -> (score, trainable parameters;
    None when not fitted)."""
    train, test = fit.train, fit.test
    n_train, n_test = int(train.sum()), int(test.sum())
    if n_train < MIN_TRAIN_PAIRS or n_test == 0:
        note = (
            f"not fitted: {n_train} train / {n_test} test pairs (needs >= "
            f"{MIN_TRAIN_PAIRS} / 1)"
        )
        return Score(n_train, n_test, float("nan"), 0, note), None
    model = fit_preference(
        fit.deltas[train], fit.labels[train], seed=fit.cell.seed, **hyper
    )
    accuracy = pairwise_accuracy(model, fit.deltas[test], fit.labels[test])
    n_iter = int(model.named_steps["mlp"].n_iter_)
    return Score(n_train, n_test, accuracy, n_iter, ""), trainable_parameters(model)
