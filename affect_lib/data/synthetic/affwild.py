"""SynthAffWild: synthetic subjects x videos in the Aff-Wild2 file layout, for LaScA (notebook 05).

Written in exactly the formats the real readers of :mod:`affect_lib.data.affwild.reader` accept, so one
reading path (:func:`affect_lib.lasca.folders.load_windows`) serves synthetic and real data::

    <out_dir>/
    ├── videos.csv                      # video,subject,fps
    ├── annotations/<video>.txt         # valence,arousal per frame; -5,-5 = no annotation
    ├── features/blendshapes/<video>.csv  # frame, 52 MediaPipe blendshapes in [0, 1], 6 head pose
    ├── audio/<video>.wav               # 16-bit mono PCM at cfg.audio_sr
    ├── truth.npz                       # generator ground truth (subject gains, lags, ...)
    └── manifest.json                   # written last: generator version, spec, config hash

Generative model (also in ``data_cards/synth_affwild.md``; every number is a field of
:class:`SynthAffWildParams`), per video of subject s:

1. **Affect.** Expressed valence and arousal ``v(t), a(t) = tanh(u(t) + m_s)``: ``u`` is a slow
   (tau 15 s) plus a fast (tau 3 s) Ornstein-Uhlenbeck process, Gaussian-smoothed (sigma 0.4 s), so
   the traces move at the scale of 3-5 s windows; ``m_s`` is a subject's mood offset. The
   *annotation* is the expressed trace delayed by an annotator lag (0.5-2 s per video) plus a
   little smooth rating noise, with short ``-5`` dropouts and, in some videos, a long one.
2. **Face.** Each blendshape is ``sigmoid(logit)`` with
   ``logit = base_s,j + g^v_s,j w^v_j v(t) + g^a_s,j w^a_j a(t) + w^sp_j speech(t) + n_s,j(t)``,
   ``w`` from :data:`FACE_MAPPING` (FACS-grounded: smiles and cheek raise with positive valence;
   frowns, brow lowering, nose wrinkle with negative valence; eye widening, brow raise, jaw drop with
   arousal; blinks, gaze and lip shapes of speech as nuisance). Strong individual variability:
   subject baselines (``base_std``), gains (log-normal: a subject-wide expressivity per affect
   dimension times a per-cue factor) and nuisance: an OU process whose level is heavy-tailed over
   subjects x features (log-normal), a per-frame jitter, blinks, and *idiosyncratic bursts*
   (affect-unrelated, e.g. a social smile or a tic) on several features per subject. Left/right pairs
   share most of their gain and noise. Head pose (:data:`HEAD_POSE_MAPPING`, degrees / cm): subject
   camera offsets, head raised and leaning in with arousal, OU wobble growing with arousal. Short
   face-lost episodes are written as empty rows.
3. **Voice.** Speech turns (talk/pause; talk more and pause less at high arousal); a sawtooth voice
   source whose f0 (+1.5 semitones per unit arousal), loudness (+2.5 dB per unit arousal times a
   log-normal subject gain, plus a 3 dB affect-unrelated drift), syllable rate (4.5 syll/s x 2^(0.35 a)) and
   brightness follow arousal (valence: a weak tilt cue only), shaped by two per-syllable vowel
   formant filters with a subject vocal-tract shift, plus background noise at a per-video SNR
   (3-25 dB) whose level drifts. MFCCs are *not* stored: they are computed from the WAV like real
   audio.

The mapping tables live in :mod:`~affect_lib.data.synthetic.affwild_mapping`, the voice synthesiser in
:mod:`~affect_lib.data.synthetic.voice` and the OU / run processes in :mod:`~affect_lib.data.synthetic.random_processes`.

The defaults are tuned so that, with raw window features, the direction of change is clearly but
imperfectly predictable, and predictable noticeably better from features standardised within each
video (what a person-relative saliency can exploit); ``data_cards/synth_affwild.md`` gives numbers.

Deterministic: subject parameters come from ``SeedSequence([seed, 1, subject])``, each video from
``SeedSequence([seed, 2, subject, video])``; the same seed gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import expit

from affect_lib.config import LascaConfig, config_hash
from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES, HEAD_POSE_NAMES
from affect_lib.data.synthetic.affwild_mapping import (
    FACE_MAPPING,
    HEAD_POSE_MAPPING,
    Cue,
)
from affect_lib.data.synthetic.random_processes import ou, runs
from affect_lib.data.synthetic.voice import synthesise_voice
from affect_lib.io import write_json

__all__ = [
    "GENERATOR_VERSION",
    "Cue",
    "FACE_MAPPING",
    "HEAD_POSE_MAPPING",
    "SynthAffWildParams",
    "SynthAffWildSpec",
    "generate_synth_affwild",
    "dataset_is_valid",
    "video_ids",
]

GENERATOR_VERSION = 1  # bump when the generated data change for the same spec and seed


@dataclass(frozen=True, kw_only=True)
class SynthAffWildParams:
    """Knobs of the generative model (defaults = the book's data; see the module docstring)."""

    # affect traces
    slow_tau_s: float = (
        15.0  # OU time constants (s) and sds of the two components of u(t)
    )
    slow_std: float = 0.5
    fast_tau_s: float = 3.0
    fast_std: float = 1.0
    smooth_s: float = 0.4  # Gaussian smoothing sigma (s)
    mood_std: float = (
        0.2  # subject offset of u (some people are generally positive / calm)
    )
    # annotation
    lag_s: tuple[float, float] = (0.5, 2.0)  # annotator reaction lag, uniform per video
    rating_noise: float = 0.03
    dropouts_per_min: float = 1.0  # short -5 runs (0.2-1.5 s)
    long_dropout_prob: float = 0.25  # P(a video has a 3-8 s -5 run)
    # face: individual variability and nuisance (logit units)
    cue_gain: float = (
        0.8  # scales every affect weight of FACE_MAPPING and HEAD_POSE_MAPPING
    )
    base_std: float = 1.4  # subject baseline offsets
    expressivity_std: float = (
        0.6  # log-sd of a subject's overall gain, per affect dimension
    )
    gain_std: float = 0.7  # log-sd of a subject's per-cue gain
    noise_std: float = 1.2  # median sd of the slow OU nuisance
    noise_log_std: float = (
        2.0  # log-sd of the nuisance level over subjects x features (heavy-tailed)
    )
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
    loudness_drift_db: float = (
        3.0  # sd of an OU (tau 3 s) loudness drift unrelated to affect
    )
    f0_semitones: float = 1.5  # per unit arousal
    tilt_arousal: float = (
        0.3  # brightness (logit of the bright/dark source mix) per unit arousal
    )
    tilt_valence: float = 0.4  # weak brightness cue of valence
    turn_arousal: float = (
        0.25  # talk turns last e^(k a) longer, pauses e^(-k a) shorter
    )
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
                    f"SynthAffWildParams.{f.name} must be finite and >= 0 (snr_db: finite), got {value}"
                )
            if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise ValueError(
                    f"SynthAffWildParams.{f.name} must be a (low, high) range, got {value}"
                )
        for name in ("slow_tau_s", "fast_tau_s", "noise_tau_s"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"SynthAffWildParams.{name} must be > 0, got {getattr(self, name)}"
                )


@dataclass(frozen=True, kw_only=True)
class SynthAffWildSpec:
    """Everything the generated files depend on; its :func:`config_hash` keys the cache."""

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


# ---- subjects -----------------------------------------------------------------------------------------


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
    """Right-side entries follow their left partner (up to a small log-normal / additive spread)."""
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
    weight = (
        0.2 + np.abs(_CUES["valence"]) + np.abs(_CUES["arousal"])
    )  # bursts favour expressive cues
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


# ---- one video -----------------------------------------------------------------------------------------


def _traces(
    p: SynthAffWildParams, rng: np.random.Generator, n: int, fps: float, subj: _Subject
):
    """Expressed (n, 2) and annotated (n, 2) valence/arousal, and the annotation lag in frames."""
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
    """(n,) bool speaking turns: talk ~2.5 s x e^(k a), pause ~1 s x e^(-k a), k = ``turn_arousal``."""
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


# ---- writing ---------------------------------------------------------------------------------------------


def _write_annotation(path: Path, rated: np.ndarray, invalid: np.ndarray) -> None:
    lines = ["valence,arousal"]
    lines += [
        "-5,-5" if bad else f"{va[0]:.3f},{va[1]:.3f}"
        for va, bad in zip(rated.tolist(), invalid.tolist(), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_SCORE_TEXT = np.array(
    [f"{k / 10000:.4f}" for k in range(10001)], dtype=object
)  # "0.0000" ... "1.0000"


def _write_blendshapes(path: Path, feats: np.ndarray) -> None:
    """``frame``, 52 scores (4 decimals), 6 head pose values (2 decimals); empty cells where the face is lost."""
    header = ",".join(("frame", *BLENDSHAPE_NAMES, *HEAD_POSE_NAMES))
    lost = np.isnan(feats).any(axis=1)
    safe = np.where(lost[:, None], 0.0, feats)
    scores = _SCORE_TEXT[
        np.rint(np.clip(safe[:, :52], 0, 1) * 10000).astype(np.int64)
    ].tolist()
    pose_fmt = ",".join(["%.2f"] * len(HEAD_POSE_NAMES))
    lines = [header]
    for k, (sc, pose, gone) in enumerate(
        zip(scores, safe[:, 52:].tolist(), lost.tolist(), strict=True)
    ):
        lines.append(
            f"{k}" + "," * feats.shape[1]
            if gone
            else f"{k},{','.join(sc)},{pose_fmt % tuple(pose)}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_wav(path: Path, samples: np.ndarray, sr: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(samples.tobytes())


def _generate_video(
    spec: SynthAffWildSpec, subj: _Subject, s: int, v: int, root: Path, vid: str
) -> dict:
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
    _write_annotation(root / "annotations" / f"{vid}.txt", rated, invalid)
    _write_blendshapes(root / "features" / "blendshapes" / f"{vid}.csv", feats)
    _write_wav(root / "audio" / f"{vid}.wav", samples, spec.audio_sr)
    return {
        "lag_s": lag / fps,
        "invalid_share": float(invalid.mean()),
        "face_lost_share": float(np.isnan(feats[:, 0]).mean()),
        "speech_share": float(active.mean()),
    }


def _read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def dataset_is_valid(folder: str | os.PathLike[str], spec: SynthAffWildSpec) -> bool:
    """True when ``folder`` holds a complete SynthAffWild set generated from ``spec``."""
    manifest = _read_manifest(Path(folder))
    return bool(manifest) and manifest.get("config_hash") == config_hash(spec)


def _check_replaceable(out: Path) -> None:
    """Refuse to replace ``out`` unless it is absent, empty or a SynthAffWild set (our manifest).

    The layout is Aff-Wild2's, so a real copy pointed at by mistake looks alike: without this check a
    stale-cache rebuild would delete it.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(
            f"SynthAffWild: {out} exists and is not a folder; choose another out_dir"
        )
    manifest = _read_manifest(out)
    ours = isinstance(manifest, dict) and manifest.get("generator") == __name__
    if not ours and any(out.iterdir()):
        raise FileExistsError(
            f"SynthAffWild: {out} is not empty and holds no SynthAffWild manifest.json (real data, or a "
            "damaged set?); refusing to replace it. Delete it to regenerate, or choose another out_dir"
        )


def generate_synth_affwild(
    cfg: LascaConfig,
    *,
    seed: int,
    out_dir: str | os.PathLike[str],
    params: SynthAffWildParams | None = None,
) -> Path:
    """Write SynthAffWild for ``cfg`` (n_subjects, videos_per_subject, video_seconds, fps, audio_sr) into ``out_dir``.

    Cached: when ``out_dir/manifest.json`` carries this spec's hash the folder is reused as is;
    otherwise (another config, seed or generator version) it is rebuilt. The set is written to a
    temporary sibling folder, the manifest last, and then renamed into place, so ``out_dir`` is never
    seen half-written. Only an absent or empty folder, or one with a SynthAffWild manifest, is ever
    replaced: any other folder (e.g. a real Aff-Wild2 copy) raises ``FileExistsError``. Returns ``out_dir``.
    """
    spec = SynthAffWildSpec.from_config(cfg, seed, params)
    out = Path(out_dir)
    if dataset_is_valid(out, spec):
        return out
    _check_replaceable(out)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        for sub in ("annotations", "features/blendshapes", "audio"):
            (tmp / sub).mkdir(parents=True)
        ids = video_ids(spec)
        subjects = [_subject(spec, s) for s in range(spec.n_subjects)]
        per_subject = spec.videos_per_subject

        def one(k: int) -> dict:
            return _generate_video(
                spec,
                subjects[k // per_subject],
                k // per_subject,
                k % per_subject,
                tmp,
                ids[k][0],
            )

        with ThreadPoolExecutor(
            max_workers=min(os.cpu_count() or 1, 4)
        ) as pool:  # same bytes for any count
            stats = list(pool.map(one, range(len(ids))))
        (tmp / "videos.csv").write_text(
            "video,subject,fps\n"
            + "".join(f"{vid},{subj},{spec.fps:g}\n" for vid, subj in ids),
            encoding="utf-8",
        )
        np.savez(
            tmp / "truth.npz",
            video=np.array([v for v, _ in ids]),
            subject=np.array([s for _, s in ids]),
            face_features=_NAMES,
            base=np.stack([x.base for x in subjects]),
            gain_valence=np.stack([x.gain_v * _CUES["valence"] for x in subjects]),
            gain_arousal=np.stack([x.gain_a * _CUES["arousal"] for x in subjects]),
            noise=np.stack([x.noise for x in subjects]),
            bursty=np.stack([x.bursty for x in subjects]),
            lag_s=np.array([st["lag_s"] for st in stats]),
        )
        write_json(
            tmp / "manifest.json",
            {
                "generator": "affect_lib.data.synthetic.affwild",
                "version": GENERATOR_VERSION,
                "config_hash": config_hash(spec),
                "spec": dataclasses.asdict(spec),
                "n_videos": len(ids),
                "videos": {vid: st for (vid, _), st in zip(ids, stats, strict=True)},
            },
        )
        if dataset_is_valid(
            out, spec
        ):  # another process finished the same set meanwhile
            return out
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
