"""Semantic encoding (LaScA step 4): a window's salient-feature mask -> frozen sentence
embedding.

Masks become texts by :mod:`affect_lib.lasca.template`. **Encoders**
(:mod:`affect_lib.lasca.encoders`): ``minilm`` and ``mpnet``, frozen, loaded from local
folders; embeddings are L2-normalised (``normalize_embeddings=True``).

**Two encoding modes.** ``mode="template"`` (the paper's): each window's whole template
text is encoded, one encoder call per distinct active-feature set. ``mode="pooled"``
(our cheap approximation, :mod:`affect_lib.lasca.pooling`): each feature's one-cue text
is encoded once, and a window's embedding is the L2-normalised mean of its salient cues'
embeddings; no token cap on the number of cues, 74 encodings per (encoder, lexicon)
instead of one per window, seconds instead of minutes on 2 CPU cores, but the encoder no
longer reads the cues *together*.

**One embedder per mode**, :class:`TemplateEmbedder` and :class:`PooledEmbedder`, on a
shared :class:`Embedder` (encoder, lexicon, cache); :func:`EmbeddingCache` builds the
one of a ``mode``. The cache is a plain dict from active-feature set to embedding,
mirrored to one ``.npz`` (:mod:`affect_lib.lasca.embedding_store`) whose name carries a
hash of the lexicon texts, the template, the token cap and the encoder package's
version, so an edited lexicon or new weights never reuse old embeddings. Only the
missing masks are encoded, in one batched call. The pooled mode caches its 74 one-cue
embeddings (keys: one-hot masks and the empty mask) in a store of its own: they are
always encoded together in one batch, so they are the same bits on every run. (A
sentence encoder's output moves in the last float bits, ~1e-7, with the other texts of
its batch; in template mode the batch is "the masks missing from the cache", so a run
with a partly warm cache can differ from a cold one at that level.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from affect_lib.lasca.embedding_store import EmbeddingStore, stale_stores
from affect_lib.lasca.encoders import (
    ENCODERS,
    MAX_SEQ_LENGTH,
    EncoderError,
    load_encoder,
    weights_id,
)
from affect_lib.lasca.lexicon import (
    LEXICONS,
    lexicon_hash,
    load_lexicon,
    validate_lexicon,
)
from affect_lib.lasca.names import N_FEATURES
from affect_lib.lasca.pooling import cue_masks, pool, pool_one
from affect_lib.lasca.template import check_mask, describe_many, template_hash

__all__ = [
    "MODES",
    "Embedder",
    "TemplateEmbedder",
    "PooledEmbedder",
    "EmbeddingCache",
]


class Embedder:
    """What both modes share: the encoder, the lexicon and the cache (``store``) of
    mask embeddings.

    The disk store under ``cache_dir`` is one ``.npz`` per (encoder, lexicon name, mode,
    hash); stores of another hash are listed in ``stale_files``, never read.
    ``cache_dir=None``: memory only.

    ``model``: anything with the ``SentenceTransformer.encode`` signature (tests pass a
    fake); by default the encoder is loaded on the first miss. ``lexicon_texts``: a
    custom ``{feature: text}`` mapping (validated) instead of the lexicon file;
    ``lexicon`` then only names the store. ``stats`` counts the cache's hits and misses
    and the encoder calls.
    """

    mode: ClassVar[str]

    def __init__(
        self,
        *,
        encoder: str,
        lexicon: str = "affective",
        cache_dir: str | os.PathLike[str] | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        batch_size: int = 32,
        model: Any = None,
        lexicon_texts: Mapping[str, str] | None = None,
    ) -> None:
        if encoder not in ENCODERS:
            raise EncoderError(
                f"unknown encoder {encoder!r}; valid encoders: {', '.join(ENCODERS)}"
            )
        if lexicon_texts is None and lexicon not in LEXICONS:
            raise ValueError(
                f"unknown lexicon {lexicon!r}; valid lexicons: {', '.join(LEXICONS)}"
            )
        self.encoder = encoder
        self.lexicon_name = lexicon
        self.lexicon = (
            validate_lexicon(lexicon_texts, "lexicon_texts")
            if lexicon_texts is not None
            else load_lexicon(lexicon)
        )
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.weights = weights_id(encoder)
        self.namespace = template_hash(self.lexicon, max_seq_length, self.weights)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._model = model
        self.stats = {"memory_hits": 0, "disk_hits": 0, "misses": 0, "encode_calls": 0}
        prefix = f"{encoder}-{lexicon}-{self.mode}-"
        path = (
            self.cache_dir / f"{prefix}{self.namespace}.npz"
            if self.cache_dir is not None
            else None
        )
        self.stale_files: list[Path] = (
            stale_stores(path, prefix) if path is not None else []
        )
        self.store = EmbeddingStore(
            path,
            {
                "encoder": encoder,
                "lexicon": lexicon,
                "mode": self.mode,
                "namespace": self.namespace,
                "lexicon_hash": lexicon_hash(self.lexicon),
                "max_seq_length": max_seq_length,
                "weights": self.weights,
            },
        )

    def embed(self, masks: np.ndarray) -> np.ndarray:
        """(N, 73) bool masks -> (N, D) float32 L2-normalised embeddings."""
        raise NotImplementedError

    def lookup(self, mask: np.ndarray) -> np.ndarray:
        """Embedding (D,) of one mask (73,) bool: the inference fast path (encodes on a
        miss)."""
        raise NotImplementedError

    @property
    def path(self) -> Path | None:
        """The disk store of this cache (None when memory only)."""
        return self.store.path

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = load_encoder(self.encoder, max_seq_length=self.max_seq_length)
        return self._model

    @property
    def dim(self) -> int:
        """Embedding width."""
        if self.store.vectors:
            return int(next(iter(self.store.vectors.values())).shape[0])
        return int(ENCODERS[self.encoder]["dim"])

    def __len__(self) -> int:
        return len(self.store.vectors)

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.stats["encode_calls"] += 1
        out = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out = np.asarray(out, dtype=np.float32)
        if out.shape[0] != len(texts) or not np.isfinite(out).all():
            raise EncoderError(
                f"encoder {self.encoder!r} returned {out.shape} / non-finite values "
                f"for {len(texts)} texts"
            )
        return out

    def _cached(self, masks: np.ndarray) -> np.ndarray:
        """Template embeddings (N, D) of masks (N, 73) bool: the unseen ones encoded
        in one call, once each, and saved."""
        vectors = self.store.vectors
        keys = [row.tobytes() for row in np.packbits(masks, axis=1)]
        missing: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key in vectors:
                hit = "disk_hits" if key in self.store.on_disk else "memory_hits"
                self.stats[hit] += 1
            elif key not in missing:
                missing[key] = i
                self.stats["misses"] += 1
            else:
                self.stats["memory_hits"] += 1
        if missing:
            texts = describe_many(masks[list(missing.values())], self.lexicon)
            self.store.add(dict(zip(missing, self._encode(texts), strict=True)))
            self.store.save()
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([vectors[k] for k in keys])


def _one_mask(mask: np.ndarray) -> np.ndarray:
    # as bool: a 0/1 int mask would index rows 0 and 1 in pooled mode
    mask = check_mask(mask)
    if mask.ndim != 1:
        raise ValueError(
            f"lookup takes one mask ({N_FEATURES},), got shape {mask.shape}; use "
            f"embed for many"
        )
    return mask


class TemplateEmbedder(Embedder):
    """The paper's mode: each distinct mask's whole template text is encoded, once; the
    cache holds one embedding per window mask seen."""

    mode = "template"

    def embed(self, masks: np.ndarray) -> np.ndarray:
        """(N, 73) bool masks -> (N, D) float32; encodes only unseen masks, once
        each."""
        return self._cached(check_mask(masks).reshape(-1, N_FEATURES))

    def lookup(self, mask: np.ndarray) -> np.ndarray:
        """Embedding (D,) of one mask (73,) bool: a dict lookup (encodes on a miss)."""
        mask = _one_mask(mask)
        vec = self.store.vectors.get(np.packbits(mask).tobytes())
        return vec if vec is not None else self.embed(mask[None])[0]


class PooledEmbedder(Embedder):
    """Our cheap mode (:mod:`affect_lib.lasca.pooling`): the cache holds the 74 one-cue
    embeddings, encoded together in one batch on first use; a window's embedding is
    pooled from them."""

    mode = "pooled"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cue_matrix: np.ndarray | None = None  # (74, D): FEATURE_NAMES + no cue

    def embed(self, masks: np.ndarray) -> np.ndarray:
        """(N, 73) bool masks -> (N, D) float32 pooled embeddings."""
        return pool(check_mask(masks).reshape(-1, N_FEATURES), self._cues())

    def lookup(self, mask: np.ndarray) -> np.ndarray:
        """Embedding (D,) of one mask (73,) bool: a small sum over cached rows."""
        return pool_one(_one_mask(mask), self._cues())

    def _cues(self) -> np.ndarray:
        if self._cue_matrix is None:
            self._cue_matrix = self._cached(cue_masks())
        return self._cue_matrix


_EMBEDDERS: dict[str, type[Embedder]] = {
    "template": TemplateEmbedder,
    "pooled": PooledEmbedder,
}
MODES = tuple(_EMBEDDERS)


def EmbeddingCache(*, mode: str = "template", **kwargs: Any) -> Embedder:
    """The embedder of ``mode`` ("template" or "pooled"; module docstring) with the
    keyword arguments of :class:`Embedder`.

    A factory under the name chapter 5, the scripts and the tests build caches with.
    """
    if mode not in _EMBEDDERS:
        raise ValueError(
            f"unknown embedding mode {mode!r}; valid modes: {', '.join(MODES)}"
        )
    return _EMBEDDERS[mode](**kwargs)
