"""load_mosei: golden values on a tiny folder, policies and options, and the whole
pipeline against a loop-based reference of the SDK's recipe."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from fixtures_formats import (
    AUDIO,
    LABELS,
    TEXT,
    VIDEO,
    write_sdk_csd,
)
from sdk_reference import sdk_intersect

from affect_lib.data.mosei.dataset import align_mosei, load_mosei
from affect_lib.schema import EMOTIONS, DataFormatError

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
                [r for _, r, _, _ in sdk_intersect(wi[j : j + 1], mod[1])]
                if mod is not None
                else []
            )
            step[name] = mod[0][rows].mean(axis=0) if rows else None
        steps.append(step)
    out = {}
    for i in range(len(labels)):
        hits = [
            s
            for _, s, _, _ in sdk_intersect(
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
