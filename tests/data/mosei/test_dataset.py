"""CMU-MOSEI readers: .csd format, SDK alignment semantics, load_mosei contract, folds,
MMSA pickles."""

from __future__ import annotations

import json
import os
import pickle

import h5py
import numpy as np
import pytest
from fixtures_formats import (
    AUDIO,
    LABELS,
    TEXT,
    VIDEO,
    make_mosei_dir,
    mmsa_payload,
    write_mmsa_pickle,
    write_sdk_csd,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affect_lib.data.mosei.align import (
    EPSILON,
    align_to_reference,
    collapse_mean,
    overlap_pairs,
    pad_last,
)
from affect_lib.data.mosei.csd import read_csd
from affect_lib.data.mosei.csd_h5 import _decode_metadata
from affect_lib.data.mosei.csd_writer import CsdWriter, write_csd
from affect_lib.data.mosei.dataset import align_mosei, load_mosei
from affect_lib.data.mosei.labels import (
    read_folds,
    read_mosei_labels,
    resolve_folds,
    standard_folds,
)
from affect_lib.data.mosei.mmsa import load_mmsa
from affect_lib.data.mosei.mmsa_pickle import UntrustedPickleError
from affect_lib.io import sha256_file
from affect_lib.schema import EMOTIONS, DataFormatError

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture()
def mosei(tmp_path):
    return make_mosei_dir(tmp_path / "CMU_MOSEI")


def _seq(rng, n=5, d=3):
    start = np.sort(rng.uniform(0, 10, n))
    return rng.standard_normal((n, d)).astype(np.float32), np.stack(
        [start, start + rng.uniform(0, 1, n)], 1
    )


# ---- computational sequences ---------------------------------------------------------


def test_read_csd_reads_the_sdk_layout(tmp_path):
    rng = np.random.default_rng(0)
    data = {"v1": _seq(rng), "-x_Y9[0]": _seq(rng, 0)}
    path = write_sdk_csd(tmp_path / "a.csd", "COVAREP", data)
    seq = read_csd(path)
    assert seq.root == "COVAREP" and set(seq.data) == set(data)
    for vid, (f, i) in data.items():
        np.testing.assert_array_equal(seq.data[vid][0], f)
        np.testing.assert_array_equal(seq.data[vid][1], i)
        assert (
            seq.data[vid][0].dtype == np.float32
            and seq.data[vid][1].dtype == np.float64
        )
    assert seq.metadata["root name"] == "COVAREP"  # JSON string decoded
    assert json.loads(seq.metadata["dimension names"]) == [
        "d0",
        "d1",
        "d2",
    ]  # non-string kept as JSON text
    assert seq.metadata["md5"] == "null"


def test_metadata_reads_back_as_bytes_or_str():
    assert _decode_metadata(b'"All Labels"') == "All Labels"
    assert _decode_metadata('"All Labels"') == "All Labels"
    assert _decode_metadata("plain text, not JSON") == "plain text, not JSON"


def test_first_top_level_group_is_the_root(tmp_path):
    path = write_sdk_csd(
        tmp_path / "a.csd", "A root", {"v": _seq(np.random.default_rng(1))}
    )
    with h5py.File(path, "a") as fh:
        fh.create_group("Z later").create_group("data")
    assert read_csd(path).root == "A root"


def test_write_csd_round_trips_and_is_atomic(tmp_path):
    rng = np.random.default_rng(2)
    data = {"v1": _seq(rng), "v2": _seq(rng, 3, 3)}
    path = tmp_path / "out.csd"
    write_csd(
        path,
        root="aligned",
        data=data,
        metadata={"root name": "aligned", "dimension names": "[1, 2]"},
    )
    seq = read_csd(path)
    assert seq.metadata == {"root name": "aligned", "dimension names": "[1, 2]"}
    assert all(np.array_equal(seq.data[v][0], data[v][0]) for v in data)
    with (
        pytest.raises(RuntimeError),
        CsdWriter(tmp_path / "half.csd", root="r", metadata={}) as w,
    ):
        w.add("v1", *data["v1"])
        raise RuntimeError("interrupted")
    assert not (tmp_path / "half.csd").exists() and not list(
        tmp_path.glob(".half.csd*")
    )


@pytest.mark.parametrize(
    ("intervals", "match"),
    [
        (
            [[0, 1], [1, np.nan]],
            r"intervals row 1 is \[1\.0, nan\], expected finite \[start, end\] with "
            r"end >= start",
        ),
        ([[0, np.inf], [1, 2]], r"intervals row 0 is \[0\.0, inf\]"),
        ([[0, 1], [2, 1.5]], r"intervals row 1 is \[2\.0, 1\.5\]"),
    ],
)
def test_csd_writer_rejects_intervals_the_reader_rejects(tmp_path, intervals, match):
    path = tmp_path / "w.csd"
    with (
        pytest.raises(ValueError, match=rf"w\.csd: video 'v2': {match}"),
        CsdWriter(path, root="r", metadata={}) as w,
    ):
        w.add("v1", np.zeros((2, 3), np.float32), [[0, 1], [1, 2]])
        w.add("v2", np.zeros((2, 3), np.float32), intervals)
    assert not path.exists() and not list(
        tmp_path.glob(".w.csd*")
    )  # aborted: no partial file


def test_csd_writer_rejects_duplicate_ids_and_keeps_nonfinite_features(tmp_path):
    feats = np.array(
        [[np.nan, 1], [-np.inf, 2]], np.float32
    )  # the reader keeps them (nonfinite policy)
    with (
        pytest.raises(
            ValueError,
            match=r"d\.csd: video 'v': already added \(video ids must be unique\)",
        ),
        CsdWriter(tmp_path / "d.csd", root="r", metadata={}) as w,
    ):
        w.add("v", feats, [[0, 1], [1, 2]])
        w.add("v", feats, [[0, 1], [1, 2]])
    assert not list(tmp_path.iterdir())
    write_csd(
        tmp_path / "ok.csd",
        root="r",
        data={"v": (feats, np.array([[0, 1], [1, 1.0]]))},
        metadata={},
    )
    np.testing.assert_array_equal(read_csd(tmp_path / "ok.csd").data["v"][0], feats)


@given(
    data=st.dictionaries(
        st.text("abcXYZ019-_[]", min_size=1, max_size=8).filter(
            lambda s: s not in (".", "..")
        ),
        st.tuples(st.integers(0, 6), st.integers(1, 4), st.integers(0, 2**32 - 1)),
        max_size=4,
    ),
    meta=st.dictionaries(
        st.text("abc xyz", min_size=1, max_size=6).filter(str.strip),
        st.text(max_size=20),
        max_size=3,
    ),
)
@FAST
def test_csd_round_trip_property(tmp_path_factory, data, meta):
    arrays = {}
    for vid, (n, d, seed) in data.items():
        rng = np.random.default_rng(seed)
        arrays[vid] = (
            rng.standard_normal((n, d)).astype(np.float32),
            np.sort(rng.uniform(0, 9, (n, 2)), axis=1),
        )
    path = tmp_path_factory.mktemp("rt") / "x.csd"
    write_csd(path, root="root", data=arrays, metadata=meta)
    seq = read_csd(path)
    assert seq.metadata == meta and set(seq.data) == set(arrays)
    for vid, (f, i) in arrays.items():
        assert np.array_equal(seq.data[vid][0], f) and np.array_equal(
            seq.data[vid][1], i
        )


@pytest.fixture(scope="module")
def small_csd_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "s.csd"
    write_sdk_csd(path, "S", {"v": _seq(np.random.default_rng(3), 3, 2)})
    return path.read_bytes()


@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(0, 10**9)),
)
@settings(
    FAST, derandomize=True
)  # fixed examples: a regression here must reproduce, not flicker
def test_corrupt_csd_raises_only_data_format_error(
    tmp_path_factory, small_csd_bytes, edits, cut
):
    raw = bytearray(small_csd_bytes)
    for pos, value in edits:
        raw[pos % len(raw)] = value
    if cut is not None:
        raw = raw[: cut % len(raw)]
    path = tmp_path_factory.mktemp("bad") / "bad.csd"
    path.write_bytes(bytes(raw))
    try:
        read_csd(path)
    except DataFormatError as exc:
        assert str(path) in str(exc)


def test_corrupt_global_heap_is_an_error_not_a_hang(tmp_path):
    # HDF5 itself can loop forever or crash on a corrupt heap of variable-length strings
    # (found by fuzzing): metadata strings are read by our bounded parser instead
    path = write_sdk_csd(
        tmp_path / "h.csd", "R", {"v": _seq(np.random.default_rng(5), 2, 2)}
    )
    raw = bytearray(path.read_bytes())
    heap = raw.index(b"GCOL")
    raw[heap + 16 + 8 : heap + 16 + 16] = (2**40).to_bytes(
        8, "little"
    )  # first object's size: absurd
    path.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match=r"h\.csd: /R/metadata/.*: heap object"):
        read_csd(path)


def test_metadata_with_a_user_block_and_non_string_types(tmp_path):
    path = tmp_path / "u.csd"
    with h5py.File(path, "w", userblock_size=512) as fh:
        g = fh.create_group("R")
        g.create_group("data")
        meta = g.create_group("metadata")
        meta.create_dataset("root name", (1,), dtype=h5py.special_dtype(vlen=str))[
            0
        ] = json.dumps("R")
        meta.create_dataset("fixed", data=np.array([b'"abc"'], dtype="S5"))
    assert read_csd(path).metadata == {"root name": "R", "fixed": "abc"}
    with h5py.File(path, "a") as fh:
        fh["R/metadata"].create_dataset("number", data=np.array([1.5]))
    with pytest.raises(
        DataFormatError, match=r"u\.csd: /R/metadata/number: expected a string"
    ):
        read_csd(path)


# ---- bad input: one clear error naming the file and the key --------------------------


def test_truncated_file(tmp_path):
    path = write_sdk_csd(
        tmp_path / "t.csd", "COVAREP", {"v": _seq(np.random.default_rng(4), 50, 8)}
    )
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(DataFormatError, match=rf"{tmp_path}/t\.csd: /"):
        read_csd(path)


def test_missing_file_and_groups(tmp_path):
    with pytest.raises(DataFormatError, match="nope.csd: file not found"):
        read_csd(tmp_path / "nope.csd")
    path = tmp_path / "g.csd"
    with h5py.File(path, "w") as fh:
        fh.create_group("R").create_group("metadata")
    with pytest.raises(DataFormatError, match=r"g\.csd: /R/data: missing group"):
        read_csd(path)
    with h5py.File(path, "a") as fh:
        fh["R"].create_group("data").create_group("vid1").create_dataset(
            "features", data=np.zeros((2, 2))
        )
    with pytest.raises(
        DataFormatError, match=r"g\.csd: /R/data/vid1/intervals: missing dataset"
    ):
        read_csd(path)


def test_interval_and_feature_lengths_must_match(tmp_path):
    path = write_sdk_csd(
        tmp_path / "m.csd",
        "R",
        {"vid1": (np.zeros((3, 2), np.float32), np.zeros((4, 2)))},
    )
    with pytest.raises(
        DataFormatError,
        match=r"m\.csd: /R/data/vid1: features has 3 rows but intervals has 4",
    ):
        read_csd(path)


def test_bad_intervals(tmp_path):
    path = write_sdk_csd(
        tmp_path / "i.csd",
        "R",
        {"vid1": (np.zeros((2, 2), np.float32), np.array([[0, 1], [2, np.nan]]))},
    )
    with pytest.raises(DataFormatError, match=r"i\.csd: /R/data/vid1/intervals: row 1"):
        read_csd(path)


def test_nonfinite_features_raise_on_request(mosei):
    path = mosei.path / AUDIO
    with h5py.File(path, "a") as fh:
        fh["CMU_MOSEI_COVAREP/data/vidA/features"][7, 1] = -np.inf
    with pytest.raises(
        DataFormatError,
        match=r"COVAREP\.csd: /CMU_MOSEI_COVAREP/data/vidA/features: row 7, column 1",
    ):
        load_mosei(mosei.path, seq_len=4, folds=mosei.folds, nonfinite="raise")


def test_labels_out_of_range(tmp_path):
    bad = np.array([[0, 0, 0, 0, 0, 0, 0], [0, 0, 3.5, 0, 0, 0, 0]], np.float32)
    path = write_sdk_csd(
        tmp_path / LABELS, "All Labels", {"vidQ": (bad, np.array([[0, 1], [1, 2.0]]))}
    )
    with pytest.raises(
        DataFormatError,
        match=r"Labels\.csd: /All Labels/data/vidQ/features: row 1, column 2 \(sad\)",
    ):
        read_mosei_labels(path)
    path = write_sdk_csd(
        tmp_path / "l2.csd",
        "All Labels",
        {"v": (np.zeros((1, 6), np.float32), np.ones((1, 2)))},
    )
    with pytest.raises(DataFormatError, match="6 columns, expected 7"):
        read_mosei_labels(path)


def test_missing_feature_file_is_named(mosei):
    (mosei.path / VIDEO).unlink()
    with pytest.raises(DataFormatError, match="VisualFacet42.csd: file not found"):
        load_mosei(mosei.path, seq_len=4, folds=mosei.folds)


# ---- alignment kernel: the SDK's semantics -------------------------------------------


def _sdk_intersect(ref, sub, eps=1e-5):
    """A literal port of the SDK's ``__intersect_and_copy`` (after its stable sort by
    start)."""
    order = sorted(range(len(sub)), key=lambda x: sub[x, 0])
    out = []
    for i, (r0, r1) in enumerate(ref):
        if abs(r0 - r1) < eps:
            continue
        for j in order:
            s0, s1 = sub[j]
            if (r1 - s0) > -eps and (s1 - r0) > -eps:
                c0, c1 = max(s0, r0), min(s1, r1)
                if abs(c0 - c1) > eps:
                    out.append((i, j, c0, c1))
    return out


@given(st.integers(0, 2**32 - 1), st.integers(0, 12), st.integers(0, 30), st.booleans())
@settings(max_examples=50, deadline=None)
def test_overlap_pairs_match_the_sdk(seed, m, n, on_grid):
    rng = np.random.default_rng(seed)

    def intervals(k):  # on a coarse grid, many exact touches and zero-length intervals
        a = rng.integers(0, 10, (k, 2)) * 0.5 if on_grid else rng.uniform(0, 5, (k, 2))
        return np.sort(a, axis=1)

    ref, sub = intervals(m), intervals(n)
    p = overlap_pairs(ref, sub)
    got = list(
        zip(
            p.ref.tolist(),
            p.sub.tolist(),
            p.clipped[:, 0].tolist(),
            p.clipped[:, 1].tolist(),
            strict=True,
        )
    )
    assert got == _sdk_intersect(ref, sub)


def test_align_to_reference_keys_and_collapse():
    sub_i = np.array([[0, 0.1], [0.1, 0.2], [0.2, 0.3], [0.3, 0.4]])
    sub_f = np.arange(4, dtype=np.float32)[:, None]
    ref = np.array([[0.0, 0.2], [0.2, 0.2], [0.15, 0.4], [5, 6]])
    out = align_to_reference(ref, sub_f, sub_i, video_id="v")
    assert list(out) == [
        "v[0]",
        "v[2]",
    ]  # zero-length ref 1 skipped, ref 3 has no overlap
    np.testing.assert_array_equal(out["v[2]"][0][:, 0], [1, 2, 3])
    np.testing.assert_allclose(out["v[2]"][1], [[0.15, 0.2], [0.2, 0.3], [0.3, 0.4]])
    col = align_to_reference(ref, sub_f, sub_i, video_id="v", collapse=True)
    np.testing.assert_allclose(col["v[2]"][0], [[2.0]])
    np.testing.assert_allclose(col["v[2]"][1], [[0.15, 0.4]])
    means, has = collapse_mean(overlap_pairs(ref, sub_i), sub_f, len(ref))
    np.testing.assert_allclose(means[:, 0], [0.5, 0, 2, 0])
    np.testing.assert_array_equal(has, [1, 0, 1, 0])


def test_alignment_epsilon_is_the_sdks_and_decides_the_boundaries():
    """eps = 1e-5 exactly: a piece or reference of 5e-6 is dropped, one of 2e-5 kept; a
    gap of 2e-5 is no overlap.

    Catches another epsilon (1e-6 keeps the 5e-6 piece, 1e-4 drops the 2e-5 one), a
    looser overlap test (a row 2e-5 short of the reference would come back as a reversed
    piece) and the reference-length rule.
    """
    assert EPSILON == 1e-5
    ref = np.array([[1.0, 2.0]])
    sub_i = np.array(
        [
            [0.0, 1.0 + 5e-6],  # 5e-6 inside: piece too short
            [2.0 - 2e-5, 3.0],  # 2e-5 inside: kept
            [
                0.0,
                1.0 - 5e-6,
            ],  # ends 5e-6 before: overlaps by the SDK test, zero-ish piece dropped
            [0.0, 1.0 - 1.5e-5],  # ends 1.5e-5 before: no overlap
            [0.0, 1.0 - 2e-5],  # ends 2e-5 before: no overlap
            [2.0 + 2e-5, 3.0],
        ]
    )  # starts 2e-5 after: no overlap
    sub_f = np.arange(len(sub_i), dtype=np.float32)[:, None]
    out = align_to_reference(ref, sub_f, sub_i, video_id="v")
    assert list(out) == ["v[0]"]
    np.testing.assert_array_equal(out["v[0]"][0][:, 0], [1])
    np.testing.assert_allclose(out["v[0]"][1], [[2.0 - 2e-5, 2.0]], rtol=0, atol=1e-12)
    # Reference intervals: shorter than eps skipped, longer kept (the subject covers
    # both).
    ref = np.array([[1.0, 1.0 + 5e-6], [1.5, 1.5 + 2e-5]])
    out = align_to_reference(
        ref, np.ones((1, 1), np.float32), np.array([[0.0, 3.0]]), video_id="v"
    )
    assert list(out) == ["v[1]"]
    p = overlap_pairs(ref, np.array([[0.0, 3.0]]))
    assert p.ref.tolist() == [1] and p.counts(2).tolist() == [0, 1]


def test_pad_last_keeps_the_last_rows_left_padded():
    x, mask = pad_last(np.arange(1, 6)[:, None], 3)
    np.testing.assert_array_equal(x[:, 0], [3, 4, 5])
    np.testing.assert_array_equal(mask, [1, 1, 1])
    x, mask = pad_last(np.arange(1, 3)[:, None], 4)
    np.testing.assert_array_equal(x[:, 0], [0, 0, 1, 2])
    np.testing.assert_array_equal(mask, [0, 0, 1, 1])


# ---- load_mosei: golden values on a tiny folder --------------------------------------


def test_load_mosei_golden(mosei):
    r = align_mosei(mosei.path, seq_len=4, folds=mosei.folds)
    train, val, test = (r.corpora[s] for s in ("train", "val", "test"))
    # vidA[2] has no words, vidB lacks FACET (missing="drop"), vidC has no emotion
    # (dropped)
    assert (
        train.ids == ("vidA[0]", "vidA[1]")
        and val.ids == ("vidD[0]",)
        and len(test) == 0
    )
    # words are 0.5 s; audio rows at 10 Hz average 5 rows per word, video at 4 Hz 2 rows
    # per word
    np.testing.assert_array_equal(train.text[0, :, 0], [0, 0, 1, 2])
    np.testing.assert_array_equal(train.audio[0, :, 0], [0, 0, 2, 7])
    np.testing.assert_array_equal(train.video[0, :, 0], [0, 0, 0.5, 2.5])
    np.testing.assert_array_equal(train.mask[0], [0, 0, 1, 1])
    # vidA[1] spans 6 words; the last 4 are kept (SDK get_tensors)
    np.testing.assert_array_equal(train.text[1, :, 0], [5, 6, 7, 8])
    np.testing.assert_array_equal(train.audio[1, :, 0], [22, 27, 32, 37])
    assert train.mask[1].all()
    # padding rows are exactly zero, nothing non-finite
    for m in ("text", "audio", "video"):
        assert (
            np.all(getattr(train, m)[~train.mask] == 0)
            and np.isfinite(getattr(train, m)).all()
        )
    # labels: vidA[1] has fear 1 > surprise 2/3: dominant fear (index 5), order
    # happy..fear
    assert EMOTIONS[5] == "fear" and EMOTIONS[3] == "surprise"
    np.testing.assert_array_equal(train.label, [0, 5])
    np.testing.assert_allclose(train.emotions[1], [0, 0, 0, 2 / 3, 0, 1], atol=1e-6)
    np.testing.assert_allclose(r.sentiment["train"], [1.5, -0.5])
    np.testing.assert_allclose(r.intervals["train"], [[0, 1], [1, 4]])
    assert val.label.tolist() == [2]  # anger = disgust tie -> first in CMU-MOSEI order
    # the real-data contract
    assert (
        (train.driver == -1).all()
        and (train.window == -1).all()
        and not train.conflict.any()
    )
    assert train.speaker.tolist() == [0, 0] and val.speaker.tolist() == [3]
    assert r.stats["dropped_no_words"] == 1 and r.stats["dropped_missing_modality"] == 1
    assert (
        r.stats["dropped_no_emotion"] == 1
        and r.stats["fold_videos_without_labels"] == 1
    )


def test_missing_zero_keeps_segments_with_a_modality_mask(mosei):
    r = align_mosei(
        mosei.path, seq_len=4, folds=mosei.folds, missing="zero", no_emotion="keep"
    )
    train = r.corpora["train"]
    assert train.ids == ("vidA[0]", "vidA[1]", "vidB[0]", "vidC[0]")
    b = train.ids.index("vidB[0]")
    assert not r.modality_mask["train"]["video"][b].any() and np.all(
        train.video[b] == 0
    )
    assert r.modality_mask["train"]["audio"][b].all() and train.mask[b].all()
    c = train.ids.index("vidC[0]")
    assert (
        not r.has_emotion["train"][c]
        and train.label[c] == 0
        and np.all(train.emotions[c] == 0)
    )


def test_ties_drop_and_collapse(mosei):
    r = align_mosei(mosei.path, seq_len=3, folds=mosei.folds, ties="drop")
    assert len(r.corpora["val"]) == 0 and r.stats["dropped_tie"] == 1
    c = load_mosei(mosei.path, seq_len=3, folds=mosei.folds, collapse_segments=True)[
        "train"
    ]
    np.testing.assert_array_equal(c.mask[:, -1], [1, 1])
    np.testing.assert_array_equal(c.mask[:, :-1], 0)
    np.testing.assert_allclose(
        c.text[:, -1, 0], [1.5, 5.5]
    )  # mean of words 1-2 and 3-8
    np.testing.assert_allclose(c.audio[:, -1, 0], [4.5, 24.5])


@pytest.mark.parametrize("policy", ["zero", "drop"])
def test_nonfinite_policies_never_leak_nan(mosei, policy):
    with h5py.File(mosei.path / AUDIO, "a") as fh:
        feats = fh["CMU_MOSEI_COVAREP/data/vidA/features"]
        feats[0:5, :] = -np.inf  # all rows of word 0
        feats[6, 0] = np.nan
    r = align_mosei(mosei.path, seq_len=4, folds=mosei.folds, nonfinite=policy)
    train, amask = r.corpora["train"], r.modality_mask["train"]["audio"]
    assert np.isfinite(train.audio).all()
    if policy == "zero":  # values zeroed, rows stay valid: word 0 averages zeros
        assert (
            train.audio[0, 2, 0] == 0
            and amask[0, 2]
            and r.stats["nonfinite_values_audio"] == 16
        )
        np.testing.assert_allclose(
            train.audio[0, 3, :], [(5 + 0 + 7 + 8 + 9) / 5, 7, 7]
        )
    else:  # rows dropped before alignment: word 0 has no audio, word 1 averages 4 rows
        assert not amask[0, 2] and train.audio[0, 2, 0] == 0 and train.mask[0, 2]
        np.testing.assert_allclose(train.audio[0, 3, 0], (5 + 7 + 8 + 9) / 4)
        assert r.stats["nonfinite_rows_dropped_audio"] == 6


def test_nonfinite_text_rows_are_dropped_as_words(mosei):
    with h5py.File(mosei.path / TEXT, "a") as fh:
        fh["CMU_MOSEI_TimestampedWordVectors/data/vidA/features"][1, 2] = (
            np.nan
        )  # word 1 of vidA
    r = align_mosei(mosei.path, seq_len=4, folds=mosei.folds, nonfinite="drop")
    train = r.corpora["train"]
    np.testing.assert_array_equal(
        train.text[0, :, 0], [0, 0, 0, 1]
    )  # vidA[0] keeps word 0 only
    np.testing.assert_array_equal(train.mask[0], [0, 0, 0, 1])
    assert r.stats["nonfinite_rows_dropped_text"] == 1
    with pytest.raises(
        DataFormatError,
        match=r"WordVectors\.csd: /CMU_MOSEI_TimestampedWordVectors/data/vidA/"
        r"features: row 1, column 2 is nan",
    ):
        align_mosei(mosei.path, seq_len=4, folds=mosei.folds, nonfinite="raise")


def test_read_rows_returns_exact_rows(tmp_path):
    feats = np.arange(400 * 3, dtype=np.float32).reshape(400, 3)
    path = write_sdk_csd(tmp_path / "r.csd", "R", {"v": (feats, np.zeros((400, 2)))})
    rows = np.array([0, 1, 5, 100, 101, 102, 300, 399])
    from affect_lib.data.mosei.csd import CsdFile

    with CsdFile(path) as f:
        np.testing.assert_array_equal(f.read_rows("v", rows), feats[rows])
        assert f.read_rows("v", np.zeros(0, int)).shape == (0, 3)
        with pytest.raises(ValueError, match="sorted, unique"):
            f.read_rows("v", np.array([3, 2]))


def test_bad_options_are_named(mosei):
    with pytest.raises(ValueError, match=r"missing='impute'"):
        load_mosei(mosei.path, seq_len=4, missing="impute")
    with pytest.raises(ValueError, match="seq_len=0"):
        load_mosei(mosei.path, seq_len=0)


def test_inconsistent_feature_dims_are_reported(mosei):
    with h5py.File(mosei.path / TEXT, "a") as fh:
        g = fh["CMU_MOSEI_TimestampedWordVectors/data/vidD"]
        del g["features"]
        g.create_dataset("features", data=np.zeros((4, 7), np.float32))
    with pytest.raises(
        DataFormatError, match=r"/data/vidD/features: 7 columns, expected 4"
    ):
        load_mosei(mosei.path, seq_len=4, folds=mosei.folds)


@pytest.mark.parametrize("seq_len", [2.5, 4.0, True, "4", None])
def test_seq_len_must_be_an_integer(mosei, seq_len):
    with pytest.raises(
        ValueError, match=rf"seq_len={seq_len!r}: expected an integer >= 1"
    ):
        align_mosei(mosei.path, seq_len=seq_len, folds=mosei.folds)


def test_folds_matching_no_labelled_video_fail(mosei):
    folds = {"train": ["nope1"], "valid": ["nope2"], "test": []}
    with pytest.raises(
        DataFormatError,
        match=r"Labels\.csd: none of the 2 video ids in the folds argument has labels "
        r"\(folds e\.g\. \['nope1', 'nope2'\], labelled e\.g\. \['vidA'",
    ):
        align_mosei(mosei.path, seq_len=4, folds=folds)
    (mosei.path / "bad_folds.json").write_text(json.dumps(folds))
    with pytest.raises(
        DataFormatError,
        match=r"Labels\.csd: none of the 2 video ids in .*bad_folds\.json has labels",
    ):
        load_mosei(mosei.path, seq_len=4, folds=mosei.path / "bad_folds.json")


def test_all_segments_dropped_fails_but_one_empty_split_does_not(mosei):
    folds = {
        "train": ["vidC"],
        "valid": [],
        "test": [],
    }  # vidC's one segment has no emotion
    with pytest.raises(
        DataFormatError,
        match=r"Labels\.csd: all 1 labelled segments of the 1 videos in the folds "
        r"argument were dropped \(\{'dropped_no_emotion': 1\}\)",
    ):
        align_mosei(mosei.path, seq_len=4, folds=folds)
    kept = load_mosei(mosei.path, seq_len=4, folds=folds, no_emotion="keep")
    assert len(kept["train"]) == 1 and len(kept["val"]) == len(kept["test"]) == 0


# ---- folds ---------------------------------------------------------------------------


def test_standard_folds_are_the_sdk_lists():
    folds = standard_folds()
    assert {k: len(v) for k, v in folds.items()} == {
        "train": 2249,
        "val": 300,
        "test": 678,
    }
    sets = [set(v) for v in folds.values()]
    assert sum(map(len, sets)) == 3227 and not (
        sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]
    )
    assert folds["train"][:3] == ("hh04W3xXa5s", "GdFP_p4eQX0", "4iG0ffmnCOw")
    assert folds["val"][0] == "188343" and folds["test"][-1] == "vR90Pdx9wxs"


def test_folds_file_errors(tmp_path):
    (tmp_path / "f.json").write_text(
        json.dumps({"train": ["a"], "valid": ["a"], "test": []})
    )
    with pytest.raises(
        DataFormatError, match=r"f\.json: video 'a' is in both train and val"
    ):
        read_folds(tmp_path / "f.json")
    (tmp_path / "g.json").write_text(json.dumps({"train": ["a"]}))
    with pytest.raises(DataFormatError, match=r"g\.json: missing fold"):
        read_folds(tmp_path / "g.json")


def test_folds_unknown_keys_are_named(tmp_path):
    (tmp_path / "f.json").write_text(
        json.dumps({"train": ["a"], "valid": ["b"], "test": [], "tset": ["c"]})
    )
    with pytest.raises(
        DataFormatError,
        match=r"f\.json: unknown key\(s\) \['tset'\]; valid keys: train, valid "
        r"or val, test",
    ):
        read_folds(tmp_path / "f.json")
    with pytest.raises(
        DataFormatError, match=r"folds argument: unknown key\(s\) \['Train'\]"
    ):
        resolve_folds({"Train": [], "train": [], "valid": [], "test": []})
    # the shipped file's descriptive keys are allowed
    (tmp_path / "g.json").write_text(
        json.dumps(
            {
                "source": "x",
                "licence": "y",
                "counts": {},
                "train": ["a"],
                "val": [],
                "test": [],
            }
        )
    )
    assert read_folds(tmp_path / "g.json") == {"train": ("a",), "val": (), "test": ()}


# ---- MMSA pickles --------------------------------------------------------------------


class _Boom:
    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_mmsa_never_opens_an_unverified_pickle(tmp_path):
    boom = _Boom()
    boom.target = str(tmp_path / "pwned")
    path = tmp_path / "aligned_50.pkl"
    path.write_bytes(pickle.dumps(boom))
    with pytest.raises(UntrustedPickleError, match="trust_pickle=True"):
        load_mmsa(path)
    with pytest.raises(UntrustedPickleError, match="no known SHA-256"):
        load_mmsa(path, trust_pickle=True)
    with pytest.raises(UntrustedPickleError, match="SHA-256 mismatch"):
        load_mmsa(path, trust_pickle=True, sha256="0" * 64)
    with pytest.raises(
        DataFormatError, match="refusing global"
    ):  # right checksum, still no code runs
        load_mmsa(path, trust_pickle=True, sha256=sha256_file(path))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("aligned", "protocol"), [(True, 4), (False, 4), (True, 5)])
def test_mmsa_loads_left_padded_sentiment_only(tmp_path, aligned, protocol):
    payload = mmsa_payload(aligned=aligned)
    path = write_mmsa_pickle(tmp_path / "p.pkl", payload, protocol=protocol)
    r = load_mmsa(path, trust_pickle=True, sha256=sha256_file(path))
    assert r.aligned is aligned and set(r.corpora) == {"train", "val", "test"}
    src, c = payload["valid"], r.corpora["val"]
    lengths = src["text_bert"][:, 1].sum(axis=1).astype(int)
    np.testing.assert_array_equal(c.mask.sum(axis=1), lengths)
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(c.text[i, -n:], src["text"][i, :n])
        assert np.all(c.text[i, :-n] == 0)
    np.testing.assert_allclose(r.sentiment["val"], src["regression_labels"])
    assert (c.label == 0).all() and (c.emotions == 0).all() and (c.driver == -1).all()
    assert np.isfinite(r.corpora["train"].audio).all()  # the -inf became 0
    L0 = int(payload["train"]["text_bert"][0, 1].sum())
    if aligned:  # source step 0 (which held the -inf) is output step T - L0
        assert r.corpora["train"].audio[0, c.seq_len - L0, 0] == 0
        np.testing.assert_allclose(
            r.corpora["train"].audio[0, -L0:, 1], payload["train"]["audio"][0, :L0, 1]
        )
    else:  # 3 audio frames per text step: pooled means
        L = int(payload["train"]["text_bert"][1, 1].sum())
        np.testing.assert_allclose(
            r.corpora["train"].audio[1, -L:],
            payload["train"]["audio"][1, : 3 * L].reshape(L, 3, 3).mean(axis=1),
            rtol=1e-5,
        )
    with pytest.raises(ValueError, match="sentiment only"):
        load_mmsa(path, trust_pickle=True, sha256=sha256_file(path), labels="emotion")


def test_mmsa_bad_labels_are_named(tmp_path):
    payload = mmsa_payload()
    payload["test"]["regression_labels"][2] = 4.0
    path = write_mmsa_pickle(tmp_path / "p.pkl", payload)
    with pytest.raises(
        DataFormatError, match=r"p\.pkl: \['test'\]\['regression_labels'\]: row 2"
    ):
        load_mmsa(path, trust_pickle=True, sha256=sha256_file(path))


# ---- the whole pipeline against a loop-based reference of the SDK's recipe -----------


def _reference(words, text, audio, video, labels, T):
    """process_mosei.py with mean collapse, one video, written with loops: {segment row:
    arrays}."""
    (wf, wi), steps = text, []
    for j in sorted(
        range(len(wi)), key=lambda j: wi[j, 0]
    ):  # the SDK sorts subject rows by start
        if abs(wi[j, 1] - wi[j, 0]) < 1e-5:
            continue
        step = {"interval": wi[j], "text": wf[j]}
        for name, mod in (("audio", audio), ("video", video)):
            rows = (
                [r for _, r, _, _ in _sdk_intersect(wi[j : j + 1], mod[1])]
                if mod is not None
                else []
            )
            step[name] = mod[0][rows].mean(axis=0) if rows else None
        steps.append(step)
    out = {}
    for i in range(len(labels)):
        hits = [
            s
            for _, s, _, _ in _sdk_intersect(
                labels[i : i + 1], np.array([s["interval"] for s in steps])
            )
        ]
        if hits:
            out[i] = [steps[s] for s in hits][-T:]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_pipeline_matches_the_loop_reference(tmp_path, seed):
    rng = np.random.default_rng(seed)
    T, files = 5, {TEXT: {}, AUDIO: {}, VIDEO: {}, LABELS: {}}
    expected = {}
    for v in range(4):
        vid = f"v{v}"
        ends = np.cumsum(
            rng.choice([0.0, 0.2, 0.35, 0.5], size=12, p=[0.1, 0.3, 0.3, 0.3])
        )
        starts = np.r_[0, ends[:-1]] + rng.choice(
            [0, 0.1], size=12
        )  # gaps between some words
        words = np.stack([np.minimum(starts, ends), ends], axis=1)
        text = (rng.integers(-5, 5, (12, 4)).astype(np.float32), words)
        mods = []
        for dim, hz in ((3, rng.uniform(5, 20)), (2, rng.uniform(2, 8))):
            k = np.arange(int(ends[-1] * hz) + 2)
            iv = (
                np.stack([k, k + 1 + rng.uniform(0, 0.5, len(k))], axis=1) / hz
            )  # overlapping rows too
            mods.append((rng.integers(-5, 5, (len(k), dim)).astype(np.float32), iv))
        if v == 3:
            mods[1] = None  # a video without FACET
        seg_start = np.sort(rng.uniform(0, ends[-1], 4))
        labels = np.stack([seg_start, seg_start + rng.uniform(0, 1.5, 4)], axis=1)
        values = np.column_stack(
            [rng.integers(-9, 10, 4) / 3, rng.integers(0, 10, (4, 6)) / 3]
        ).astype(np.float32)
        files[TEXT][vid], files[AUDIO][vid], files[LABELS][vid] = (
            text,
            mods[0],
            (values, labels),
        )
        if mods[1] is not None:
            files[VIDEO][vid] = mods[1]
        expected[vid] = (_reference(words, text, mods[0], mods[1], labels, T), values)
    for name, data in files.items():
        write_sdk_csd(
            tmp_path / name, "All Labels" if name == LABELS else name[:-4], data
        )
    folds = {"train": [f"v{v}" for v in range(4)], "valid": [], "test": []}
    r = align_mosei(
        tmp_path, seq_len=T, folds=folds, missing="zero", no_emotion="keep", workers=3
    )
    c, mm = r.corpora["train"], r.modality_mask["train"]
    want_ids = [
        f"{vid}[{i}]" for vid in sorted(expected) for i in sorted(expected[vid][0])
    ]
    assert list(c.ids) == want_ids
    for row, seg_id in enumerate(c.ids):
        vid, i = seg_id[:-1].split("[")
        steps, values = expected[vid][0][int(i)], expected[vid][1]
        n = len(steps)
        np.testing.assert_array_equal(c.mask[row], np.arange(T) >= T - n)
        np.testing.assert_array_equal(c.text[row, T - n :], [s["text"] for s in steps])
        for m in ("audio", "video"):
            has = [s[m] is not None for s in steps]
            np.testing.assert_array_equal(mm[m][row, T - n :], has)
            got = getattr(c, m)[row, T - n :]
            want = [s[m] if s[m] is not None else np.zeros(got.shape[1]) for s in steps]
            np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(c.emotions[row], values[int(i), 1:])
        np.testing.assert_allclose(
            r.sentiment["train"][row], values[int(i), 0], atol=1e-6
        )
    single = align_mosei(
        tmp_path, seq_len=T, folds=folds, missing="zero", no_emotion="keep", workers=1
    )
    assert single.corpora["train"].fingerprint() == c.fingerprint()


def _mmsa(tmp_path, payload, **kwargs):
    path = write_mmsa_pickle(tmp_path / "p.pkl", payload)
    return load_mmsa(path, trust_pickle=True, sha256=sha256_file(path), **kwargs)


def test_mmsa_split_that_is_not_a_dict(tmp_path):
    payload = mmsa_payload()
    payload["valid"] = [1, 2, 3]
    with pytest.raises(
        DataFormatError,
        match=r"p\.pkl: \['valid'\]: expected a dict of arrays, found list",
    ):
        _mmsa(tmp_path, payload)


@pytest.mark.parametrize("seq_len", [-1, 2.5, True, "6"])
def test_mmsa_seq_len_must_be_an_integer(tmp_path, seq_len):
    with pytest.raises(
        ValueError,
        match=rf"seq_len={seq_len!r}: expected an integer >= 1, or None \(or 0\)",
    ):
        _mmsa(tmp_path, mmsa_payload(), seq_len=seq_len)


def test_mmsa_seq_len_zero_or_none_is_the_files(tmp_path):
    payload = mmsa_payload()
    a, b = _mmsa(tmp_path, payload, seq_len=0), _mmsa(tmp_path, payload)
    assert (
        a.corpora["train"].seq_len == 6
        and a.corpora["train"].fingerprint() == b.corpora["train"].fingerprint()
    )


def test_mmsa_text_bert_longer_than_text(tmp_path):
    payload = mmsa_payload()
    tb = payload["train"]["text_bert"]
    payload["train"]["text_bert"] = np.concatenate(
        [np.ones((4, 3, 6), tb.dtype), tb[:, :, :2]], axis=2
    )
    with pytest.raises(
        DataFormatError,
        match=r"p\.pkl: \['train'\]\['text_bert'\]: row 0 \(trainvid0\$_\$0\) has 8 "
        r"valid steps but 'text' has 6",
    ):
        _mmsa(tmp_path, payload)


@pytest.mark.parametrize("key", ["audio_lengths", "vision_lengths"])
def test_mmsa_negative_lengths_are_named(tmp_path, key):
    payload = mmsa_payload(aligned=False)
    payload["test"][key] = payload["test"][key].copy()
    payload["test"][key][1] = -3
    with pytest.raises(
        DataFormatError,
        match=rf"p\.pkl: \['test'\]\['{key}'\]: row 1 is -3, expected a frame count",
    ):
        _mmsa(tmp_path, payload)
