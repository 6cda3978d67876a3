import numpy as np
import pytest
from sklearn import metrics as skm

from affect_lib.eval.explanations import influence_auroc
from affect_lib.eval.metrics import (
    accuracy,
    auroc,
    balanced_accuracy,
    f1_scores,
    macro_f1,
    mosei_weighted_accuracy,
    mosei_weighted_f1,
    weighted_f1,
)


def test_weighted_accuracy_golden_value():
    # P = 2 positives, N = 3 negatives, TP = 1, TN = 2: WA = (1*3/2 + 2) / 6 =
    # 0.58333...
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


def test_mosei_weighted_f1_golden_value_and_sklearn():
    # Same arrays as the WA golden value: present P = 2 (TP 1, FP 1, FN 1) -> F1 1/2;
    # absent N = 3 (TN 2, FN 1, FP 1) -> F1 2/3; weighted (2·1/2 + 3·2/3) / 5 = 0.6.
    truth = np.array([1.0, 2 / 3, 0, 0, 0])
    pred = np.array([0.9, 0.0, 0.0, 0.5, 0.0])
    assert mosei_weighted_f1(truth, pred) == pytest.approx(0.6)
    rng = np.random.default_rng(1)
    t, p = rng.integers(0, 4, 300) / 3, rng.normal(size=300)
    assert mosei_weighted_f1(t, p) == pytest.approx(
        skm.f1_score(t > 0, p > 0, average="weighted")
    )


def test_presence_metrics_refuse_nan_and_one_class_truth():
    with pytest.raises(ValueError, match="weighted F1: truth and pred must be finite"):
        mosei_weighted_f1(np.array([1.0, 0.0]), np.array([np.nan, 1.0]))
    with pytest.raises(
        ValueError, match="weighted accuracy: truth and pred must be finite"
    ):
        mosei_weighted_accuracy(np.array([1.0, np.inf]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="positives and negatives"):
        mosei_weighted_f1(np.zeros(4), np.ones(4))


def test_auroc_golden_values_and_sklearn():
    assert auroc(
        np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True])
    ) == pytest.approx(0.75)
    assert auroc(np.array([3.0, 2.0, 1.0]), np.array([True, False, False])) == 1.0
    # all ties: chance
    assert auroc(np.full(6, 0.3), np.array([True, False] * 3)) == 0.5
    assert np.isnan(auroc(np.arange(3.0), np.zeros(3, bool)))
    rng = np.random.default_rng(2)
    s, y = rng.normal(size=400).round(1), rng.random(400) < 0.2  # rounded: many ties
    assert auroc(s, y) == pytest.approx(skm.roc_auc_score(y, s))


def test_auroc_refuses_bad_input():
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        auroc(np.zeros(3), np.zeros(4, bool))
    with pytest.raises(ValueError, match="must be boolean"):
        auroc(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="finite"):
        auroc(np.array([0.0, np.nan]), np.array([True, False]))


def test_influence_auroc_per_modality_and_unknown_drivers_left_out():
    influence = np.array(
        [
            [0.6, 0.2, 0.2],
            [0.5, 0.3, 0.2],
            [0.2, 0.7, 0.1],
            [0.3, 0.4, 0.3],
            [0.9, 0.05, 0.05],
        ]
    )
    # the last row has no known driver: it must not count
    driver = np.array([0, 0, 1, 1, -1])
    out = influence_auroc(influence, driver)
    assert out["text"] == 1.0 and out["audio"] == 1.0
    assert np.isnan(out["video"])  # video drives no utterance: undefined, not 0 or 0.5
    assert out["mean"] == 1.0
    uniform = influence_auroc(np.full((4, 3), 1 / 3), np.array([0, 1, 2, 0]))
    assert uniform["mean"] == 0.5
    assert np.isnan(influence_auroc(influence, np.full(5, -1))["mean"])
    with pytest.raises(ValueError, match=r"influence \(N, 3\)"):
        influence_auroc(influence[:, :2], driver)
    with pytest.raises(ValueError, match="modality index"):
        influence_auroc(influence, np.array([0, 0, 1, 3, -1]))
