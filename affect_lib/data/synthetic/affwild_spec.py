"""SynthAffWild's parameters and spec: the knobs of the generative model and what the
files depend on.

:class:`SynthAffWildParams` holds every number of the generative model described in
:mod:`affect_lib.data.synthetic.affwild`; :class:`SynthAffWildSpec` adds the corpus
size, frame and sample rates, seed and generator version, and its :func:`spec_hash`
keys the cache. :func:`video_ids` names the videos in generation order.

**Cue substitution** (``SynthAffWildParams.substitute_subjects = k``, off by default):
subjects ``0 .. n - k - 1`` express affect only through the first member of every cue
group of :mod:`~affect_lib.data.synthetic.affwild_groups` (the left partner, AU12 of a
smile), the last ``k`` only through the second (the right partner; AU6, AU7, AU14);
everything else, random draws included, is as without it. Train on the first side and
test on the last ``k`` subjects to test whether a learner carries a cue's meaning
across (issue #30).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

from affect_lib.config import LascaConfig

__all__ = [
    "GENERATOR_VERSION",
    "SynthAffWildParams",
    "SynthAffWildSpec",
    "spec_record",
    "spec_hash",
    "substitution_side",
    "video_ids",
]

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
    # cue substitution (issue #30; 0 = off, the default corpus): the last k subjects
    # express affect only through the second member of every cue group, the others only
    # through the first (affect_lib.data.synthetic.affwild_groups)
    substitute_subjects: int = 0

    def __post_init__(self) -> None:
        k = self.substitute_subjects
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(
                f"SynthAffWildParams.substitute_subjects must be an int >= 0 (0 = no "
                f"cue substitution), got {k!r}"
            )
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
    """Everything the generated files depend on; its :func:`spec_hash` keys the
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

    def __post_init__(self) -> None:
        k = self.params.substitute_subjects
        if k and not 1 <= k < self.n_subjects:
            raise ValueError(
                f"SynthAffWildSpec: params.substitute_subjects={k} must leave subjects "
                f"on both sides of the cue substitution (1 .. n_subjects - 1 = "
                f"{self.n_subjects - 1})"
            )


def spec_record(spec: SynthAffWildSpec) -> dict:
    """The spec as the manifest stores it and :func:`spec_hash` reads it:
    ``dataclasses.asdict`` without ``params.substitute_subjects`` while it is 0, so the
    default corpus keeps the manifest and cache keys it had before the option."""
    record = dataclasses.asdict(spec)
    if not spec.params.substitute_subjects:
        del record["params"]["substitute_subjects"]
    return record


def spec_hash(spec: SynthAffWildSpec) -> str:
    """SHA-256 (hex, 16 chars) of :func:`spec_record`: the files' cache key (the formula
    of :func:`affect_lib.config.config_hash`)."""
    blob = json.dumps(spec_record(spec), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def substitution_side(spec: SynthAffWildSpec, subject: int) -> int | None:
    """Which member of every cue group ``subject`` expresses through: 0 (first), 1
    (second: the last ``params.substitute_subjects`` subjects), None without
    substitution."""
    k = spec.params.substitute_subjects
    if not k:
        return None
    return int(subject >= spec.n_subjects - k)


def video_ids(spec: SynthAffWildSpec) -> list[tuple[str, str]]:
    """(video id, subject id) of every video, in generation order."""
    return [
        (f"synth_s{s:03d}_v{v:02d}", f"s{s:03d}")
        for s in range(spec.n_subjects)
        for v in range(spec.videos_per_subject)
    ]
