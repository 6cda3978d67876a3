"""SynthAffWild's face mapping: how valence, arousal and speech drive each facial
feature.

One :class:`Cue` per MediaPipe blendshape (logit baseline and logit gain per unit
valence, arousal and speech), grounded in FACS action units: smiles and cheek raise with
positive valence; frowns, brow lowering and nose wrinkle with negative valence; eye
widening, brow raise and jaw drop with arousal; blinks, gaze and the lip shapes of
speech as nuisance. Head pose has its own small table (degrees / cm).
:mod:`affect_lib.data.synthetic.affwild` scales both per subject;
``data_cards/synth_affwild.md`` explains the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES, HEAD_POSE_NAMES

__all__ = ["Cue", "FACE_MAPPING", "HEAD_POSE_MAPPING"]


@dataclass(frozen=True)
class Cue:
    """One row of the face mapping: logit baseline and logit gain per unit valence /
    arousal / speech."""

    base: float
    valence: float
    arousal: float
    speech: float
    note: str


def _table(
    rows: tuple[tuple[str, float, float, float, float, str], ...],
) -> dict[str, Cue]:
    out: dict[str, Cue] = {}
    for name, *values, note in rows:
        for side in ("Left", "Right") if "{LR}" in name else ("",):
            out[name.replace("{LR}", side)] = Cue(*values, note)
    return out


# name               base  valence arousal speech  meaning (FACS action unit if any)
FACE_MAPPING: dict[str, Cue] = _table(
    (
        (
            "_neutral",
            -5.0,
            0.0,
            0.0,
            0.0,
            "MediaPipe's near-zero neutral score: nuisance",
        ),
        (
            "browDown{LR}",
            -2.5,
            -1.5,
            0.3,
            0.0,
            "brow lowerer (AU4): anger, sadness, concentration",
        ),
        (
            "browInnerUp",
            -2.5,
            -0.8,
            1.5,
            0.0,
            "inner brow raiser (AU1): surprise, fear, sadness",
        ),
        (
            "browOuterUp{LR}",
            -3.0,
            0.0,
            1.5,
            0.0,
            "outer brow raiser (AU2): surprise, interest",
        ),
        ("cheekPuff", -4.0, 0.0, 0.0, 0.0, "cheek puff: nuisance"),
        ("cheekSquint{LR}", -3.0, 2.0, 0.3, 0.0, "cheek raiser (AU6): Duchenne smile"),
        ("eyeBlink{LR}", -2.5, 0.0, 0.0, 0.0, "blinks: nuisance events"),
        ("eyeLookDown{LR}", -2.5, 0.0, 0.0, 0.0, "gaze: nuisance"),
        ("eyeLookIn{LR}", -2.5, 0.0, 0.0, 0.0, "gaze: nuisance"),
        ("eyeLookOut{LR}", -2.5, 0.0, 0.0, 0.0, "gaze: nuisance"),
        ("eyeLookUp{LR}", -2.5, 0.0, 0.0, 0.0, "gaze: nuisance"),
        ("eyeSquint{LR}", -2.5, 0.8, 0.0, 0.0, "lid tightener (AU7): smiling eyes"),
        (
            "eyeWide{LR}",
            -3.5,
            0.0,
            2.0,
            0.0,
            "upper lid raiser (AU5): surprise, fear, excitement",
        ),
        ("jawForward", -4.0, 0.0, 0.0, 0.0, "nuisance"),
        ("jawLeft", -4.0, 0.0, 0.0, 0.0, "nuisance"),
        (
            "jawOpen",
            -2.5,
            0.0,
            1.2,
            2.5,
            "jaw drop (AU26/27): speech, surprise, excitement",
        ),
        ("jawRight", -4.0, 0.0, 0.0, 0.0, "nuisance"),
        (
            "mouthClose",
            -3.0,
            0.0,
            0.0,
            -1.0,
            "lips closed while the jaw is open: speech",
        ),
        ("mouthDimple{LR}", -3.0, 1.0, 0.0, 0.0, "dimpler (AU14): smile, contempt"),
        (
            "mouthFrown{LR}",
            -3.0,
            -2.0,
            0.0,
            0.0,
            "lip corner depressor (AU15): sadness",
        ),
        ("mouthFunnel", -3.0, 0.0, 0.0, 1.0, "lip funneler (AU22): speech"),
        ("mouthLeft", -4.0, 0.0, 0.0, 0.0, "nuisance"),
        (
            "mouthLowerDown{LR}",
            -3.0,
            0.0,
            0.8,
            1.5,
            "lower lip depressor (AU16): speech, arousal",
        ),
        ("mouthPress{LR}", -2.5, -1.0, 0.3, 0.0, "lip presser (AU24): anger, tension"),
        ("mouthPucker", -3.0, 0.0, 0.0, 1.0, "lip pucker (AU18): speech"),
        ("mouthRight", -4.0, 0.0, 0.0, 0.0, "nuisance"),
        ("mouthRollLower", -3.5, 0.0, 0.0, 0.0, "nuisance"),
        ("mouthRollUpper", -3.5, 0.0, 0.0, 0.0, "nuisance"),
        ("mouthShrugLower", -3.0, -0.8, 0.0, 0.0, "chin raiser (AU17): sadness, doubt"),
        ("mouthShrugUpper", -3.5, -0.3, 0.0, 0.0, "upper lip shrug: doubt"),
        ("mouthSmile{LR}", -2.5, 2.5, 0.3, 0.0, "lip corner puller (AU12): smile"),
        ("mouthStretch{LR}", -3.5, -0.6, 1.0, 0.0, "lip stretcher (AU20): fear"),
        ("mouthUpperUp{LR}", -3.0, -1.0, 0.4, 0.0, "upper lip raiser (AU10): disgust"),
        ("noseSneer{LR}", -3.5, -1.5, 0.3, 0.0, "nose wrinkler (AU9): disgust"),
    )
)
assert (
    tuple(FACE_MAPPING)
    == tuple(sorted(FACE_MAPPING, key=BLENDSHAPE_NAMES.index))
    == BLENDSHAPE_NAMES
)

# name: (population mean, subject sd, per unit valence, per unit arousal, wobble sd);
# degrees / cm
HEAD_POSE_MAPPING: dict[str, tuple[float, float, float, float, float]] = {
    # head raised with arousal (and a little with valence)
    "pitch": (
        0.0,
        6.0,
        1.0,
        3.0,
        3.0,
    ),
    "yaw": (0.0, 10.0, 0.0, 0.0, 5.0),
    "roll": (0.0, 4.0, 0.0, 0.0, 2.5),
    "tx": (0.0, 4.0, 0.0, 0.0, 1.0),
    "ty": (0.0, 3.0, 0.0, 0.0, 0.8),
    "tz": (-55.0, 8.0, 0.0, 2.0, 1.5),  # leaning in (closer to the camera) with arousal
}
assert tuple(HEAD_POSE_MAPPING) == HEAD_POSE_NAMES
