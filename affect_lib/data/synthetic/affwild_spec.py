"""SynthAffWild's parameters and spec: the knobs of the generative model and what the
files depend on.

:class:`SynthAffWildParams` holds every number of the generative model described in
:mod:`affect_lib.data.synthetic.affwild`; :class:`SynthAffWildSpec` adds the corpus
size, frame and sample rates, seed and generator version, and its
:func:`~affect_lib.config.config_hash` keys the cache. :func:`video_ids` names the
videos in generation order.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from affect_lib.config import LascaConfig

__all__ = ["GENERATOR_VERSION", "SynthAffWildParams", "SynthAffWildSpec", "video_ids"]

GENERATOR_VERSION = 1  # bump when the generated data change for the same spec and seed


@dataclass(frozen=True, kw_only=True)
class SynthAffWildParams:
    """Knobs of the generative model (defaults = the book's data; see
    :mod:`affect_lib.data.synthetic.affwild`)."""

    # affect traces
    # OU time constants (s) and sds of the two components of u(t)
    slow_tau_s: float = 15.0
    slow_std: float = 0.5
    fast_tau_s: float = 3.0
    fast_std: float = 1.0
    smooth_s: float = 0.4  # Gaussian smoothing sigma (s)
    # subject offset of u (some people are generally positive / calm)
    mood_std: float = 0.2
    # annotation
    lag_s: tuple[float, float] = (0.5, 2.0)  # annotator reaction lag, uniform per video
    rating_noise: float = 0.03
    dropouts_per_min: float = 1.0  # short -5 runs (0.2-1.5 s)
    long_dropout_prob: float = 0.25  # P(a video has a 3-8 s -5 run)
    # face: individual variability and nuisance (logit units)
    # scales every affect weight of FACE_MAPPING and HEAD_POSE_MAPPING
    cue_gain: float = 0.8
    base_std: float = 1.4  # subject baseline offsets
    # log-sd of a subject's overall gain, per affect dimension
    expressivity_std: float = 0.6
    gain_std: float = 0.7  # log-sd of a subject's per-cue gain
    noise_std: float = 1.2  # median sd of the slow OU nuisance
    # log-sd of the nuisance level over subjects x features (heavy-tailed)
    noise_log_std: float = 2.0
    noise_tau_s: float = 2.5
    jitter_std: float = 0.3  # per-frame measurement noise
    idiosyncratic: int = 10  # features per subject with affect-unrelated bursts
    burst_per_min: float = 6.0  # bursts of 1-4 s
    burst_logit: float = 5.0
    blinks_per_min: tuple[float, float] = (10.0, 25.0)
    face_lost_per_min: float = 1.0  # episodes of 0.3-2 s without a detected face
    # voice
    loudness_db: float = 2.5  # dB per unit arousal (times a subject gain)
    loudness_gain_std: float = 0.7  # log-sd of the subject's loudness gain
    # sd of an OU (tau 3 s) loudness drift unrelated to affect
    loudness_drift_db: float = 3.0
    f0_semitones: float = 1.5  # per unit arousal
    # brightness (logit of the bright/dark source mix) per unit arousal
    tilt_arousal: float = 0.3
    tilt_valence: float = 0.4  # weak brightness cue of valence
    # talk turns last e^(k a) longer, pauses e^(-k a) shorter
    turn_arousal: float = 0.25
    snr_db: tuple[float, float] = (3.0, 25.0)  # per video speech-to-background ratio
    background_drift_db: float = 1.0  # sd of an OU (tau 5 s) on the background level

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if any(
                not math.isfinite(x) or (x < 0 and f.name != "snr_db") for x in values
            ):
                raise ValueError(
                    f"SynthAffWildParams.{f.name} must be finite and >= 0 (snr_db: "
                    f"finite), got {value}"
                )
            if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise ValueError(
                    f"SynthAffWildParams.{f.name} must be a (low, high) range, got "
                    f"{value}"
                )
        for name in ("slow_tau_s", "fast_tau_s", "noise_tau_s"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"SynthAffWildParams.{name} must be > 0, got {getattr(self, name)}"
                )


@dataclass(frozen=True, kw_only=True)
class SynthAffWildSpec:
    """Everything the generated files depend on; its :func:`config_hash` keys the
    cache."""

    n_subjects: int
    videos_per_subject: int
    video_seconds: float
    fps: float
    audio_sr: int
    seed: int
    version: int = GENERATOR_VERSION
    params: SynthAffWildParams = dataclasses.field(default_factory=SynthAffWildParams)

    @classmethod
    def from_config(
        cls, cfg: LascaConfig, seed: int, params: SynthAffWildParams | None = None
    ) -> SynthAffWildSpec:
        return cls(
            n_subjects=cfg.n_subjects,
            videos_per_subject=cfg.videos_per_subject,
            video_seconds=cfg.video_seconds,
            fps=cfg.fps,
            audio_sr=cfg.audio_sr,
            seed=seed,
            params=params or SynthAffWildParams(),
        )


def video_ids(spec: SynthAffWildSpec) -> list[tuple[str, str]]:
    """(video id, subject id) of every video, in generation order."""
    return [
        (f"synth_s{s:03d}_v{v:02d}", f"s{s:03d}")
        for s in range(spec.n_subjects)
        for v in range(spec.videos_per_subject)
    ]
