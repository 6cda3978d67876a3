"""Dataset folders -> windows: known window means, the WindowSet checks and
SynthAffWild's window cache."""

from __future__ import annotations

import numpy as np
import pytest

from affect_lib.config import LascaConfig
from affect_lib.lasca import folders as F
from affect_lib.lasca.features import WindowSet
from affect_lib.lasca.folders import load_windows, synth_affwild_windows
from affect_lib.lasca.names import FEATURE_NAMES
from affect_lib.schema import DataFormatError

TINY = LascaConfig(
    n_subjects=4,
    videos_per_subject=1,
    video_seconds=12.0,
    fps=10.0,
    audio_sr=8000,
    windows_s=(2.0, 3.0),
)


def test_load_windows_known_means(folder):
    ws = load_windows(folder, 1.0)
    assert (
        isinstance(ws, WindowSet)
        and ws.feature_names == FEATURE_NAMES
        and ws.window_s == 1.0
    )
    assert ws.X.shape == (4, 73) and ws.X.dtype == np.float32
    np.testing.assert_array_equal(ws.video, ["vidA", "vidA", "vidB", "vidB"])
    np.testing.assert_array_equal(ws.subject, ["p1", "p1", "p2", "p2"])
    np.testing.assert_array_equal(ws.index, [0, 2, 0, 2])
    # _neutral: frames 5-9, 20-29
    np.testing.assert_allclose(ws.X[:2, 0], [0.07, 0.245], rtol=1e-5)
    # pitch = frame index
    np.testing.assert_allclose(ws.X[:2, 52], [7.0, 24.5], rtol=1e-5)
    # tz
    np.testing.assert_allclose(ws.X[:2, 57], [-7 * 50 / 40, -24.5 * 50 / 40], rtol=1e-4)
    np.testing.assert_allclose(ws.valence[:2], [0.045, 0.27], rtol=1e-5)
    # MFCCs from the WAV
    assert np.isfinite(ws.X[:, 58:]).all() and ws.X[0, 58] != ws.X[0, 59]


def test_windowset_checks_and_per_video_zscore(folder):
    ws = load_windows(folder, 1.0)
    z = ws.per_video_zscore()
    for vid in ("vidA", "vidB"):
        rows = z.video == vid
        np.testing.assert_allclose(z.X[rows].mean(axis=0), 0, atol=1e-5)
    assert len(ws.subset(ws.video == "vidB")) == 2
    with pytest.raises(ValueError, match="X must be"):
        WindowSet(
            X=np.zeros((2, 5), np.float32),
            valence=np.zeros(2),
            arousal=np.zeros(2),
            subject=np.zeros(2),
            video=np.zeros(2),
            index=np.zeros(2),
            window_s=1.0,
        )
    with pytest.raises(ValueError, match="arousal must be"):
        WindowSet(
            X=np.zeros((2, 73), np.float32),
            valence=np.zeros(2),
            arousal=np.zeros(3),
            subject=np.zeros(2),
            video=np.zeros(2),
            index=np.zeros(2),
            window_s=1.0,
        )
    X = np.zeros((2, 73), np.float32)
    X[1, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        WindowSet(
            X=X,
            valence=np.zeros(2),
            arousal=np.zeros(2),
            subject=np.zeros(2),
            video=np.zeros(2),
            index=np.zeros(2),
            window_s=1.0,
        )


def test_no_usable_window_is_an_error(folder):
    with pytest.raises(DataFormatError, match="no window of 10 s"):
        load_windows(folder, 10.0)
    with pytest.raises(ValueError, match="window_s"):
        load_windows(folder, 0.0)


# ---- SynthAffWild end to end, with the window cache ----------------------------------


def test_synth_affwild_windows_round_trip_and_cache(tmp_path, monkeypatch):
    ws = synth_affwild_windows(TINY, 0, 3.0, tmp_path)
    assert ws.X.shape[1] == 73 and len(ws) >= 12 and ws.window_s == 3.0
    assert set(ws.subject) == {"s000", "s001", "s002", "s003"}
    for vid in set(ws.video):
        idx = np.sort(ws.index[ws.video == vid])
        assert idx.min() >= 0 and idx.max() < 4 and len(set(idx)) == len(idx)
    assert np.abs(ws.valence).max() <= 1 and np.abs(ws.arousal).max() <= 1
    assert ws.X[:, :52].min() >= 0 and ws.X[:, :52].max() <= 1
    caches = sorted(p.name for p in tmp_path.glob("synth_affwild_windows_*.npz"))
    # every cfg window at once
    assert len(caches) == 2 and {c.split("_")[-2] for c in caches} == {
        "2s",
        "3s",
    }

    def no_generation(*args, **kwargs):
        raise AssertionError("the window cache should have been used")

    monkeypatch.setattr(F, "generate_synth_affwild", no_generation)
    for w in (2.0, 3.0):
        hit = synth_affwild_windows(TINY, 0, w, tmp_path)
        fresh = load_windows(tmp_path / "synth_affwild", w)
        np.testing.assert_array_equal(hit.X, fresh.X)
        np.testing.assert_array_equal(hit.video, fresh.video)
        np.testing.assert_array_equal(hit.index, fresh.index)
    monkeypatch.undo()

    for cache in tmp_path.glob("synth_affwild_windows_*3s*.npz"):
        cache.write_bytes(b"corrupt")
    # a corrupt cache is recomputed
    again = synth_affwild_windows(TINY, 0, 3.0, tmp_path)
    np.testing.assert_array_equal(again.X, ws.X)
    other = synth_affwild_windows(TINY, 1, 3.0, tmp_path)  # another seed: other data
    assert not np.array_equal(other.valence[:5], ws.valence[:5])
