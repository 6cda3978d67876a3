"""LaScA window features: MFCC hop alignment and window statistics with known values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affect_lib.data.affwild.reader import FrameFeatures, VATrace
from affect_lib.lasca.features import (
    MIN_VALID_SHARE,
    mfcc_frames,
    mfcc_hop,
    window_statistics,
)
from tests.lasca.folder_files import FPS, SR, tone

# ---- MFCC ----------------------------------------------------------------------------


def test_mfcc_equals_librosa_when_the_hop_is_exact():
    import librosa

    y = tone(3.0).astype(np.float32)
    ours = mfcc_frames(y, SR, FPS)
    ref = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=15, n_fft=2048, hop_length=800).T
    assert (
        mfcc_hop(SR, FPS) == 800 and ours.shape == (30, 15) and ours.dtype == np.float32
    )
    np.testing.assert_allclose(ours, ref[:30], rtol=1e-5, atol=1e-4)


def test_mfcc_rows_stay_on_the_video_frames_with_a_fractional_hop():
    """16 kHz at 30 fps: hop 533 for 533.33 samples per frame. Clicks at known frames,
    even after a minute, give their energy peak (centre of the rows above the noise) at
    the click's own row."""
    sr, fps, seconds = 16000, 30.0, 60.0
    y = 1e-4 * np.random.default_rng(0).standard_normal(int(sr * seconds))
    frames = [100, 1000, 1790]
    for k in frames:
        s = int(round(k * sr / fps))
        y[s : s + 80] += 0.9 * np.hanning(80)
    c0 = mfcc_frames(y, sr, fps)[:, 0]
    assert len(c0) == 1800 and mfcc_hop(sr, fps) == 533
    for k in frames:
        rows = np.arange(k - 8, min(k + 9, 1800))
        loud = rows[c0[rows] > np.median(c0) + 20]
        assert abs(loud.mean() - k) <= 0.75, (k, loud)


def test_mfcc_frames_past_the_audio_are_nan_and_bad_audio_is_refused():
    out = mfcc_frames(tone(2.0), SR, FPS, n_frames=25)
    assert out.shape == (25, 15)
    assert np.isfinite(out[:20]).all() and np.isnan(out[20:]).all()
    stereo = np.stack([tone(1.0), tone(1.0)], axis=1)
    np.testing.assert_allclose(
        mfcc_frames(stereo, SR, FPS),
        mfcc_frames(tone(1.0), SR, FPS),
        rtol=1e-5,
        atol=1e-4,
    )
    bad = tone(1.0)
    bad[100] = np.nan
    with pytest.raises(ValueError, match="NaN/inf"):
        mfcc_frames(bad, SR, FPS)
    with pytest.raises(ValueError, match="shape"):
        mfcc_frames(np.zeros((2, 2, 2)), SR, FPS)
    with pytest.raises(ValueError, match="sr and fps"):
        mfcc_frames(tone(1.0), SR, 0.0)


# ---- window statistics ---------------------------------------------------------------


def _trace(va: np.ndarray) -> VATrace:
    valid = ~np.isnan(va).any(axis=1)
    v = np.where(valid[:, None], va, 0).astype(np.float32)
    return VATrace(
        times=np.arange(len(va)) / FPS, valence=v[:, 0], arousal=v[:, 1], valid=valid
    )


def _stream(values: np.ndarray, times: np.ndarray | None = None) -> FrameFeatures:
    valid = ~np.isnan(values).any(axis=1)
    return FrameFeatures(
        times=np.arange(len(values)) / FPS if times is None else times,
        features=np.where(valid[:, None], values, 0).astype(np.float32),
        valid=valid,
        names=tuple(f"f{i}" for i in range(values.shape[1])),
    )


def test_window_statistics_known_means_and_dropped_windows():
    va = np.stack([np.arange(40) / 100.0, np.full(40, -0.5)], axis=1)
    va[10:16] = np.nan
    va[20:25] = np.nan
    face = np.stack([np.arange(40.0), 2 * np.arange(40.0)], axis=1)
    face[0:5] = np.nan
    face[30:40] = np.nan
    voice = np.ones((45, 1))  # longer than the annotation: the tail is ignored
    X, v, a, index = window_statistics(
        _trace(va), [_stream(face), _stream(voice)], window_s=1.0, fps=FPS
    )
    # window 1: 40 % valid; window 3: no face
    np.testing.assert_array_equal(index, [0, 2])
    # face mean over frames 5-9, 20-29
    np.testing.assert_allclose(X, [[7, 14, 1], [24.5, 49, 1]])
    # mean of the valid annotation frames
    np.testing.assert_allclose(v, [0.045, 0.27], rtol=1e-6)
    np.testing.assert_allclose(a, [-0.5, -0.5])
    assert X.dtype == v.dtype == np.float32 and index.dtype == np.int64


def test_window_statistics_partial_tail_and_short_video():
    va = np.zeros((25, 2))
    X, v, _, index = window_statistics(
        _trace(va), [_stream(np.ones((25, 1)))], window_s=1.0, fps=FPS
    )
    # 2.5 s: the half window at the end is not a window
    np.testing.assert_array_equal(index, [0, 1])
    X, v, _, index = window_statistics(
        _trace(va[:5]), [_stream(np.ones((5, 1)))], window_s=1.0, fps=FPS
    )
    assert X.shape == (0, 1) and index.shape == (0,)


@settings(max_examples=40, deadline=None)
@given(
    valid=st.lists(st.booleans(), min_size=20, max_size=60),
    window=st.sampled_from([0.5, 1.0, 1.5]),
    seed=st.integers(0, 1000),
)
def test_window_statistics_matches_a_direct_computation(valid, window, seed):
    rng = np.random.default_rng(seed)
    n = len(valid)
    va = rng.uniform(-1, 1, (n, 2))
    va[~np.array(valid)] = np.nan
    feats = rng.normal(size=(n, 3))
    feats[rng.random(n) < 0.2] = np.nan
    X, v, a, index = window_statistics(
        _trace(va), [_stream(feats)], window_s=window, fps=FPS
    )
    per = int(round(window * FPS))
    expect = []
    for w in range(n // per):
        rows = slice(w * per, (w + 1) * per)
        ok_va = ~np.isnan(va[rows, 0])
        ok_f = ~np.isnan(feats[rows, 0])
        if ok_va.mean() >= MIN_VALID_SHARE and ok_f.any():
            expect.append(
                (w, feats[rows][ok_f].mean(axis=0), va[rows][ok_va].mean(axis=0))
            )
    np.testing.assert_array_equal(index, [e[0] for e in expect])
    if expect:
        np.testing.assert_allclose(
            X, np.array([e[1] for e in expect]), rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            np.stack([v, a], 1), np.array([e[2] for e in expect]), rtol=1e-5, atol=1e-6
        )
