"""The shuffled-lexicon control: a seeded derangement of the affective lexicon's texts,
cached apart from the real lexicon."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from affect_lib.lasca.lexicon import load_lexicon
from affect_lib.lasca.names import FEATURE_NAMES
from affect_lib.lasca.semantic import EmbeddingCache
from affect_lib.lasca.shuffled import (
    derangement,
    shuffled_embedder,
    shuffled_lexicon,
    shuffled_name,
)
from tests.experiments.test_lasca_protocol import FakeEncoder


@pytest.mark.parametrize("n", [2, 3, 73])
def test_a_derangement_moves_everything_and_is_seeded(n):
    for seed in range(20):
        perm = derangement(n, seed)
        assert sorted(perm.tolist()) == list(range(n))
        assert not (perm == np.arange(n)).any()
        np.testing.assert_array_equal(perm, derangement(n, seed))
    assert len({tuple(derangement(73, s)) for s in range(5)}) == 5


@pytest.mark.parametrize("bad", [1, 0, -3, 2.0, True])
def test_a_derangement_needs_two_items(bad):
    with pytest.raises(ValueError, match="derangement: n must be an int >= 2"):
        derangement(bad, 0)


def test_the_shuffled_lexicon_permutes_the_texts():
    real = load_lexicon("affective")
    shuffled = shuffled_lexicon(real, 3)
    assert tuple(shuffled) == FEATURE_NAMES
    assert sorted(shuffled.values()) == sorted(real.values())
    assert all(shuffled[n] != real[n] for n in FEATURE_NAMES)
    perm = derangement(len(FEATURE_NAMES), 3)
    assert (
        shuffled["mouthSmileLeft"]
        == real[FEATURE_NAMES[perm[FEATURE_NAMES.index("mouthSmileLeft")]]]
    )
    with pytest.raises(TypeError):
        shuffled["mouthSmileLeft"] = "x"  # type: ignore[index]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_shuffled_store_never_touches_the_real_one(tmp_path):
    masks = np.random.default_rng(0).random((40, len(FEATURE_NAMES))) > 0.8

    def real_store() -> EmbeddingCache:
        return EmbeddingCache(
            encoder="minilm",
            lexicon="affective",
            mode="pooled",
            cache_dir=tmp_path,
            model=FakeEncoder(),
        )

    real = real_store()
    real_emb = real.embed(masks)
    before = _digest(real.path)
    shuffled = shuffled_embedder(
        encoder="minilm", seed=1, cache_dir=tmp_path, model=FakeEncoder()
    )
    assert shuffled.path != real.path and shuffled.lexicon_name == shuffled_name(1)
    assert shuffled.path.name.startswith("minilm-affective_shuffled_s1-pooled-")
    # encoded afresh (nothing read from the real store), and its own file
    emb = shuffled.embed(masks)
    assert shuffled.stats["misses"] == 74 and shuffled.stats["disk_hits"] == 0
    assert shuffled.path.is_file() and _digest(real.path) == before
    assert real.path not in shuffled.stale_files and not np.allclose(emb, real_emb)
    # reopened: each reads back its own rows, the real store is not listed as stale
    again = real_store()
    np.testing.assert_array_equal(again.embed(masks), real_emb)
    assert again.stats["disk_hits"] == 74 and again.stale_files == []
    other = shuffled_embedder(
        encoder="minilm", seed=2, cache_dir=tmp_path, model=FakeEncoder()
    )
    assert other.path != shuffled.path
    np.testing.assert_array_equal(
        shuffled_embedder(
            encoder="minilm", seed=1, cache_dir=tmp_path, model=FakeEncoder()
        ).embed(masks),
        emb,
    )
