"""Time alignment of annotations with feature frames: exact Aff-Wild2 frames, SEWA 10
Hz, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_formats import write_affwild2_va, write_sewa_csv

from affect_lib.data.affwild.align import align_annotations_to_features
from affect_lib.data.affwild.annotations import read_affwild2_va, read_sewa_va
from affect_lib.data.affwild.reader import FrameFeatures

# ---- alignment by time ---------------------------------------------------------------


def test_affwild2_frames_align_exactly(tmp_path):
    tr = read_affwild2_va(
        write_affwild2_va(tmp_path / "v.txt", [(0.1, 0.2), (-5, -5), (0.3, 0.4)]),
        fps=30,
    )
    ff = FrameFeatures(
        times=np.arange(4) / 30,
        features=np.zeros((4, 1), np.float32),
        valid=np.array([1, 1, 1, 0], bool),
        names=("x",),
    )
    out = align_annotations_to_features(tr, ff)
    np.testing.assert_allclose(out.valence, [0.1, 0, 0.3, 0], rtol=1e-6)
    # -5 frame, and a frame past the annotations
    np.testing.assert_array_equal(out.valid, [1, 0, 1, 0])


def test_sewa_10hz_to_30fps_nearest(tmp_path):
    t = np.arange(4) * 0.1
    tr = read_sewa_va(
        write_sewa_csv(tmp_path / "s.csv", t, [0.0, 0.1, 0.2, 0.3], [0.0] * 4)
    )
    frames = np.arange(13) / 30  # 0 .. 0.4 s
    out = align_annotations_to_features(tr, frames)
    np.testing.assert_allclose(
        out.valence[:11], np.round(frames[:11] / 0.1) * 0.1, atol=1e-6
    )
    # > 50 ms past the last sample (0.3 s)
    assert out.valid[:11].all() and not out.valid[11:].any()
    strict = align_annotations_to_features(tr, frames, tolerance_s=0.01)
    np.testing.assert_array_equal(strict.valid, [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0])


@pytest.mark.parametrize(
    ("kwargs", "times", "match"),
    [
        (
            {"tolerance_s": float("nan")},
            np.arange(3) / 30,
            r"tolerance_s=nan, expected a finite number >= 0",
        ),
        ({"tolerance_s": float("inf")}, np.arange(3) / 30, r"tolerance_s=inf"),
        ({"tolerance_s": -0.01}, np.arange(3) / 30, r"tolerance_s=-0\.01"),
        ({"tolerance_s": "0.1"}, np.arange(3) / 30, r"tolerance_s='0\.1'"),
        (
            {},
            np.array([0.0, np.nan, 0.1]),
            r"feature times\[1\] is nan, expected finite seconds",
        ),
        ({}, np.zeros((3, 1)), r"feature times have shape \(3, 1\), expected \(n,\)"),
    ],
)
def test_alignment_rejects_bad_tolerance_and_times(tmp_path, kwargs, times, match):
    tr = read_affwild2_va(
        write_affwild2_va(tmp_path / "v.txt", [(0.1, 0.2), (0.3, 0.4)]), fps=30
    )
    with pytest.raises(ValueError, match=rf"align_annotations_to_features: {match}"):
        align_annotations_to_features(tr, times, **kwargs)
