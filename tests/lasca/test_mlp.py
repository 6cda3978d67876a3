"""AdamMLP: scikit-learn's Adam MLP bit for bit, epoch by epoch; seeding; fit; bad
input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from affect_lib.lasca.mlp import AdamMLP


def _problem(
    n: int, d: int, seed: int, dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    return X, (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(np.int64)


def _weights(mlp) -> list[np.ndarray]:
    return [w.copy() for w in mlp.coefs_ + mlp.intercepts_]


@pytest.mark.parametrize(
    ("n", "d", "hidden", "batch", "dtype", "settings"),
    [
        # chapter 5's fusion input at the book's batch
        (
            230,
            457,
            256,
            8,
            np.float32,
            {},
        ),
        # features only; 230 = 7 x 32 + 6: a short last batch
        (
            230,
            73,
            256,
            32,
            np.float32,
            {},
        ),
        # batch larger than the data: one full batch per epoch
        (
            61,
            12,
            16,
            200,
            np.float32,
            {},
        ),
        (50, 10, 8, 7, np.float32, {"alpha": 0.0}),  # no L2 penalty
        # float64 weights follow float64 input, as in scikit-learn
        (
            40,
            6,
            5,
            8,
            np.float64,
            {"alpha": 0.3},
        ),
        (
            37,
            5,
            1,
            1,
            np.float32,
            {
                "learning_rate_init": 0.05,
                "beta_1": 0.8,
                "beta_2": 0.99,
                "epsilon": 1e-6,
            },
        ),
    ],
)
def test_weights_equal_scikit_learns_after_every_epoch(
    n, d, hidden, batch, dtype, settings
):
    X, y = _problem(n, d, seed=d, dtype=dtype)
    sk = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        batch_size=min(batch, n),
        random_state=np.random.RandomState(5),
        **{"alpha": 1.0, **settings},
    )
    ours = AdamMLP(hidden, batch_size=batch, random_state=5, **settings)
    with threadpool_limits(limits=1, user_api="blas"):  # as fit_preference trains
        for epoch in range(6):
            sk.partial_fit(X, y, classes=np.array([0, 1]))
            ours.partial_fit(X, y)
            for a, b in zip(_weights(sk), _weights(ours), strict=True):
                assert a.dtype == b.dtype == dtype
                np.testing.assert_array_equal(a, b, err_msg=f"epoch {epoch + 1}")
        np.testing.assert_array_equal(sk.predict_proba(X), ours.predict_proba(X))
        np.testing.assert_array_equal(sk.predict(X), ours.predict(X))
    assert ours.n_iter_ == 6 and ours.t_ == 6 * -(-n // min(batch, n))


def test_an_int_seed_draws_a_new_batch_order_every_epoch():
    # scikit-learn re-seeds from an int random_state at every partial_fit call, so its
    # epochs after the first repeat one batch order; AdamMLP seeds once, as scikit-learn
    # does with a RandomState
    X, y = _problem(80, 5, 2)
    ours = AdamMLP(8, random_state=3)
    reseeded = MLPClassifier(
        hidden_layer_sizes=(8,), alpha=1.0, batch_size=8, random_state=3
    )
    once = MLPClassifier(
        hidden_layer_sizes=(8,),
        alpha=1.0,
        batch_size=8,
        random_state=np.random.RandomState(3),
    )
    for _ in range(3):
        for mlp in (once, reseeded):
            mlp.partial_fit(X, y, classes=np.array([0, 1]))
        ours.partial_fit(X, y)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(_weights(once), _weights(ours), strict=True)
    )
    assert not all(
        np.array_equal(a, b)
        for a, b in zip(_weights(reseeded), _weights(ours), strict=True)
    )


def test_fit_runs_max_iter_epochs_from_fresh_weights_and_works_in_a_pipeline():
    X, y = _problem(120, 6, 1)
    stepwise = AdamMLP(16, max_iter=4, random_state=0)
    for _ in range(4):
        stepwise.partial_fit(X, y)
    fitted = AdamMLP(16, max_iter=4, random_state=0).fit(X, y)
    again = fitted.fit(X, y)  # a second fit starts over
    for a, b in zip(_weights(stepwise), _weights(again), strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.n_iter_ == 4 and again.classes_.tolist() == [0, 1]
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", AdamMLP(16, alpha=1e-4, max_iter=30, random_state=0)),
        ]
    ).fit(X, y)
    assert model.score(X, y) > 0.8  # a learnable problem is learnt
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), (proba[:, 1] > 0.5).astype(int))


def test_a_pickled_model_resumes_where_it_stopped():
    X, y = _problem(60, 4, 3)
    a = AdamMLP(8, random_state=1).partial_fit(X, y)
    b = pickle.loads(pickle.dumps(a))  # as joblib ships it to a worker
    for mlp in (a, b):
        mlp.partial_fit(X, y)
    for u, v in zip(_weights(a), _weights(b), strict=True):
        np.testing.assert_array_equal(u, v)


def test_bad_input_is_a_clear_error():
    X, y = _problem(30, 4, 0)
    mlp = AdamMLP(4, random_state=0)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        mlp.partial_fit(bad, y)
    with pytest.raises(ValueError, match=r"labels 0 or 1"):
        mlp.partial_fit(X, y * 2)
    with pytest.raises(ValueError, match=r"labels 0 or 1"):
        mlp.partial_fit(X, y[:-1])
    with pytest.raises(ValueError, match="batch_size"):
        AdamMLP(4, batch_size=0).partial_fit(X, y)
    with pytest.raises(ValueError, match="hidden"):
        AdamMLP(0).partial_fit(X, y)
    with pytest.raises(NotFittedError):
        mlp.predict(X)
    mlp.partial_fit(X, y)
    with pytest.raises(ValueError, match="float64, the weights float32"):
        mlp.partial_fit(X.astype(np.float64), y)
    with pytest.raises(ValueError, match="non-finite"), np.errstate(all="ignore"):
        AdamMLP(4, learning_rate_init=1e300, random_state=0).partial_fit(X, y)
    with pytest.raises(ValueError, match=r"X must be \(N, 4\)"):
        mlp.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"X must be"):
        mlp.predict(X[0])
