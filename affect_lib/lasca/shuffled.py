"""The shuffled-lexicon control (issue #30, experiment 2): the affective lexicon with
its descriptions permuted across features.

Feature ``FEATURE_NAMES[j]`` gets the description of ``FEATURE_NAMES[perm[j]]``, where
``perm`` is a seeded *derangement* (:func:`derangement`: no feature keeps its own
description). The semantic geometry is destroyed (a left/right pair or the action units
of a smile no longer share a meaning) while everything else stays equal: the same 73
texts, template, encoder, pooling and learner. A derangement is a permutation, so a
feature may receive its left/right partner's (near-identical) text: about 0.6 of the
73 features per draw, a small remnant of the geometry that is left to chance.

Embeddings are cached like the real lexicon's (:mod:`affect_lib.lasca.semantic`), in a
store of their own: its name carries the lexicon name ``affective_shuffled_s<seed>``
and a hash of the permuted texts, and its metadata the permuted lexicon's hash, so a
shuffled store is never read for the real lexicon (nor for another seed's shuffle), and
the real store is never written by a shuffled embedder (tested).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from affect_lib.lasca.lexicon import load_lexicon
from affect_lib.lasca.semantic import Embedder, EmbeddingCache

__all__ = ["derangement", "shuffled_lexicon", "shuffled_name", "shuffled_embedder"]


def derangement(n: int, seed: int) -> np.ndarray:
    """A permutation (n,) int64 of ``range(n)`` without a fixed point, drawn by
    rejection from ``numpy.random.default_rng(seed)`` (uniform over derangements; ~e
    draws on average). ``n >= 2``."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"derangement: n must be an int >= 2, got {n!r}")
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        if not (perm == np.arange(n)).any():
            return perm.astype(np.int64)


def shuffled_lexicon(lexicon: Mapping[str, str], seed: int) -> Mapping[str, str]:
    """``lexicon`` (``{feature: text}``) with its texts permuted by
    :func:`derangement`: feature j gets the text of feature ``perm[j]``; same keys and
    order, read-only."""
    names = list(lexicon)
    texts = [lexicon[n] for n in names]
    perm = derangement(len(names), seed)
    return MappingProxyType({n: texts[p] for n, p in zip(names, perm, strict=True)})


def shuffled_name(seed: int, base: str = "affective") -> str:
    """The store name of the shuffled lexicon: ``<base>_shuffled_s<seed>``."""
    return f"{base}_shuffled_s{int(seed)}"


def shuffled_embedder(
    *,
    encoder: str,
    seed: int,
    mode: str = "pooled",
    cache_dir: str | os.PathLike[str] | None = None,
    base: str = "affective",
    **kwargs: Any,
) -> Embedder:
    """An embedder (:func:`~affect_lib.lasca.semantic.EmbeddingCache`) of lexicon
    ``base`` shuffled with ``seed``, cached under :func:`shuffled_name`; ``kwargs`` as
    :class:`~affect_lib.lasca.semantic.Embedder`'s (e.g. ``model``)."""
    return EmbeddingCache(
        mode=mode,
        encoder=encoder,
        lexicon=shuffled_name(seed, base),
        lexicon_texts=shuffled_lexicon(load_lexicon(base), seed),
        cache_dir=cache_dir,
        **kwargs,
    )
