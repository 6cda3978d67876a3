"""Pooled encoding: a mask's embedding is the normalised mean of its cues' one-cue
embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from affect_lib.lasca.names import N_FEATURES
from affect_lib.lasca.semantic import EmbeddingCache
from affect_lib.lasca.template import NO_CUE_TEXT, describe
from tests.lasca.test_semantic import LEX, FakeEncoder, _masks


def test_pooled_mode_is_the_normalised_mean_of_cue_embeddings(tmp_path):
    fake = FakeEncoder()
    cache = EmbeddingCache(
        encoder="mpnet", mode="pooled", model=fake, cache_dir=tmp_path
    )
    masks = _masks(30)
    masks[0] = False
    emb = cache.embed(masks)
    # 73 one-cue texts + no cue
    assert len(fake.calls) == 1 and len(fake.calls[0]) == N_FEATURES + 1
    assert (
        NO_CUE_TEXT in fake.calls[0]
        and f"Salient vocal cues: {LEX['mfcc_3']}" in fake.calls[0]
    )
    cues = fake.encode(
        [describe(np.eye(N_FEATURES, dtype=bool)[j], LEX) for j in range(N_FEATURES)],
        normalize_embeddings=True,
    )
    expected = masks[1:].astype(np.float32) @ cues
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(emb[1:], expected, atol=1e-6)
    np.testing.assert_allclose(
        emb[0], fake.encode([NO_CUE_TEXT], normalize_embeddings=True)[0], atol=1e-7
    )
    np.testing.assert_allclose(cache.lookup(masks[4]), emb[4], atol=1e-6)
    # 0/1, not row indices
    np.testing.assert_allclose(cache.lookup(masks[4].astype(int)), emb[4], atol=1e-6)
    with pytest.raises(ValueError, match="one mask"):
        cache.lookup(masks[:2])
    again = FakeEncoder()
    EmbeddingCache(
        encoder="mpnet", mode="pooled", model=again, cache_dir=tmp_path
    ).embed(masks)
    assert again.calls == []
