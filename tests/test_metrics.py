import numpy as np
import pytest
from sklearn import metrics as skm

from affect_lib.eval.metrics import (
    accuracy,
    balanced_accuracy,
    f1_scores,
    macro_f1,
    mosei_weighted_accuracy,
    weighted_f1,
)


def test_weighted_accuracy_golden_value():
    # P = 2 positives, N = 3 negatives, TP = 1, TN = 2: WA = (1*3/2 + 2) / 6 = 0.58333...
    truth = np.array([1.0, 2 / 3, 0, 0, 0])
    pred = np.array([0.9, 0.0, 0.0, 0.5, 0.0])
    assert mosei_weighted_accuracy(truth, pred) == pytest.approx(3.5 / 6)


def test_weighted_accuracy_perfect_and_inverted():
    truth = np.array([1, 0, 0, 0, 1.0])
    assert mosei_weighted_accuracy(truth, truth) == 1.0
    assert mosei_weighted_accuracy(truth, 1 - truth) == 0.0
    with pytest.raises(ValueError, match="positives and negatives"):
        mosei_weighted_accuracy(np.ones(3), np.ones(3))


def test_against_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 6, 500), rng.integers(0, 6, 500)
    p[:200] = y[:200]
    assert accuracy(y, p) == pytest.approx(skm.accuracy_score(y, p))
    assert balanced_accuracy(y, p) == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert macro_f1(y, p, 6) == pytest.approx(skm.f1_score(y, p, average="macro"))
    assert weighted_f1(y, p, 6) == pytest.approx(skm.f1_score(y, p, average="weighted"))


def test_f1_of_absent_class_is_zero_and_shapes_checked():
    assert f1_scores(np.array([0, 0]), np.array([0, 0]), 3).tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        accuracy(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        accuracy(np.zeros(0), np.zeros(0))
