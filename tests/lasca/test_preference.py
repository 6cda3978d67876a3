"""The preference MLP (separable vs shuffled problems), its early stopping and its numpy
scorer."""

from __future__ import annotations

import numpy as np
import pytest

from affect_lib.lasca.pairs import symmetrise
from affect_lib.lasca.preference import (
    PairScorer,
    fit_preference,
    pairwise_accuracy,
    predict_direction,
    trainable_parameters,
    validation_split,
)


def _problem(n: int, d: int, seed: int, shuffle: bool = False):
    rng = np.random.default_rng(seed)
    dZ = rng.normal(size=(n, d)).astype(np.float32)
    label = (dZ[:, :3].sum(1) > 0).astype(np.int64)
    if shuffle:
        label = rng.permutation(label)
    return dZ, label


def test_learner_separates_a_separable_problem():
    dZ, y = _problem(1200, 20, 0)
    model = fit_preference(dZ[:1000], y[:1000], hidden=32, seed=0)
    assert pairwise_accuracy(model, dZ[1000:], y[1000:]) > 0.9


def test_small_batches_train_where_large_ones_stay_at_the_start():
    # 200 pairs: 200-row batches are 2 Adam steps per epoch, 50 in 25 epochs, and the
    # MLP barely moves from its initialisation; 8-row batches (the default) learn the
    # problem (measured 0.43-0.53 vs 0.86-0.87)
    dZ, y = _problem(600, 20, 0)
    acc = {
        bs: np.mean(
            [
                pairwise_accuracy(
                    fit_preference(dZ[:200], y[:200], hidden=32, seed=s, batch_size=bs),
                    dZ[200:],
                    y[200:],
                )
                for s in range(3)
            ]
        )
        for bs in (200, 8)
    }
    assert acc[8] > 0.85 and acc[200] < 0.65, acc
    with pytest.raises(ValueError, match="batch_size"):
        fit_preference(dZ[:200], y[:200], batch_size=0)


def test_learner_is_at_chance_on_shuffled_labels():
    accs = []
    for seed in range(3):
        dZ, y = _problem(600, 40, seed, shuffle=True)
        model = fit_preference(dZ[:400], y[:400], hidden=32, seed=seed)
        accs.append(pairwise_accuracy(model, dZ[400:], y[400:]))
    assert abs(np.mean(accs) - 0.5) < 0.08


def test_learner_is_deterministic_and_counts_parameters():
    dZ, y = _problem(200, 12, 1)
    a = fit_preference(dZ, y, hidden=16, seed=3)
    b = fit_preference(dZ, y, hidden=16, seed=3)
    np.testing.assert_array_equal(predict_direction(a, dZ), predict_direction(b, dZ))
    assert trainable_parameters(a) == 12 * 16 + 16 + 16 + 1
    mlp = a.named_steps["mlp"]
    assert mlp.alpha == 1.0 and mlp.max_iter == 25 and mlp.batch_size == 8
    assert 1 <= mlp.n_iter_ <= 25 and mlp.n_iter_ == len(mlp.validation_scores_)


def test_fit_preference_keeps_the_results_of_scikit_learns_mlp():
    # the learner as it was before AdamMLP: MLPClassifier.partial_fit epoch by epoch,
    # early stopping on the held-out pairs; chapter 5's stored numbers were computed
    # with it
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    dZ, y = _problem(150, 20, 4)
    for seed, batch in ((0, 8), (1, 32)):
        fit, val = validation_split(len(y), 0.1, seed)
        (X, yf), (Xv, yv) = [symmetrise(dZ[i], y[i]) for i in (fit, val)]
        scaler = StandardScaler().fit(X)
        X, Xv = scaler.transform(X), scaler.transform(Xv)
        mlp = MLPClassifier(
            hidden_layer_sizes=(64,),
            alpha=1.0,
            batch_size=batch,
            random_state=np.random.RandomState(seed),
        )
        scores, best, since, kept = [], -np.inf, 0, None
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(25):
                mlp.partial_fit(X, yf, classes=np.array([0, 1]))
                scores.append(float(np.mean(mlp.predict(Xv) == yv)))
                if scores[-1] > best + 1e-4:
                    best, since, kept = (
                        scores[-1],
                        0,
                        [w.copy() for w in mlp.coefs_ + mlp.intercepts_],
                    )
                else:
                    since += 1
                    if since >= 3:
                        break
        ours = fit_preference(
            dZ, y, hidden=64, batch_size=batch, seed=seed
        ).named_steps["mlp"]
        assert ours.validation_scores_ == scores
        for a, b in zip(kept, ours.coefs_ + ours.intercepts_, strict=True):
            np.testing.assert_array_equal(a, b)


def test_validation_split_is_disjoint_and_deterministic():
    fit, val = validation_split(95, 0.1, seed=4)
    assert len(val) == 10 and len(fit) == 85 and not set(fit) & set(val)
    np.testing.assert_array_equal(np.sort(np.concatenate([fit, val])), np.arange(95))
    np.testing.assert_array_equal(val, validation_split(95, 0.1, seed=4)[1])
    assert not np.array_equal(val, validation_split(95, 0.1, seed=5)[1])
    assert len(validation_split(10, 0.1, seed=0)[1]) == 1
    with pytest.raises(ValueError, match="validation share"):
        validation_split(10, 0.0, seed=0)


def test_early_stopping_holds_out_pairs_with_their_mirrors_and_keeps_the_best_epoch():
    dZ, y = _problem(300, 10, 3)
    model = fit_preference(dZ, y, hidden=16, seed=2)
    mlp = model.named_steps["mlp"]
    val = mlp.validation_pairs_
    assert len(val) == 30 and mlp.n_iter_ == len(mlp.validation_scores_)
    # trained on the other pairs only
    assert model.named_steps["scale"].n_samples_seen_ == 2 * (300 - 30)
    # the score it stopped on is the held-out pairs' accuracy, both orientations, of the
    # kept weights
    both = np.concatenate([dZ[val], -dZ[val]])
    labels = np.concatenate([y[val], 1 - y[val]])
    assert pairwise_accuracy(model, both, labels) == pytest.approx(
        mlp.best_validation_score_
    )
    assert mlp.best_validation_score_ == max(mlp.validation_scores_)
    # stopped early: 3 epochs without improvement after the best one, or ran out of
    # epochs
    best = int(np.argmax(mlp.validation_scores_))
    assert mlp.n_iter_ == 25 or mlp.n_iter_ - 1 - best == 3


def test_non_finite_deltas_are_a_clear_error():
    dZ, y = _problem(40, 4, 0)
    dZ[7, 2] = np.nan
    with pytest.raises(ValueError, match="pair 7, dimension 2"):
        fit_preference(dZ, y)


@pytest.mark.parametrize(
    "labels,shown", [(0.9, "0.9"), (-1, "-1"), (2, "2"), ("up", "<U2")]
)
def test_labels_other_than_zero_or_one_are_a_clear_error(labels, shown):
    dZ, y = _problem(40, 4, 0)
    bad = (
        np.where(y == 1, labels, 0)
        if not isinstance(labels, str)
        else np.full(len(y), labels)
    )
    with pytest.raises(ValueError, match=f"labels must be 0 or 1.*{shown}"):
        fit_preference(dZ, bad)


def test_symmetrised_learner_has_no_base_rate_to_exploit():
    # every training pair goes up; an unsymmetrised learner would predict "up" for
    # everything
    rng = np.random.default_rng(0)
    dZ = rng.normal(size=(800, 5)).astype(np.float32)
    dZ[:, 0] = 1 + np.abs(dZ[:, 0])
    model = fit_preference(dZ, np.ones(800, np.int64), hidden=16, seed=0)
    down = rng.normal(size=(100, 5)).astype(np.float32)
    down[:, 0] = -1 - np.abs(down[:, 0])
    # unsymmetrised: 0
    assert pairwise_accuracy(model, down, np.zeros(100, np.int64)) > 0.8


def test_too_few_pairs_is_a_clear_error():
    with pytest.raises(ValueError, match="needs >= 10 training pairs"):
        fit_preference(np.ones((3, 2), np.float32), np.array([1, 0, 1]))
    assert np.isnan(pairwise_accuracy(None, np.zeros((0, 2)), np.zeros(0)))


def test_pair_scorer_matches_the_pipeline():
    dZ, y = _problem(300, 30, 2)
    model = fit_preference(dZ, y, hidden=16, seed=0)
    scorer = PairScorer(model)
    expected = model.predict_proba(dZ)[:, 1]
    np.testing.assert_allclose(scorer.proba(dZ), expected, rtol=1e-5, atol=1e-6)
    assert isinstance(scorer.proba(dZ[0]), float)
    np.testing.assert_array_equal(
        scorer.proba(dZ) > 0.5, predict_direction(model, dZ) == 1
    )
