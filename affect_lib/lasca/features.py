"""LaScA window features: 73 handcrafted features per window, computed per video.

Features, in :data:`~affect_lib.lasca.names.FEATURE_NAMES` order: the 58 facial features
of the blendshape table (52 + head pose) and 15 MFCCs from the WAV by
:func:`mfcc_frames` (one MFCC frame per video frame). :mod:`affect_lib.lasca.folders`
reads a dataset folder (SynthAffWild, Aff-Wild2, SEWA) into these windows.

Windows are non-overlapping, ``window_s`` long, starting at t = 0; only complete windows
inside the annotation (``n_frames / fps`` s) count. Per window, each feature is the
**mean** over the window's frames where it is valid (frames without a detected face, or
past the end of the audio, are left out); LaScA describes windows but not their
statistic, and the mean keeps every feature in its own units, which the lexicon and the
Otsu saliency read. The target is the mean of the window's valid annotation frames. A
window is dropped when fewer than 50 % of its annotation frames are valid or when some
feature has no valid frame in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from affect_lib.data.affwild.reader import FrameFeatures, VATrace
from affect_lib.lasca.names import FEATURE_NAMES

__all__ = [
    "N_MFCC",
    "MFCC_N_FFT",
    "MIN_VALID_SHARE",
    "mfcc_hop",
    "mfcc_frames",
    "WindowSet",
    "window_statistics",
]

N_MFCC = 15
MFCC_N_FFT = 2048  # librosa's default: 128 ms at 16 kHz
MIN_VALID_SHARE = 0.5  # a window needs at least this share of valid annotation frames
# bump when window features change for the same files (invalidates the .npz cache)
FEATURES_VERSION = 1


def mfcc_hop(sr: int, fps: float) -> int:
    """Hop (samples) of the MFCC analysis: ``round(sr / fps)``, one frame per video
    frame."""
    return max(1, int(round(sr / fps)))


def mfcc_frames(
    wave: np.ndarray, sr: int, fps: float, *, n_frames: int | None = None
) -> np.ndarray:
    """15 MFCCs per video frame: (n_frames, 15) float32, row k describes the audio
    around ``k / fps`` s.

    ``librosa.feature.mfcc(y=wave, sr=sr, n_mfcc=15, n_fft=2048, hop_length=round(sr /
    fps))`` with librosa's other defaults (centred Hann frames, 128 mels, log power in
    dB, DCT-II ortho); column 0 is librosa's c0 (the overall log-mel energy term), our
    ``mfcc_1``. When ``sr / fps`` is not an integer (16 kHz at 30 fps: 533.3 samples)
    row k takes the MFCC frame nearest to ``k / fps`` (at most half a hop away), so the
    rows never drift from the video. ``wave``: (n,) or (n, channels) (averaged to mono).
    ``n_frames`` defaults to the frames the audio covers; rows after the end of the
    audio are NaN.
    """
    import librosa  # lazy: importing librosa takes seconds

    y = np.asarray(wave, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=1)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(
            f"wave must be (n,) or (n, channels) with n > 0 samples, got shape "
            f"{np.shape(wave)}"
        )
    if not np.isfinite(y).all():
        raise ValueError(
            f"wave holds {int((~np.isfinite(y)).sum())} NaN/inf samples, expected "
            f"finite audio"
        )
    if not sr > 0 or not fps > 0:
        raise ValueError(f"sr and fps must be > 0, got sr={sr}, fps={fps}")
    hop = mfcc_hop(sr, fps)
    mfcc = librosa.feature.mfcc(
        y=y, sr=sr, n_mfcc=N_MFCC, n_fft=MFCC_N_FFT, hop_length=hop
    ).T  # (m, 15)
    covered = int(np.floor(y.size * fps / sr + 1e-9))
    n = covered if n_frames is None else int(n_frames)
    if n < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    frame = np.rint(np.arange(n) * (sr / fps) / hop).astype(np.int64)
    out = mfcc[np.minimum(frame, len(mfcc) - 1)].astype(np.float32)
    out[np.arange(n) >= covered] = np.nan
    return out


@dataclass(frozen=True, eq=False)
class WindowSet:
    """N windows: ``X`` (N, 73) float32 in ``feature_names`` order; ``valence``,
    ``arousal`` (N,) float32; ``subject``, ``video`` (N,) str; ``index`` (N,) int64 =
    window position in its video (t = index * window_s), so windows ``i`` and ``i + 1``
    of one video are consecutive."""

    X: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    subject: np.ndarray
    video: np.ndarray
    index: np.ndarray
    window_s: float
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def __post_init__(self) -> None:
        n = len(self.X)
        if self.X.ndim != 2 or self.X.shape[1] != len(self.feature_names):
            raise ValueError(
                f"X must be (N, {len(self.feature_names)}) with columns in "
                f"feature_names order "
                f"(FEATURE_NAMES of affect_lib.lasca.names by default), got "
                f"{self.X.shape}"
            )
        for name in ("valence", "arousal", "subject", "video", "index"):
            if getattr(self, name).shape != (n,):
                raise ValueError(
                    f"{name} must be ({n},), got {getattr(self, name).shape}"
                )
        if not (
            np.isfinite(self.X).all()
            and np.isfinite(self.valence).all()
            and np.isfinite(self.arousal).all()
        ):
            raise ValueError("WindowSet values must be finite")

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, mask: np.ndarray) -> WindowSet:
        """The windows selected by a boolean mask or an index array."""
        return dataclasses.replace(
            self,
            X=self.X[mask],
            valence=self.valence[mask],
            arousal=self.arousal[mask],
            subject=self.subject[mask],
            video=self.video[mask],
            index=self.index[mask],
        )

    def per_video_zscore(self) -> WindowSet:
        """Each feature standardised within each video (mean 0, sd 1 over its windows;
        sd 0 -> 1)."""
        X = self.X.astype(np.float64)
        for vid in np.unique(self.video):
            rows = self.video == vid
            sd = X[rows].std(axis=0)
            X[rows] = (X[rows] - X[rows].mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        return dataclasses.replace(self, X=X.astype(np.float32))


def _bin_means(
    times: np.ndarray, values: np.ndarray, n_win: int, window_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per window [w*W, (w+1)*W): (means (n_win, d), NaN where no finite value; counts
    of finite values)."""
    edges = np.searchsorted(times, np.arange(n_win + 1) * window_s - 1e-9, side="left")
    finite = np.isfinite(values)
    zero = np.zeros((1, values.shape[1]))
    sums = np.vstack([zero, np.cumsum(np.where(finite, values, 0.0), axis=0)])
    counts = np.vstack([zero, np.cumsum(finite, axis=0, dtype=np.float64)])
    s, c = sums[edges[1:]] - sums[edges[:-1]], counts[edges[1:]] - counts[edges[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan), c


def window_statistics(
    va: VATrace, streams: Sequence[FrameFeatures], *, window_s: float, fps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows of one video: (X (w, sum of stream dims) float32, valence (w,), arousal
    (w,), index (w,)).

    ``va`` has one sample per video frame (``len(va.times) / fps`` s); each stream is a
    per-frame feature table on its own time axis (invalid rows left out). See the module
    docstring for the rules.
    """
    if not window_s > 0 or not fps > 0:
        raise ValueError(
            f"window_s and fps must be > 0, got window_s={window_s}, fps={fps}"
        )
    n_win = int(np.floor(len(va.times) / fps / window_s + 1e-9))
    d = sum(s.features.shape[1] for s in streams)
    if n_win == 0:
        return (
            np.zeros((0, d), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
        )
    target = np.where(
        va.valid[:, None], np.stack([va.valence, va.arousal], axis=1), np.nan
    ).astype(np.float64)
    va_mean, va_count = _bin_means(va.times, target, n_win, window_s)
    _, frames = _bin_means(va.times, np.ones((len(va.times), 1)), n_win, window_s)
    parts = [
        _bin_means(
            s.times,
            np.where(s.valid[:, None], s.features, np.nan).astype(np.float64),
            n_win,
            window_s,
        )[0]
        for s in streams
    ]
    X = np.hstack(parts)
    keep = (
        (va_count[:, 0] >= MIN_VALID_SHARE * frames[:, 0])
        & (va_count[:, 0] > 0)
        & np.isfinite(X).all(axis=1)
    )
    return (
        X[keep].astype(np.float32),
        va_mean[keep, 0].astype(np.float32),
        va_mean[keep, 1].astype(np.float32),
        np.flatnonzero(keep).astype(np.int64),
    )
