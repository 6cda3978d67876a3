"""LaScA window features (MFCC hop alignment, window statistics with known values) and the folder reading path."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affect_lib.config import LascaConfig
from affect_lib.data.affwild.reader import (
    BLENDSHAPE_NAMES,
    HEAD_POSE_NAMES,
    DataFormatError,
    FrameFeatures,
    VATrace,
    read_wav,
)
from affect_lib.lasca import folders as F
from affect_lib.lasca.features import (
    MIN_VALID_SHARE,
    WindowSet,
    mfcc_frames,
    mfcc_hop,
    window_statistics,
)
from affect_lib.lasca.folders import load_windows, synth_affwild_windows
from affect_lib.lasca.names import FEATURE_NAMES

FPS = 10.0
SR = 8000


# ---- a hand-made Aff-Wild2-layout folder with known values ------------------------------------------


def write_annotation(path: Path, va: np.ndarray) -> None:
    """va (n, 2), NaN rows written as -5,-5."""
    lines = ["valence,arousal"] + [
        "-5,-5" if np.isnan(v).any() else f"{v[0]:g},{v[1]:g}" for v in va
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_blendshapes(
    path: Path, values: np.ndarray, *, time_col: str = "frame", pose: bool = True
) -> None:
    """values (n, 58) (or 52 without pose); NaN rows = face lost (empty cells)."""
    names = list(BLENDSHAPE_NAMES) + (list(HEAD_POSE_NAMES) if pose else [])
    lines = [",".join([time_col, *names])]
    for k, row in enumerate(values):
        t = str(k) if time_col == "frame" else f"{k * 1000 / FPS:g}"
        lines.append(
            t + "," * len(names)
            if np.isnan(row).all()
            else ",".join([t, *(f"{v:g}" for v in row)])
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_wav(path: Path, samples: np.ndarray, sr: int = SR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def tone(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return 0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.size)


def make_video(root: Path, video: str, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """4 windows of 1 s at 10 fps with known content (see test_load_windows_known_means)."""
    va = np.stack([np.arange(n) / 100.0, np.full(n, -0.5)], axis=1)
    va[10:16] = np.nan  # window 1: 4/10 valid -> dropped
    va[20:25] = np.nan  # window 2: 5/10 valid -> kept (>= 50 %)
    write_annotation(root / "annotations" / f"{video}.txt", va)
    face = np.tile(np.linspace(0.0, 0.5, 58), (n, 1))
    face[:, 0] = np.arange(n) / 100.0  # _neutral = frame / 100
    face[:, 52:] = np.arange(n)[:, None] * np.array(
        [1.0, -1.0, 0.5, 2.0, 0.0, -50.0 / 40]
    )  # head pose
    face[0:5] = np.nan  # face lost in window 0
    face[30:40] = np.nan  # no face in window 3 -> dropped
    write_blendshapes(root / "features" / "blendshapes" / f"{video}.csv", face)
    write_wav(root / "audio" / f"{video}.wav", tone(n / FPS))
    return va, face


@pytest.fixture()
def folder(tmp_path) -> Path:
    make_video(tmp_path, "vidA")
    make_video(tmp_path, "vidB")
    (tmp_path / "videos.csv").write_text("video,subject,fps\nvidA,p1,10\nvidB,p2,10\n")
    return tmp_path


# ---- MFCC ----------------------------------------------------------------------------------------------


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
    """16 kHz at 30 fps: hop 533 for 533.33 samples per frame. Clicks at known frames, even after a
    minute, give their energy peak (centre of the rows above the noise) at the click's own row."""
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


# ---- window statistics ---------------------------------------------------------------------------------


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
    np.testing.assert_array_equal(
        index, [0, 2]
    )  # window 1: 40 % valid; window 3: no face
    np.testing.assert_allclose(
        X, [[7, 14, 1], [24.5, 49, 1]]
    )  # face mean over frames 5-9, 20-29
    np.testing.assert_allclose(
        v, [0.045, 0.27], rtol=1e-6
    )  # mean of the valid annotation frames
    np.testing.assert_allclose(a, [-0.5, -0.5])
    assert X.dtype == v.dtype == np.float32 and index.dtype == np.int64


def test_window_statistics_partial_tail_and_short_video():
    va = np.zeros((25, 2))
    X, v, _, index = window_statistics(
        _trace(va), [_stream(np.ones((25, 1)))], window_s=1.0, fps=FPS
    )
    np.testing.assert_array_equal(
        index, [0, 1]
    )  # 2.5 s: the half window at the end is not a window
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


# ---- the folder reader ---------------------------------------------------------------------------------


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
    np.testing.assert_allclose(
        ws.X[:2, 0], [0.07, 0.245], rtol=1e-5
    )  # _neutral: frames 5-9, 20-29
    np.testing.assert_allclose(
        ws.X[:2, 52], [7.0, 24.5], rtol=1e-5
    )  # pitch = frame index
    np.testing.assert_allclose(
        ws.X[:2, 57], [-7 * 50 / 40, -24.5 * 50 / 40], rtol=1e-4
    )  # tz
    np.testing.assert_allclose(ws.valence[:2], [0.045, 0.27], rtol=1e-5)
    assert (
        np.isfinite(ws.X[:, 58:]).all() and ws.X[0, 58] != ws.X[0, 59]
    )  # MFCCs from the WAV


def test_load_windows_without_index_needs_fps(folder):
    (folder / "videos.csv").unlink()
    with pytest.raises(ValueError, match="fps"):
        load_windows(folder, 1.0)
    ws = load_windows(folder, 1.0, fps=FPS)
    np.testing.assert_array_equal(
        ws.subject, ws.video
    )  # subject defaults to the video id
    assert len(ws) == 4
    for p in (folder / "annotations").glob("*.txt"):
        p.unlink()
    with pytest.raises(
        DataFormatError, match="annotations: no <video>.txt annotation files"
    ):
        load_windows(folder, 1.0, fps=FPS)


def _as_sewa(folder: Path, rate_of: int = 1) -> None:
    """The Aff-Wild2 folder's annotations as SEWA traces (labels/<video>.csv, time,valence,arousal):
    every ``rate_of``-th frame, invalid (-5) frames left out as gaps, the annotations folder removed."""
    for ann in sorted((folder / "annotations").glob("*.txt")):
        rows = [line.split(",") for line in ann.read_text().splitlines()[1:]]
        lines = ["time,valence,arousal"] + [
            f"{k / FPS:g},{v},{a}"
            for k, (v, a) in enumerate(rows)
            if v != "-5" and k % rate_of == 0
        ]
        (folder / "labels").mkdir(exist_ok=True)
        (folder / "labels" / f"{ann.stem}.csv").write_text("\n".join(lines) + "\n")
        ann.unlink()
    (folder / "annotations").rmdir()


def test_a_sewa_folder_reads_like_the_same_aff_wild2_folder(folder):
    reference = load_windows(folder, 1.0)
    _as_sewa(folder)
    with pytest.raises(
        DataFormatError, match="annotations"
    ):  # the Aff-Wild2 layout is not there any more
        load_windows(folder, 1.0)
    sewa = load_windows(folder, 1.0, layout="sewa")
    for name in ("X", "valence", "arousal", "subject", "video", "index"):
        np.testing.assert_array_equal(
            getattr(sewa, name), getattr(reference, name), err_msg=name
        )
    # a 5 Hz trace: each 10 fps frame takes its nearest label sample (half a period away at most)
    (folder / "videos.csv").unlink()
    for p in (folder / "labels").glob("*.csv"):
        rows = p.read_text().splitlines()
        p.write_text(
            "\n".join(
                rows[:1]
                + [r for r in rows[1:] if round(float(r.split(",")[0]) * FPS) % 2 == 0]
            )
        )
    slow = load_windows(folder, 1.0, fps=FPS, layout="sewa")
    # window 1's gap (frames 10-15 unannotated) shrinks: frame 15 is within 0.1 s of the sample at frame
    # 16 and frame 17 ties between 16 and 18 (the earlier wins), so frames 15-19 read 16, 16, 16, 18, 18:
    # 5 of 10 frames valid, the window is kept
    np.testing.assert_array_equal(slow.index, [0, 1, 2, 0, 1, 2])
    old = np.isin(slow.index, reference.index[:2])
    np.testing.assert_allclose(
        slow.valence[old], reference.valence, atol=0.011
    )  # valence = frame / 100
    np.testing.assert_allclose(
        slow.valence[slow.index == 1], (16 * 3 + 18 * 2) / 500, rtol=1e-5
    )
    assert (slow.arousal == -0.5).all()
    with pytest.raises(ValueError, match="valid layouts: aff_wild2, sewa"):
        load_windows(folder, 1.0, fps=FPS, layout="recola")
    (folder / "labels" / "vidA.csv").write_text("t,valence,arousal\n0,0,0\n")
    with pytest.raises(DataFormatError, match=r"vidA\.csv: line 1: header"):
        load_windows(folder, 1.0, fps=FPS, layout="sewa")


def test_timestamp_ms_and_an_mfcc_table_read_like_frames_and_wav(folder):
    reference = load_windows(folder, 1.0)
    _, face = make_video(folder, "vidA")
    write_blendshapes(
        folder / "features" / "blendshapes" / "vidA.csv", face, time_col="timestamp_ms"
    )
    audio = read_wav(folder / "audio" / "vidA.wav")
    mfcc = mfcc_frames(audio.samples, audio.sample_rate, FPS)
    (folder / "audio" / "vidA.wav").unlink()
    table = ["frame," + ",".join(f"mfcc_{i}" for i in range(15))]
    table += [f"{k}," + ",".join(f"{v:.6f}" for v in row) for k, row in enumerate(mfcc)]
    (folder / "features" / "mfcc").mkdir(parents=True)
    (folder / "features" / "mfcc" / "vidA.csv").write_text("\n".join(table) + "\n")
    ws = load_windows(folder, 1.0)
    np.testing.assert_allclose(ws.X, reference.X, rtol=1e-4, atol=1e-3)


def test_shared_audio_column(folder):
    (folder / "audio" / "vidB.wav").rename(folder / "audio" / "shared.wav")
    (folder / "videos.csv").write_text(
        "video,subject,fps,audio\nvidA,p1,10,\nvidB,p2,10,shared\n"
    )
    assert len(load_windows(folder, 1.0)) == 4


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


@pytest.mark.parametrize(
    "breakage, message",
    [
        (
            lambda r: (r / "features" / "blendshapes" / "vidB.csv").unlink(),
            r"vidB.*no facial features.*vidB\.csv",
        ),
        (lambda r: (r / "audio" / "vidB.wav").unlink(), r"vidB.*no audio.*vidB\.wav"),
        (
            lambda r: (r / "annotations" / "vidB.txt").unlink(),
            r"vidB.*listed but.*vidB\.txt",
        ),
        (
            lambda r: (r / "videos.csv").write_text("clip,fps\nvidA,10\n"),
            r"videos\.csv: line 1",
        ),
        (
            lambda r: (r / "videos.csv").write_text("video,fps\nvidA,fast\n"),
            r"videos\.csv: line 2: fps",
        ),
        (
            lambda r: (r / "videos.csv").write_text("video,fps\nvidA,10\nvidA,10\n"),
            r"videos\.csv: line 3",
        ),
        (
            lambda r: (r / "audio" / "vidA.wav").write_bytes(b"RIFF0000WAVE"),
            r"vidA\.wav.*not a readable",
        ),
        (
            lambda r: write_blendshapes(
                r / "features" / "blendshapes" / "vidA.csv",
                np.zeros((40, 52)),
                pose=False,
            ),
            r"vidA\.csv: line 1: no head pose",
        ),
    ],
)
def test_bad_folders_name_the_file(folder, breakage, message):
    breakage(folder)
    with pytest.raises(DataFormatError, match=message):
        load_windows(folder, 1.0)


def test_nan_or_inf_in_a_feature_file_is_refused(folder):
    path = folder / "features" / "blendshapes" / "vidA.csv"
    lines = path.read_text().splitlines()
    cells = lines[7].split(",")
    cells[3] = "nan"
    lines[7] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"vidA\.csv: line 8"):
        load_windows(folder, 1.0)
    cells[3] = "inf"
    lines[7] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"vidA\.csv: line 8"):
        load_windows(folder, 1.0)


def test_no_usable_window_is_an_error(folder):
    with pytest.raises(DataFormatError, match="no window of 10 s"):
        load_windows(folder, 10.0)
    with pytest.raises(ValueError, match="window_s"):
        load_windows(folder, 0.0)


# ---- SynthAffWild end to end, with the window cache ----------------------------------------------------

TINY = LascaConfig(
    n_subjects=4,
    videos_per_subject=1,
    video_seconds=12.0,
    fps=10.0,
    audio_sr=8000,
    windows_s=(2.0, 3.0),
)


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
    assert len(caches) == 2 and {c.split("_")[-2] for c in caches} == {
        "2s",
        "3s",
    }  # every cfg window at once

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
    again = synth_affwild_windows(
        TINY, 0, 3.0, tmp_path
    )  # a corrupt cache is recomputed
    np.testing.assert_array_equal(again.X, ws.X)
    other = synth_affwild_windows(TINY, 1, 3.0, tmp_path)  # another seed: other data
    assert not np.array_equal(other.valence[:5], ws.valence[:5])
