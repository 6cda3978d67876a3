"""Semantically related cue groups of the face: what SynthAffWild's cue substitution
swaps (issue #30).

A group is two sets of blendshapes that a reader of the affective lexicon would call the
same cue, so a learner that sees a cue's *meaning* can carry what it learnt on one set
to the other, while one that sees only feature *indices* cannot:

- ``smile``: AU12, the lip corner puller (``mouthSmileLeft/Right``), against the other
  action units of a smile: AU6 cheek raiser (``cheekSquint``), AU7 lid tightener
  (``eyeSquint``) and AU14 dimpler (``mouthDimple``), both sides;
- every other left/right pair of :data:`BLENDSHAPE_NAMES` (``browDownLeft`` against
  ``browDownRight``, ...): the left partner against the right one.

This module is the one place that defines them, from the names alone; the smile group
is taken first, so no blendshape is in two groups. A test checks that the affective
lexicon agrees (partners' texts differ only in the side, smile members name their AU).
Pairs whose cues carry no affect in
:data:`~affect_lib.data.synthetic.affwild_mapping.FACE_MAPPING` (gaze, blinks, and
``jaw`` / ``mouth``: jaw and mouth pushed to either side) are groups too, as the
generator pairs them: substituting them changes nothing, they express no affect.

With substitution on (``SynthAffWildParams.substitute_subjects``), a subject of the
*first* side expresses affect only through each group's ``first`` members (the
``second`` members keep their baseline and nuisance but no affect gain), a subject of
the *second* side only through the ``second`` members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES
from affect_lib.data.synthetic.affwild_mapping import FACE_MAPPING

__all__ = [
    "CueGroup",
    "CUE_GROUPS",
    "SMILE_AU12",
    "SMILE_OTHER_AUS",
    "silenced_cues",
    "substituted_target",
]

_SIDES = ("Left", "Right")
SMILE_AU12: tuple[str, ...] = ("mouthSmileLeft", "mouthSmileRight")
SMILE_OTHER_AUS: tuple[str, ...] = tuple(
    f"{cue}{side}"
    for cue in ("cheekSquint", "eyeSquint", "mouthDimple")
    for side in _SIDES
)


@dataclass(frozen=True)
class CueGroup:
    """Two sets of blendshapes with one meaning: ``first`` (what subjects of the first
    side express through) and ``second``."""

    name: str
    first: tuple[str, ...]
    second: tuple[str, ...]


def _groups() -> tuple[CueGroup, ...]:
    taken = set(SMILE_AU12) | set(SMILE_OTHER_AUS)
    groups = [CueGroup("smile", SMILE_AU12, SMILE_OTHER_AUS)]
    for name in BLENDSHAPE_NAMES:
        if name.endswith("Left") and name not in taken:
            stem = name[: -len("Left")]
            groups.append(CueGroup(stem, (name,), (stem + "Right",)))
    return tuple(groups)


CUE_GROUPS: tuple[CueGroup, ...] = _groups()


def silenced_cues(side: int) -> np.ndarray:
    """(52,) bool in :data:`BLENDSHAPE_NAMES` order: the blendshapes that carry no
    affect for a subject of ``side`` (0: the first side, who expresses through each
    group's ``first`` members, so its ``second`` members are silenced; 1: the
    reverse)."""
    if side not in (0, 1):
        raise ValueError(f"silenced_cues: side must be 0 or 1, got {side!r}")
    names = {n for g in CUE_GROUPS for n in (g.second if side == 0 else g.first)}
    return np.array([n in names for n in BLENDSHAPE_NAMES])


def substituted_target() -> str:
    """The target the substituted cues carry: the affect dimension ("valence" or
    "arousal") with the larger summed |logit weight| of :data:`FACE_MAPPING` over the
    groups' members (valence: smiles, frowns, brow lowering, nose wrinkle; arousal has
    the voice and unpaired cues besides)."""
    members = {n for g in CUE_GROUPS for n in (*g.first, *g.second)}
    mass = {
        t: sum(abs(getattr(FACE_MAPPING[n], t)) for n in members)
        for t in ("valence", "arousal")
    }
    return max(mass, key=mass.__getitem__)
