"""CMU-MOSEI alignment kernel: the CMU-MultimodalSDK's interval semantics."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sdk_reference import sdk_intersect

from affect_lib.data.mosei.align import (
    EPSILON,
    align_to_reference,
    collapse_mean,
    overlap_pairs,
    pad_last,
)


@given(st.integers(0, 2**32 - 1), st.integers(0, 12), st.integers(0, 30), st.booleans())
@settings(max_examples=50, deadline=None)
def test_overlap_pairs_match_the_sdk(seed, m, n, on_grid):
    rng = np.random.default_rng(seed)

    def intervals(k):  # on a coarse grid, many exact touches and zero-length intervals
        a = rng.integers(0, 10, (k, 2)) * 0.5 if on_grid else rng.uniform(0, 5, (k, 2))
        return np.sort(a, axis=1)

    ref, sub = intervals(m), intervals(n)
    p = overlap_pairs(ref, sub)
    got = list(
        zip(
            p.ref.tolist(),
            p.sub.tolist(),
            p.clipped[:, 0].tolist(),
            p.clipped[:, 1].tolist(),
            strict=True,
        )
    )
    assert got == sdk_intersect(ref, sub)


def test_align_to_reference_keys_and_collapse():
    sub_i = np.array([[0, 0.1], [0.1, 0.2], [0.2, 0.3], [0.3, 0.4]])
    sub_f = np.arange(4, dtype=np.float32)[:, None]
    ref = np.array([[0.0, 0.2], [0.2, 0.2], [0.15, 0.4], [5, 6]])
    out = align_to_reference(ref, sub_f, sub_i, video_id="v")
    assert list(out) == [
        "v[0]",
        "v[2]",
    ]  # zero-length ref 1 skipped, ref 3 has no overlap
    np.testing.assert_array_equal(out["v[2]"][0][:, 0], [1, 2, 3])
    np.testing.assert_allclose(out["v[2]"][1], [[0.15, 0.2], [0.2, 0.3], [0.3, 0.4]])
    col = align_to_reference(ref, sub_f, sub_i, video_id="v", collapse=True)
    np.testing.assert_allclose(col["v[2]"][0], [[2.0]])
    np.testing.assert_allclose(col["v[2]"][1], [[0.15, 0.4]])
    means, has = collapse_mean(overlap_pairs(ref, sub_i), sub_f, len(ref))
    np.testing.assert_allclose(means[:, 0], [0.5, 0, 2, 0])
    np.testing.assert_array_equal(has, [1, 0, 1, 0])


def test_alignment_epsilon_is_the_sdks_and_decides_the_boundaries():
    """eps = 1e-5 exactly: a piece or reference of 5e-6 is dropped, one of 2e-5 kept; a
    gap of 2e-5 is no overlap.

    Catches another epsilon (1e-6 keeps the 5e-6 piece, 1e-4 drops the 2e-5 one), a
    looser overlap test (a row 2e-5 short of the reference would come back as a reversed
    piece) and the reference-length rule.
    """
    assert EPSILON == 1e-5
    ref = np.array([[1.0, 2.0]])
    sub_i = np.array(
        [
            [0.0, 1.0 + 5e-6],  # 5e-6 inside: piece too short
            [2.0 - 2e-5, 3.0],  # 2e-5 inside: kept
            [
                0.0,
                1.0 - 5e-6,
            ],  # ends 5e-6 before: overlaps by the SDK test, zero-ish piece dropped
            [0.0, 1.0 - 1.5e-5],  # ends 1.5e-5 before: no overlap
            [0.0, 1.0 - 2e-5],  # ends 2e-5 before: no overlap
            [2.0 + 2e-5, 3.0],
        ]
    )  # starts 2e-5 after: no overlap
    sub_f = np.arange(len(sub_i), dtype=np.float32)[:, None]
    out = align_to_reference(ref, sub_f, sub_i, video_id="v")
    assert list(out) == ["v[0]"]
    np.testing.assert_array_equal(out["v[0]"][0][:, 0], [1])
    np.testing.assert_allclose(out["v[0]"][1], [[2.0 - 2e-5, 2.0]], rtol=0, atol=1e-12)
    # Reference intervals: shorter than eps skipped, longer kept (the subject covers
    # both).
    ref = np.array([[1.0, 1.0 + 5e-6], [1.5, 1.5 + 2e-5]])
    out = align_to_reference(
        ref, np.ones((1, 1), np.float32), np.array([[0.0, 3.0]]), video_id="v"
    )
    assert list(out) == ["v[1]"]
    p = overlap_pairs(ref, np.array([[0.0, 3.0]]))
    assert p.ref.tolist() == [1] and p.counts(2).tolist() == [0, 1]


def test_pad_last_keeps_the_last_rows_left_padded():
    x, mask = pad_last(np.arange(1, 6)[:, None], 3)
    np.testing.assert_array_equal(x[:, 0], [3, 4, 5])
    np.testing.assert_array_equal(mask, [1, 1, 1])
    x, mask = pad_last(np.arange(1, 3)[:, None], 4)
    np.testing.assert_array_equal(x[:, 0], [0, 0, 1, 2])
    np.testing.assert_array_equal(mask, [0, 0, 1, 1])
