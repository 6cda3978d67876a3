"""SynthAffWild: synthetic subjects x videos in the Aff-Wild2 file layout, for LaScA
(notebook 05).

Written in exactly the formats the real readers of :mod:`affect_lib.data.affwild.reader`
accept, so one reading path (:func:`affect_lib.lasca.folders.load_windows`) serves
synthetic and real data::

    <out_dir>/
    ├── videos.csv                        # video,subject,fps
    ├── annotations/<video>.txt           # valence,arousal per frame; -5,-5 = none
    ├── features/blendshapes/<video>.csv  # frame, 52 blendshapes in [0, 1], 6 head pose
    ├── audio/<video>.wav                 # 16-bit mono PCM at cfg.audio_sr
    ├── truth.npz                         # ground truth (subject gains, lags, ...)
    └── manifest.json                     # written last: version, spec, config hash

Generative model (also in ``data_cards/synth_affwild.md``; every number is a field of
:class:`SynthAffWildParams`), per video of subject s:

1. **Affect.** Expressed valence and arousal ``v(t), a(t) = tanh(u(t) + m_s)``: ``u`` is
   a slow (tau 15 s) plus a fast (tau 3 s) Ornstein-Uhlenbeck process, Gaussian-smoothed
   (sigma 0.4 s), so the traces move at the scale of 3-5 s windows; ``m_s`` is a
   subject's mood offset. The *annotation* is the expressed trace delayed by an
   annotator lag (0.5-2 s per video) plus a little smooth rating noise, with short
   ``-5`` dropouts and, in some videos, a long one.
2. **Face.** Each blendshape is ``sigmoid(logit)`` with ``logit = base_s,j + g^v_s,j
   w^v_j v(t) + g^a_s,j w^a_j a(t) + w^sp_j speech(t) + n_s,j(t)``, ``w`` from
   :data:`FACE_MAPPING` (FACS-grounded: smiles and cheek raise with positive valence;
   frowns, brow lowering, nose wrinkle with negative valence; eye widening, brow raise,
   jaw drop with arousal; blinks, gaze and lip shapes of speech as nuisance). Strong
   individual variability: subject baselines (``base_std``), gains (log-normal: a
   subject-wide expressivity per affect dimension times a per-cue factor) and nuisance:
   an OU process whose level is heavy-tailed over subjects x features (log-normal), a
   per-frame jitter, blinks, and *idiosyncratic bursts* (affect-unrelated, e.g. a social
   smile or a tic) on several features per subject. Left/right pairs share most of their
   gain and noise. Head pose (:data:`HEAD_POSE_MAPPING`, degrees / cm): subject camera
   offsets, head raised and leaning in with arousal, OU wobble growing with arousal.
   Short face-lost episodes are written as empty rows.
3. **Voice.** Speech turns (talk/pause; talk more and pause less at high arousal); a
   sawtooth voice source whose f0 (+1.5 semitones per unit arousal), loudness (+2.5 dB
   per unit arousal times a log-normal subject gain, plus a 3 dB affect-unrelated
   drift), syllable rate (4.5 syll/s x 2^(0.35 a)) and brightness follow arousal
   (valence: a weak tilt cue only), shaped by two per-syllable vowel formant filters
   with a subject vocal-tract shift, plus background noise at a per-video SNR (3-25 dB)
   whose level drifts. MFCCs are *not* stored: they are computed from the WAV like real
   audio.

The parameters and spec live in :mod:`~affect_lib.data.synthetic.affwild_spec`, the
subjects and per-video simulation in :mod:`~affect_lib.data.synthetic.affwild_model`,
the file writers and the manifest check in
:mod:`~affect_lib.data.synthetic.affwild_files`, the mapping tables in
:mod:`~affect_lib.data.synthetic.affwild_mapping`, the voice synthesiser in
:mod:`~affect_lib.data.synthetic.voice` and the OU / run processes in
:mod:`~affect_lib.data.synthetic.random_processes`.

The defaults are tuned so that, with raw window features, the direction of change is
clearly but imperfectly predictable, and predictable noticeably better from features
standardised within each video (what a person-relative saliency can exploit);
``data_cards/synth_affwild.md`` gives numbers.

Deterministic: subject parameters come from ``SeedSequence([seed, 1, subject])``, each
video from ``SeedSequence([seed, 2, subject, video])``; the same seed gives the same
bytes.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from affect_lib.config import LascaConfig
from affect_lib.data.synthetic.affwild_files import (
    _GENERATOR,
    _check_replaceable,
    _write_annotation,
    _write_blendshapes,
    _write_wav,
    dataset_is_valid,
)
from affect_lib.data.synthetic.affwild_model import (
    _CUES,
    _NAMES,
    _simulate_video,
    _Subject,
    _subject,
)
from affect_lib.data.synthetic.affwild_spec import (
    GENERATOR_VERSION,
    SynthAffWildParams,
    SynthAffWildSpec,
    spec_hash,
    spec_record,
    video_ids,
)
from affect_lib.io import write_json

__all__ = ["generate_synth_affwild"]


def _generate_video(
    spec: SynthAffWildSpec, subj: _Subject, s: int, v: int, root: Path, vid: str
) -> dict:
    rated, invalid, feats, samples, active, lag = _simulate_video(spec, subj, s, v)
    _write_annotation(root / "annotations" / f"{vid}.txt", rated, invalid)
    _write_blendshapes(root / "features" / "blendshapes" / f"{vid}.csv", feats)
    _write_wav(root / "audio" / f"{vid}.wav", samples, spec.audio_sr)
    return {
        "lag_s": lag / spec.fps,
        "invalid_share": float(invalid.mean()),
        "face_lost_share": float(np.isnan(feats[:, 0]).mean()),
        "speech_share": float(active.mean()),
    }


def generate_synth_affwild(
    cfg: LascaConfig,
    *,
    seed: int,
    out_dir: str | os.PathLike[str],
    params: SynthAffWildParams | None = None,
) -> Path:
    """Write SynthAffWild for ``cfg`` (n_subjects, videos_per_subject, video_seconds,
    fps, audio_sr) into ``out_dir``.

    Cached: when ``out_dir/manifest.json`` carries this spec's hash the folder is reused
    as is; otherwise (another config, seed or generator version) it is rebuilt. The set
    is written to a temporary sibling folder, the manifest last, and then renamed into
    place, so ``out_dir`` is never seen half-written. Only an absent or empty folder, or
    one with a SynthAffWild manifest, is ever replaced: any other folder (e.g. a real
    Aff-Wild2 copy) raises ``FileExistsError``. Returns ``out_dir``.
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
                "generator": _GENERATOR,
                "version": GENERATOR_VERSION,
                "config_hash": spec_hash(spec),
                "spec": spec_record(spec),
                "n_videos": len(ids),
                "videos": {vid: st for (vid, _), st in zip(ids, stats, strict=True)},
            },
        )
        # another process finished the same set meanwhile
        if dataset_is_valid(out, spec):
            return out
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
