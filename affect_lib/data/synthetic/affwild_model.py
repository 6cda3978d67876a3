"""SynthAffWild's generative model: subjects, then per video the affect traces, speech,
voice and face.

Subject parameters (mood, blendshape baselines, gains, nuisance levels, idiosyncratic
bursts, head pose offsets, voice) come from ``SeedSequence([seed, 1, subject])``; each
video's traces, speech turns, voice, face and annotation dropouts from
``SeedSequence([seed, 2, subject, video])``. The model itself is described in
:mod:`affect_lib.data.synthetic.affwild`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import expit

from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES
from affect_lib.data.synthetic.affwild_groups import silenced_cues
from affect_lib.data.synthetic.affwild_mapping import FACE_MAPPING, HEAD_POSE_MAPPING
from affect_lib.data.synthetic.affwild_spec import (
    SynthAffWildParams,
    SynthAffWildSpec,
    substitution_side,
)
from affect_lib.data.synthetic.random_processes import ou, runs
from affect_lib.data.synthetic.voice import synthesise_voice

# ---- subjects ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    mood: np.ndarray  # (2,) valence, arousal offsets
    base: np.ndarray  # (52,) logit baselines
    gain_v: np.ndarray  # (52,)
    gain_a: np.ndarray  # (52,)
    noise: np.ndarray  # (52,) nuisance OU sd
    bursty: np.ndarray  # (52,) bool
    blink_rate: float
    pose: np.ndarray  # (6,) camera offsets
    pose_gain: float
    voice: dict[str, float]


_NAMES = np.array(BLENDSHAPE_NAMES)
_LEFT = np.array([i for i, n in enumerate(BLENDSHAPE_NAMES) if n.endswith("Left")])
_RIGHT = np.array(
    [BLENDSHAPE_NAMES.index(BLENDSHAPE_NAMES[i][:-4] + "Right") for i in _LEFT]
)
_CUES = {
    k: np.array([getattr(c, k) for c in FACE_MAPPING.values()])
    for k in ("base", "valence", "arousal", "speech")
}
_BLINK = np.array(
    [BLENDSHAPE_NAMES.index("eyeBlinkLeft"), BLENDSHAPE_NAMES.index("eyeBlinkRight")]
)


def _pair(values: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    """Right-side entries follow their left partner (up to a small log-normal / additive
    spread)."""
    out = values.copy()
    out[..., _RIGHT] = values[..., _LEFT] * np.exp(
        spread * rng.standard_normal(values[..., _LEFT].shape)
    )
    return out


def _subject(spec: SynthAffWildSpec, s: int) -> _Subject:
    p = spec.params
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 1, s]))
    d = len(BLENDSHAPE_NAMES)
    expressivity = np.exp(p.expressivity_std * rng.standard_normal(2))
    gains = (
        p.cue_gain
        * expressivity[:, None]
        * np.exp(p.gain_std * rng.standard_normal((2, d)))
    )
    gains = _pair(gains, rng, 0.1)
    base = _CUES["base"] + p.base_std * rng.standard_normal(d)
    base[_RIGHT] = base[_LEFT] + 0.2 * rng.standard_normal(len(_LEFT))
    bursty = np.zeros(d, bool)
    # bursts favour expressive cues
    weight = 0.2 + np.abs(_CUES["valence"]) + np.abs(_CUES["arousal"])
    weight[0] = 0.0
    bursty[
        rng.choice(
            d, size=min(p.idiosyncratic, d - 1), replace=False, p=weight / weight.sum()
        )
    ] = True
    pose_mean = np.array([m[0] for m in HEAD_POSE_MAPPING.values()])
    pose_sd = np.array([m[1] for m in HEAD_POSE_MAPPING.values()])
    voice = {
        "f0": float(rng.choice([110.0, 200.0]) * 2 ** (rng.standard_normal() * 2 / 12)),
        "tract": float(np.exp(0.08 * rng.standard_normal())),
        "loud_gain": float(np.exp(p.loudness_gain_std * rng.standard_normal())),
        "rate": float(4.5 * np.exp(0.15 * rng.standard_normal())),
        "bright": float(0.5 * rng.standard_normal()),
    }
    side = substitution_side(spec, s)
    if side is not None:
        # draws nothing: every other parameter (and each video's noise) stays the
        # default corpus's, only the silenced cues lose their affect gain
        gains[:, silenced_cues(side)] = 0.0
    return _Subject(
        mood=p.mood_std * rng.standard_normal(2),
        base=base,
        gain_v=gains[0],
        gain_a=gains[1],
        noise=p.noise_std * np.exp(p.noise_log_std * rng.standard_normal(d)),
        bursty=bursty,
        blink_rate=float(rng.uniform(*p.blinks_per_min)),
        pose=pose_mean + pose_sd * rng.standard_normal(6),
        pose_gain=float(p.cue_gain * np.exp(0.4 * rng.standard_normal())),
        voice=voice,
    )


# ---- one video -----------------------------------------------------------------------


def _traces(
    p: SynthAffWildParams, rng: np.random.Generator, n: int, fps: float, subj: _Subject
):
    """Expressed (n, 2) and annotated (n, 2) valence/arousal, and the annotation lag in
    frames."""
    lag = int(round(rng.uniform(*p.lag_s) * fps))
    m = n + lag
    u = p.slow_std * ou(rng, m, p.slow_tau_s * fps, (2,)) + p.fast_std * ou(
        rng, m, p.fast_tau_s * fps, (2,)
    )
    u = gaussian_filter1d(u, p.smooth_s * fps, axis=0, mode="nearest")
    y = np.tanh(u + subj.mood)
    expressed = y[lag:]
    rated = y[:n] + p.rating_noise * gaussian_filter1d(
        rng.standard_normal((n, 2)), 0.3 * fps, axis=0
    )
    return expressed, np.clip(rated, -1.0, 1.0), lag


def _speech(
    p: SynthAffWildParams,
    rng: np.random.Generator,
    n: int,
    fps: float,
    arousal: np.ndarray,
) -> np.ndarray:
    """(n,) bool speaking turns: talk ~2.5 s x e^(k a), pause ~1 s x e^(-k a), k =
    ``turn_arousal``."""
    active = np.zeros(n, bool)
    k, talking = 0, bool(rng.random() < 0.7)
    while k < n:
        mean = (
            2.5 * math.exp(p.turn_arousal * arousal[k])
            if talking
            else math.exp(-p.turn_arousal * arousal[k])
        )
        length = max(1, int(round(rng.exponential(mean) * fps)))
        active[k : k + length] = talking
        k, talking = k + length, not talking
    return active


def _face(
    p: SynthAffWildParams,
    rng: np.random.Generator,
    n: int,
    fps: float,
    subj: _Subject,
    expressed: np.ndarray,
    mouth: np.ndarray,
) -> np.ndarray:
    """(n, 58) blendshape scores and head pose; NaN rows where the face is lost."""
    d = len(BLENDSHAPE_NAMES)
    v, a = expressed[:, :1], expressed[:, 1:]
    noise = ou(rng, n, p.noise_tau_s * fps, (d,))
    noise[:, _RIGHT] = (
        0.85 * noise[:, _LEFT] + math.sqrt(1 - 0.85**2) * noise[:, _RIGHT]
    )
    logit = (
        subj.base
        + subj.gain_v * _CUES["valence"] * v
        + subj.gain_a * _CUES["arousal"] * a
        + _CUES["speech"] * mouth[:, None]
        + subj.noise * noise
        + p.jitter_std * rng.standard_normal((n, d))
    )
    burst_len = (max(1, int(1.0 * fps)), max(1, int(4.0 * fps)))
    for j in np.flatnonzero(subj.bursty):
        on = runs(rng, n, p.burst_per_min / 60 / fps, burst_len)
        logit[on, j] += p.burst_logit * rng.uniform(0.6, 1.4)
    blink = runs(
        rng,
        n,
        subj.blink_rate / 60 / fps,
        (max(1, int(0.1 * fps)), max(1, int(0.2 * fps))),
    )
    logit[np.ix_(blink, _BLINK)] += 6.0
    scores = expit(logit)

    spec = np.array(list(HEAD_POSE_MAPPING.values()))
    wobble = ou(rng, n, 1.0 * fps, (6,)) * spec[:, 4] * (1 + 0.4 * a)
    pose = subj.pose + subj.pose_gain * (spec[:, 2] * v + spec[:, 3] * a) + wobble
    out = np.hstack([scores, pose])
    out[
        runs(
            rng,
            n,
            p.face_lost_per_min / 60 / fps,
            (max(1, int(0.3 * fps)), max(1, int(2.0 * fps))),
        )
    ] = np.nan
    return out


def _simulate_video(
    spec: SynthAffWildSpec, subj: _Subject, s: int, v: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Video v of subject s: rated (n, 2), invalid (n,), face (n, 58), audio samples,
    speech (n,), lag."""
    p, fps = spec.params, spec.fps
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 2, s, v]))
    n = int(round(spec.video_seconds * fps))
    expressed, rated, lag = _traces(p, rng, n, fps, subj)
    active = _speech(p, rng, n, fps, expressed[:, 1])
    samples, mouth = synthesise_voice(
        p, rng, n, fps, spec.audio_sr, subj.voice, expressed, active
    )
    feats = _face(p, rng, n, fps, subj, expressed, mouth)
    invalid = runs(
        rng,
        n,
        p.dropouts_per_min / 60 / fps,
        (max(1, int(0.2 * fps)), max(1, int(1.5 * fps))),
    )
    if rng.random() < p.long_dropout_prob:
        length = int(rng.uniform(3.0, 8.0) * fps)
        start = int(rng.integers(0, max(1, n - length)))
        invalid[start : start + length] = True
    return rated, invalid, feats, samples, active, lag
