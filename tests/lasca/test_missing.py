"""Missing feature channels: which go missing, imputation, and Otsu ignoring NaN."""

from __future__ import annotations

import numpy as np
import pytest

from affect_lib.lasca.missing import channel_means, impute, missing_channels
from affect_lib.lasca.saliency import normalise, salient_mask

VIDEO = np.repeat(["a", "b", "c"], [4, 5, 3])


@pytest.mark.parametrize(("fraction", "k"), [(0.0, 0), (0.3, 22), (0.5, 36)])
def test_a_share_of_the_channels_per_video(fraction, k):
    missing = missing_channels(VIDEO, fraction, seed=1)
    assert missing.shape == (12, 73)
    for vid in "abc":
        rows = missing[VIDEO == vid]
        assert (rows == rows[0]).all() and rows[0].sum() == k  # the whole video
    np.testing.assert_array_equal(missing, missing_channels(VIDEO, fraction, seed=1))
    # a video's channels do not depend on the other videos present
    np.testing.assert_array_equal(
        missing_channels(VIDEO[VIDEO == "b"], fraction, seed=1), missing[VIDEO == "b"]
    )
    if k:
        assert not (missing[0] == missing[4]).all()  # videos differ
        assert not (missing_channels(VIDEO, fraction, seed=2) == missing).all()


@pytest.mark.parametrize("bad", [1.0, -0.1, float("nan"), 1.5, "0.3"])
def test_a_fraction_outside_zero_one_is_refused(bad):
    with pytest.raises(
        ValueError, match=r"missing_channels: fraction must be .* \[0, 1\)"
    ):
        missing_channels(VIDEO, bad, seed=0)


def test_imputation_uses_the_training_means():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 73)).astype(np.float32)
    train = VIDEO != "c"
    fill = channel_means(X, train)
    np.testing.assert_allclose(fill, X[train].astype(np.float64).mean(axis=0))
    missing = missing_channels(VIDEO, 0.5, seed=3) & (VIDEO == "c")[:, None]
    out = impute(X, missing, fill)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(out[~missing], X[~missing])
    np.testing.assert_allclose(
        out[missing], np.broadcast_to(fill, X.shape)[missing], rtol=1e-6
    )
    # within a video the filled channel is constant: a pair's delta there is 0
    c = out[VIDEO == "c"]
    assert (np.diff(c[:, missing[-1]], axis=0) == 0).all()
    with pytest.raises(ValueError, match="at least one True"):
        channel_means(X, np.zeros(12, bool))
    with pytest.raises(ValueError, match="training windows hold NaN"):
        channel_means(np.where(missing, np.nan, X), np.ones(12, bool))
    with pytest.raises(ValueError, match="do not match"):
        impute(X, missing[:, :5], fill)
    with pytest.raises(ValueError, match="fill values must be finite"):
        impute(X, missing, np.full(73, np.nan))


def test_otsu_saliency_ignores_missing_channels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 73))
    missing = missing_channels(VIDEO, 0.3, seed=5)
    z = normalise(np.where(missing, np.nan, X), VIDEO)
    assert np.isnan(z[missing]).all() and np.isfinite(z[~missing]).all()
    masks = salient_mask(z)
    assert not masks[missing].any()
    # the mask of the channels present is the mask computed without the others
    for i in range(12):
        present = ~missing[i]
        np.testing.assert_array_equal(masks[i, present], salient_mask(z[i, present]))
