"""Otsu saliency: golden values from a brute-force Otsu, bimodal data, edge cases,
properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from affect_lib.lasca.saliency import (
    normalise,
    otsu_threshold,
    otsu_thresholds,
    salient_mask,
    standardise,
)


def brute_force_otsu(values: np.ndarray, nbins: int = 256) -> tuple[float, np.ndarray]:
    """Textbook Otsu, one split at a time (skimage's definition: np.histogram over [min,
    max], bin centres, maximise w0 * w1 * (mu0 - mu1)^2; the first of (numerically) tied
    maxima wins).

    Returns (threshold, upper-class mask of ``values``).
    """
    finite = ~np.isnan(values)
    v = values[finite]
    if v.min() == v.max():
        return float(v.min()), np.zeros(values.shape, bool)
    hist, edges = np.histogram(v, bins=nbins, range=(v.min(), v.max()))
    centres = (edges[:-1] + edges[1:]) / 2
    best, split = -1.0, None
    for k in range(nbins - 1):
        w0, w1 = hist[: k + 1].sum(), hist[k + 1 :].sum()
        mu0 = (hist[: k + 1] * centres[: k + 1]).sum() / w0
        mu1 = (hist[k + 1 :] * centres[k + 1 :]).sum() / w1
        between = w0 * w1 * (mu0 - mu1) ** 2
        if between > best * (1 + 1e-12):
            best, split = between, k
    bins = np.zeros(values.shape, int)
    # np.histogram's bins
    bins[finite] = np.minimum(np.searchsorted(edges, v, side="right") - 1, nbins - 1)
    return float(centres[split]), finite & (bins > split)


def test_bimodal_threshold_lies_between_the_modes():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 0.5, 300), rng.normal(10, 0.5, 200)])
    thr = otsu_threshold(values)
    width = (values.max() - values.min()) / 256
    # skimage: first split of the gap
    assert values[:300].max() - width < thr < values[300:].min()
    mask = salient_mask(values[None])[0]
    assert mask[300:].all() and not mask[:300].any()


@pytest.mark.parametrize(
    "scale,nbins", [(1.0, 256), (1e-4, 256), (1e4, 256), (1.0, 16)]
)
def test_golden_against_brute_force(scale, nbins):
    rng = np.random.default_rng(int(np.log10(scale)) + nbins)
    V = rng.normal(size=(300, 73)) * scale
    V[::5, ::7] = np.nan
    V[3] = np.round(V[3], 0)  # ties and empty bins
    golden = [brute_force_otsu(v, nbins) for v in V]
    assert np.array_equal(otsu_thresholds(V, nbins), [t for t, _ in golden])
    assert np.array_equal(salient_mask(V, nbins), [m for _, m in golden])


def test_salient_is_the_upper_otsu_class_not_above_the_bin_centre():
    # 0.9 is the lower class's largest value; it sits in the upper half of the
    # threshold's bin, so skimage's `values > threshold` would call it salient. The
    # upper class is {9, 10}.
    values = np.array([0.0, 0.2, 0.5, 0.9, 9.0, 10.0])
    thr = otsu_threshold(values, nbins=10)
    assert thr == 0.5 and 0.9 > thr
    assert salient_mask(values, nbins=10).tolist() == [False] * 4 + [True] * 2


def test_one_row_path_equals_the_batched_path():
    V = np.random.default_rng(3).standard_t(3, size=(400, 73))
    assert np.array_equal([otsu_threshold(v) for v in V], otsu_thresholds(V))
    assert np.array_equal(
        [brute_force_otsu(v)[0] for v in V[:50]], otsu_thresholds(V[:50])
    )
    assert all(
        np.array_equal(salient_mask(v), m)
        for v, m in zip(V, salient_mask(V), strict=True)
    )


def test_constant_and_nan_windows_have_no_salient_feature():
    Z = np.zeros((4, 73))
    Z[1] = 2.5
    Z[2] = np.nan
    Z[3, :] = np.nan
    Z[3, 10] = 1.0  # a single finite value: nothing to split
    mask = salient_mask(Z)
    assert mask.dtype == bool and not mask.any()
    thr = otsu_thresholds(Z)
    assert thr[0] == 0 and thr[1] == 2.5 and np.isnan(thr[2]) and thr[3] == 1.0


def test_nan_values_are_ignored_not_salient():
    z = np.array([0.0, 0.1, np.nan, 5.0, 5.1, np.nan, 0.2])
    assert salient_mask(z).tolist() == [False, False, False, True, True, False, False]


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="infinite"):
        salient_mask(np.array([[0.0, np.inf, 1.0]]))
    with pytest.raises(ValueError, match="no values"):
        otsu_threshold(np.array([]))
    with pytest.raises(ValueError, match="nbins"):
        otsu_threshold(np.arange(5.0), nbins=1)


def test_normalise_is_a_per_video_z_score():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 73))
    groups = np.repeat(["a", "b", "c"], 10)
    # another person: other baseline and scale
    X[groups == "b"] = X[groups == "b"] * 7 + 100
    X[:, 5] = 0.4  # a feature constant in every video
    Z = normalise(X, groups)
    assert Z.dtype == np.float32 and not np.isnan(Z).any()
    for g in "abc":
        rows = Z[groups == g]
        np.testing.assert_allclose(rows.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(np.delete(rows.std(0), 5), 1, atol=1e-4)
    assert (Z[:, 5] == 0).all()
    np.testing.assert_allclose(
        Z[groups == "b"], normalise(X[groups == "b"], groups[groups == "b"]), atol=1e-5
    )


def test_standardise_keeps_nan_and_zeroes_constant_features():
    z = standardise(
        np.array([1.0, np.nan, 3.0]),
        np.array([0.0, 0.0, 3.0]),
        np.array([2.0, 1.0, 0.0]),
    )
    assert z[0] == 0.5 and np.isnan(z[1]) and z[2] == 0


_shape = st.tuples(st.integers(1, 6), st.integers(2, 80))
rows = arrays(
    np.float64,
    _shape,
    elements=st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), st.just(np.nan)
    ),
)
# multiples of 1/64: scaling by 2**k (|k| <= 4) is exact, far from under- and overflow
dyadic_rows = arrays(
    np.float64,
    _shape,
    elements=st.one_of(
        st.integers(-(10**6), 10**6).map(lambda i: i / 64), st.just(np.nan)
    ),
)


@settings(max_examples=150, deadline=None)
@given(rows)
def test_property_mask_separates_high_from_low(V):
    mask = salient_mask(V)
    assert mask.shape == V.shape and mask.dtype == bool
    assert not (mask & np.isnan(V)).any()
    for v, m in zip(V, mask, strict=True):
        if m.any():  # every salient value exceeds every non-salient finite value
            rest = v[~m & ~np.isnan(v)]
            assert rest.size and v[m].min() > rest.max()


@settings(max_examples=100, deadline=None)
@given(dyadic_rows, st.integers(-4, 4), st.randoms(use_true_random=False))
def test_property_invariant_to_power_of_two_scaling_and_feature_order(V, k, rnd):
    mask = salient_mask(V)
    assert np.array_equal(salient_mask(V * 2.0**k), mask)  # exact in floating point
    perm = list(range(V.shape[1]))
    rnd.shuffle(perm)
    assert np.array_equal(salient_mask(V[:, perm]), mask[:, perm])
