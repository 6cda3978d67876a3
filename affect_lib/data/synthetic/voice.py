"""SynthAffWild's voice: a source-filter synthesiser whose f0, loudness, rate and
brightness follow arousal.

A sawtooth source (f0 + ``f0_semitones`` per unit arousal, with a slow wobble), mixed
towards a darker low-passed copy by a brightness control (arousal, a weak valence tilt,
a subject offset), shaped by a random per-syllable mix of two vowel formant filter pairs
(/a/, /i/) shifted by the subject's vocal tract, gated by speech turns and a syllable
envelope, scaled by loudness (arousal times a subject gain, plus an affect-unrelated
drift) and mixed with coloured background noise at a per-video SNR whose level drifts.
Everything is deterministic given the generator ``rng``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import lfilter, sosfilt

from affect_lib.data.synthetic.random_processes import ou

if TYPE_CHECKING:
    from affect_lib.data.synthetic.affwild_spec import SynthAffWildParams

__all__ = ["synthesise_voice"]


def _resonator(freq: float, bw: float, sr: int) -> np.ndarray:
    """One formant: a two-pole resonator at ``freq`` Hz with bandwidth ``bw`` Hz, as an
    (6,) SOS row."""
    r = math.exp(-math.pi * bw / sr)
    return np.array(
        [1 - r, 0.0, 0.0, 1.0, -2 * r * math.cos(2 * math.pi * freq / sr), r * r]
    )


def synthesise_voice(
    p: SynthAffWildParams,
    rng: np.random.Generator,
    n: int,
    fps: float,
    sr: int,
    sv: dict[str, float],
    expressed: np.ndarray,
    active: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """int16 waveform (round(n / fps * sr),) and the (n,) mouth-opening envelope at the
    video frames.

    ``sv``: the subject's voice (``f0`` Hz, vocal ``tract`` scale, ``loud_gain``,
    syllable ``rate`` per s, ``bright`` offset); ``expressed``: (n, 2) valence, arousal;
    ``active``: (n,) bool speech.

    Control signals live at the frame rate and are linearly upsampled; phases (f0,
    syllables) are integrated per frame first, so f0 and the syllable rate are piecewise
    constant per frame.
    """
    m = int(round(n / fps * sr))
    pos = np.arange(m, dtype=np.float64) * (fps / sr)  # sample position in frames
    idx = np.minimum(pos.astype(np.int32), n - 1)
    w = (pos - idx).astype(np.float32)
    del pos

    def up(
        c: np.ndarray,
    ) -> np.ndarray:  # (n + 1,) frame-rate control -> (m,) samples, linear
        c = np.asarray(c, np.float32)
        return c[:-1][idx] + w * np.diff(c)[idx]

    def integral(
        rate: np.ndarray,
    ) -> np.ndarray:  # cycles completed at each frame boundary, (n + 1,)
        return np.concatenate([[0.0], np.cumsum(rate) / fps])

    def ext(c: np.ndarray) -> np.ndarray:
        return np.append(c, c[-1])

    v, a = expressed[:, 0], expressed[:, 1]
    syll = integral(sv["rate"] * 2 ** (0.35 * a))  # syllables spoken so far
    mouth = (np.sin(np.pi * syll[:n]) ** 2 * active).astype(np.float64)
    f0 = sv["f0"] * 2 ** ((p.f0_semitones * a + 1.0 * ou(rng, n, 2.0 * fps)) / 12)
    cycles = integral(f0)
    frac, step = (cycles[:-1] % 1.0).astype(np.float32), (f0 / fps).astype(np.float32)
    # cycles since the frame's start: small, so float32 is exact enough
    phase = frac[idx] + w * step[idx]
    source = 2 * (phase - np.floor(phase)) - 1  # sawtooth: all harmonics, -6 dB/octave
    dark = lfilter(np.float32([0.15]), np.float32([1.0, -0.85]), source)
    bright = up(
        ext(1 / (1 + np.exp(-(p.tilt_arousal * a + p.tilt_valence * v + sv["bright"]))))
    )
    source = dark + bright * (source - dark)
    nyq = 0.45 * sr
    vowel_a = sosfilt(
        np.stack(
            [
                _resonator(min(700 * sv["tract"], nyq), 120, sr),
                _resonator(min(1200 * sv["tract"], nyq), 150, sr),
            ]
        ),
        source,
    )
    vowel_i = sosfilt(
        np.stack(
            [
                _resonator(min(300 * sv["tract"], nyq), 80, sr),
                _resonator(min(2300 * sv["tract"], nyq), 200, sr),
            ]
        ),
        source,
    )
    s = up(syll)
    mix = rng.random(int(syll[-1]) + 2).astype(np.float32)[s.astype(np.int64)]
    voiced = (vowel_i + mix * (vowel_a - vowel_i)).astype(np.float32)
    voiced /= np.float32(np.sqrt(np.mean(voiced.astype(np.float64) ** 2)) + 1e-12)
    loud = p.loudness_db * sv["loud_gain"] * a + p.loudness_drift_db * ou(
        rng, n, 3.0 * fps
    )
    voiced *= np.sin(np.float32(np.pi) * s) ** 2
    voiced *= up(ext(active * 10 ** (loud / 20)))
    snr = rng.uniform(*p.snr_db)
    background = lfilter(
        np.float32([1.0]),
        np.float32([1.0, -0.6]),
        rng.standard_normal(m, dtype=np.float32),
    )
    level = up(ext(10 ** ((p.background_drift_db * ou(rng, n, 5.0 * fps) - snr) / 20)))
    x = voiced + np.float32(0.8) * level * background
    x *= np.float32(0.8 / (np.abs(x).max() + 1e-12))
    return np.round(x * 32767).astype("<i2"), mouth
