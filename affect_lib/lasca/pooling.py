"""Pooled encoding (our cheap approximation of LaScA step 4): a mask's embedding from
one-cue embeddings.

Each feature's one-cue template text ("Salient facial cues: <description>.") is encoded
once, and a window's embedding is the L2-normalised mean of its salient cues' embeddings
(:data:`~affect_lib.lasca.template.NO_CUE_TEXT`'s embedding when none is salient).
Pooled embeddings are still a pure function of the mask, have no token cap on the number
of cues (every salient cue counts, where the template's cap keeps only the first few),
and cost 74 encodings per (encoder, lexicon) instead of one per window; what they lose
is the encoder reading the cues *together* (the paper's "contextual relationships among
active cues"). On 2 CPU cores the template mode costs minutes per window set with MPNet,
the pooled mode seconds. :class:`~affect_lib.lasca.semantic.PooledEmbedder`
encodes the :func:`cue_masks` and pools with :func:`pool` and
:func:`pool_one`.
"""

from __future__ import annotations

import numpy as np

from affect_lib.lasca.encoders import EncoderError
from affect_lib.lasca.names import N_FEATURES

__all__ = ["cue_masks", "pool", "pool_one"]


def cue_masks() -> np.ndarray:
    """The 74 masks (74, 73) bool that pooling encodes: the one-hot masks in
    :data:`~affect_lib.lasca.names.FEATURE_NAMES` order, then the empty mask (no
    cue)."""
    return np.vstack(
        [np.eye(N_FEATURES, dtype=bool), np.zeros((1, N_FEATURES), dtype=bool)]
    )


def pool(masks: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """Pooled embeddings (N, D) float32 of masks (N, 73) bool from the embeddings
    ``cues`` (74, D) of :func:`cue_masks`; EncoderError when a mask's cue embeddings
    cancel out exactly."""
    summed = masks.astype(np.float32) @ cues[:N_FEATURES]
    norm = np.linalg.norm(summed, axis=1, keepdims=True)
    empty = ~masks.any(axis=1)
    out = summed / np.where(norm > 0, norm, 1.0)
    out[empty] = cues[N_FEATURES]
    if (norm[~empty] == 0).any():
        raise EncoderError(
            "pooled embedding: salient cues whose embeddings cancel out exactly"
        )
    return out.astype(np.float32)


def pool_one(mask: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """Pooled embedding (D,) of one mask (73,) bool: the inference fast path of
    :func:`pool`."""
    if not mask.any():
        return cues[N_FEATURES]
    v = cues[:N_FEATURES][mask].sum(axis=0)
    return v / np.linalg.norm(v)
