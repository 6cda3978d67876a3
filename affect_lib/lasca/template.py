"""Template text of a saliency mask (LaScA step 3): salient-feature mask -> one text per
window.

A window's mask becomes one text: the lexicon descriptions of its salient features, in
:data:`FEATURE_NAMES` order, facial features first, then vocal ones::

    Salient facial cues: <description>; <description>.
    Salient vocal cues: <description>.

(each description without its final full stop; a section without salient cue is left
out; a mask with no salient feature gives :data:`NO_CUE_TEXT`). The text is a pure
function of the mask and the lexicon: the same mask always gives the same text.

**Token cap.** The encoder reads at most ``MAX_SEQ_LENGTH`` = 128 word pieces per text
(:mod:`affect_lib.lasca.encoders`; the models allow 256 and 384). Per-video z-scores are
roughly symmetric, so Otsu marks many features salient: about 28-30 of 73 in a
SynthAffWild window, a template text of hundreds of word pieces with the affective
lexicon. The encoder then reads only the first few cues (in the order above: brows,
cheeks, eyes; :func:`cues_within_cap` counts them, and chapter 5 shows the numbers); the
rest is cut. The cap keeps encoding affordable on 2 CPU cores (its cost grows with the
token count); pass ``max_seq_length`` to change it (the embedding cache keys include
it). The pooled mode of :mod:`affect_lib.lasca.semantic` has no such cut.
:func:`template_hash` names everything here that changes a mask's embedding, for the
embedding cache's keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np

from affect_lib.lasca.encoders import MAX_SEQ_LENGTH
from affect_lib.lasca.lexicon import lexicon_hash
from affect_lib.lasca.names import FACE_FEATURES, FEATURE_NAMES, N_FEATURES

__all__ = [
    "TEMPLATE",
    "NO_CUE_TEXT",
    "check_mask",
    "describe",
    "describe_many",
    "cues_within_cap",
    "mask_key",
    "template_hash",
]

TEMPLATE: Mapping[str, str] = MappingProxyType(
    {
        "face": "Salient facial cues: {cues}.",
        "voice": "Salient vocal cues: {cues}.",
        "sep": "; ",
        "join": " ",
        "version": "1",
    }
)
NO_CUE_TEXT = "No facial or vocal cue stands out from this person's usual behaviour."
_N_FACE = len(FACE_FEATURES)


# ----------------------------------------------------------------------------- template
def check_mask(mask: np.ndarray) -> np.ndarray:
    """``mask`` as bool, checked to end in the 73 entries of :data:`FEATURE_NAMES`."""
    mask = np.asarray(mask)
    if mask.shape[-1:] != (N_FEATURES,):
        raise ValueError(
            f"a saliency mask has {N_FEATURES} entries (FEATURE_NAMES), got shape "
            f"{mask.shape}"
        )
    return mask.astype(bool, copy=False)


def describe(mask: np.ndarray, lexicon: Mapping[str, str]) -> str:
    """The template text of one window's mask (73,) bool (module docstring)."""
    mask = check_mask(mask)
    descs = [
        lexicon[name].rstrip(". ")
        for name, on in zip(FEATURE_NAMES, mask, strict=True)
        if on
    ]
    n_face = int(mask[:_N_FACE].sum())
    parts = []
    if n_face:
        parts.append(TEMPLATE["face"].format(cues=TEMPLATE["sep"].join(descs[:n_face])))
    if len(descs) > n_face:
        parts.append(
            TEMPLATE["voice"].format(cues=TEMPLATE["sep"].join(descs[n_face:]))
        )
    return TEMPLATE["join"].join(parts) if parts else NO_CUE_TEXT


def describe_many(masks: np.ndarray, lexicon: Mapping[str, str]) -> list[str]:
    """Template texts of masks (N, 73) bool."""
    return [describe(m, lexicon) for m in check_mask(masks).reshape(-1, N_FEATURES)]


def cues_within_cap(
    masks: np.ndarray,
    lexicon: Mapping[str, str],
    count_tokens: Callable[[list[str]], Sequence[int]],
    max_tokens: int = MAX_SEQ_LENGTH,
) -> np.ndarray:
    """How many of each window's salient cues the encoder reads whole under the token
    cap: (N,) int.

    ``masks`` (N, 73) bool (or one (73,) mask: a 0-d result). For each mask, the largest
    k such that the template of its first k salient cues (template order) has at most
    ``max_tokens`` word pieces; ``count_tokens(texts)`` returns the word-piece count of
    every text, the encoder's special tokens included (one batched tokenizer call). A
    template's length grows with every cue, so a binary search over k finds it, run for
    all masks at once: about log2(73) ≈ 7 calls of ``count_tokens``.
    """
    masks = check_mask(masks)
    flat = masks.reshape(-1, N_FEATURES)
    lo, hi = np.zeros(len(flat), int), flat.sum(1)
    # order[i, f]: rank (1-based) of feature f among mask i's salient cues
    order = np.cumsum(flat, axis=1)
    while (open_ := np.flatnonzero(lo < hi)).size:
        k = (lo[open_] + hi[open_] + 1) // 2
        first = flat[open_] & (order[open_] <= k[:, None])
        fits = (
            np.asarray(count_tokens(describe_many(first, lexicon)), int) <= max_tokens
        )
        lo[open_] = np.where(fits, k, lo[open_])
        hi[open_] = np.where(fits, hi[open_], k - 1)
    return lo.reshape(masks.shape[:-1])


def mask_key(mask: np.ndarray) -> bytes:
    """Compact, exact key of an active-feature set: the mask (73,) packed into 10
    bytes."""
    return np.packbits(check_mask(mask)).tobytes()


def template_hash(
    lexicon: Mapping[str, str], max_seq_length: int, weights: str = ""
) -> str:
    """Hash (hex, 16) of everything that changes a mask's embedding for one encoder:
    lexicon, template, token cap and ``weights``
    (:func:`~affect_lib.lasca.encoders.weights_id`)."""
    blob = json.dumps(
        {
            "lexicon": lexicon_hash(lexicon),
            "template": dict(TEMPLATE),
            "no_cue": NO_CUE_TEXT,
            "max_seq_length": max_seq_length,
            "weights": weights,
        },
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
