"""Sentiment metrics (MMSA's conventions, hand-computed golden values) and the ridge
sentiment probe."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import f1_score

from affect_lib.data.mosei.mmsa import load_mmsa
from affect_lib.eval.probes import pool_features
from affect_lib.eval.sentiment import (
    probe_sentiment_modalities,
    sentiment_metrics,
    sentiment_probe,
)
from conftest import ROOT
from tests.fixtures_formats import make_mosei_dir, mmsa_payload, write_mmsa_pickle

# truth in thirds, as CMU-MOSEI's three-rater means are
TRUTH = np.array([-2, -2 / 3, 0, 1 / 3, 1, 8 / 3])
PRED = np.array([-1.4, 0.2, -0.1, 0.6, 1.6, 3.5])


def test_golden_values_by_hand():
    s = sentiment_metrics(TRUTH, PRED)
    # >= 0: truth F F T T T T, pred F T F T T T -> 4 of 6; F1 "non-neg" 2*3/(4+4), "neg"
    # 2*1/(2+2)
    assert s.acc2_has0 == pytest.approx(4 / 6)
    assert s.f1_has0 == pytest.approx((4 * 0.75 + 2 * 0.5) / 6)
    # truth 0 left out: truth F F T T T, pred F T T T T -> 4 of 5; F1 "pos" 6/7, "neg"
    # 2/3
    assert s.acc2_non0 == pytest.approx(4 / 5)
    assert s.f1_non0 == pytest.approx((3 * 6 / 7 + 2 * 2 / 3) / 5)
    assert (s.n, s.n_nonzero) == (6, 5)
    # rounded: truth -2 -1 0 0 1 3, pred -1 0 -0 1 2 3 (3.5 clipped to 3) -> 2 of 6
    assert s.acc7 == pytest.approx(2 / 6)
    # clipped to [-2, 2]: truth -2 -1 0 0 1 2, pred -1 0 -0 1 2 2 -> 2 of 6
    assert s.acc5 == pytest.approx(2 / 6)
    # the MAE uses the unclipped 3.5: (0.6 + 13/15 + 0.1 + 4/15 + 0.6 + 5/6) / 6
    assert s.mae == pytest.approx((0.6 + 13 / 15 + 0.1 + 4 / 15 + 0.6 + 5 / 6) / 6)
    assert s.corr == pytest.approx(scipy.stats.pearsonr(PRED, TRUTH)[0])
    # sklearn's weighted F1 on the binarised arrays, as MMSA computes it
    assert s.f1_has0 == pytest.approx(
        f1_score(TRUTH >= 0, PRED >= 0, average="weighted")
    )
    assert s.f1_non0 == pytest.approx(
        f1_score(TRUTH[TRUTH != 0] > 0, PRED[TRUTH != 0] > 0, average="weighted")
    )


def test_rounding_is_numpys_half_to_even_and_clipping_is_per_scale():
    truth = np.array([3.0, 2.0, 0.0, -3.0])
    # 2.5 -> 2 (half to even), -0.5 -> -0, -7 clipped to -3
    pred = np.array([2.5, 2.5, -0.5, -7.0])
    # only 3.0 vs 2.5 misses
    assert sentiment_metrics(truth, pred).acc7 == pytest.approx(3 / 4)
    # 3 and -3 clip to 2 and -2 too
    assert sentiment_metrics(truth, pred).acc5 == pytest.approx(1.0)
    assert sentiment_metrics(truth, pred).mae == pytest.approx(
        (0.5 + 0.5 + 0.5 + 4.0) / 4
    )


def test_zero_truth_counts_as_non_negative_and_is_left_out_of_non0():
    # truth 0 with pred -0.1: a miss for has0 (0 >= 0, -0.1 < 0) and not scored by non0
    s = sentiment_metrics(np.array([0.0, 1.0, -1.0]), np.array([-0.1, 0.5, -0.5]))
    assert (s.acc2_has0, s.acc2_non0, s.n_nonzero) == (pytest.approx(2 / 3), 1.0, 2)
    zeros = sentiment_metrics(np.zeros(3), np.array([0.2, -0.2, 0.1]))
    assert (
        math.isnan(zeros.acc2_non0)
        and math.isnan(zeros.f1_non0)
        and zeros.n_nonzero == 0
    )
    assert math.isnan(zeros.corr)  # a constant truth has no correlation
    # nor a constant prediction
    assert math.isnan(sentiment_metrics(TRUTH, np.full(6, 0.5)).corr)


@pytest.mark.parametrize(
    ("truth", "pred", "match"),
    [
        (TRUTH, PRED[:5], r"truth \(6,\) and pred \(5,\)"),
        (TRUTH.reshape(2, 3), PRED.reshape(2, 3), "1-D"),
        (np.zeros(0), np.zeros(0), "empty"),
        (TRUTH, np.where(np.arange(6) == 4, np.nan, PRED), r"pred\[4\] is nan"),
        (np.where(np.arange(6) == 1, np.inf, TRUTH), PRED, r"truth\[1\] is inf"),
        (
            np.where(np.arange(6) == 2, 3.5, TRUTH),
            PRED,
            r"truth\[2\] is 3.5, expected a sentiment in \[-3, 3\]",
        ),
    ],
)
def test_bad_input_is_named(truth, pred, match):
    with pytest.raises(ValueError, match=match):
        sentiment_metrics(truth, pred)


def _mmsa_with_audio_sentiment(tmp_path: Path, n: int = 120) -> tuple[Path, dict]:
    """An MMSA pickle whose sentiment is a function of the first audio feature's mean
    (known signal)."""
    payload = mmsa_payload(n=n, T=8, seed=3)
    for part in payload.values():
        # the reader zeroes -inf
        audio = np.where(np.isfinite(part["audio"]), part["audio"], 0)
        steps = part["audio_lengths"]
        # about N(0, 1) whatever the length
        signal = audio[:, :, 0].sum(axis=1) / steps * np.sqrt(steps)
        part["regression_labels"] = (
            np.round(np.clip(1.5 * signal, -3, 3) * 3) / 3
        ).astype(np.float32)
    return write_mmsa_pickle(tmp_path / "aligned.pkl", payload), payload


def test_probe_finds_the_modality_that_carries_sentiment(tmp_path):
    path, _ = _mmsa_with_audio_sentiment(tmp_path)
    data = load_mmsa(
        path, trust_pickle=True, sha256=hashlib.sha256(path.read_bytes()).hexdigest()
    )
    probes = probe_sentiment_modalities(data.corpora, data.sentiment)
    assert list(probes) == ["text", "audio", "video", "concat"]
    # the label is a rescaled mean of audio feature 0, but scaled by sqrt(length):
    # linear only per length, so the probe recovers the sign well and the level only
    # roughly
    assert probes["audio"].scores.acc2_non0 > 0.85 and probes["audio"].scores.corr > 0.7
    assert probes["concat"].scores.acc2_non0 > 0.8
    # pure noise: no better than a coin, no correlation to speak of
    for m in (
        "text",
        "video",
    ):
        assert probes[m].scores.acc2_non0 < 0.7 and abs(probes[m].scores.corr) < 0.35
    assert probes["audio"].scores.mae < probes["text"].scores.mae
    best = probes["audio"]
    assert (
        best.val_mae[best.alpha] == min(best.val_mae.values())
        and len(best.val_mae) == 5
    )
    assert np.all(np.abs(best.predictions) <= 3) and best.predictions.shape == (120,)
    # deterministic
    again = sentiment_probe(data.corpora, data.sentiment, modality="audio")
    assert np.array_equal(again.predictions, best.predictions)
    # shuffled labels carry nothing: the chosen probe falls to chance
    rng = np.random.default_rng(0)
    shuffled = {s: rng.permutation(y) for s, y in data.sentiment.items()}
    assert (
        sentiment_probe(data.corpora, shuffled, modality="audio").scores.acc2_non0 < 0.7
    )


def test_probe_refuses_what_does_not_match(tmp_path):
    path, _ = _mmsa_with_audio_sentiment(tmp_path, n=10)
    data = load_mmsa(
        path, trust_pickle=True, sha256=hashlib.sha256(path.read_bytes()).hexdigest()
    )
    with pytest.raises(
        ValueError, match=r"sentiment\['val'\] has shape \(9,\), expected \(10,\)"
    ):
        sentiment_probe(
            data.corpora, {**data.sentiment, "val": data.sentiment["val"][:9]}
        )
    with pytest.raises(ValueError, match="split 'test' missing"):
        sentiment_probe(
            data.corpora, {k: v for k, v in data.sentiment.items() if k != "test"}
        )
    with pytest.raises(ValueError, match=r"sentiment\['train'\]: truth\[0\] is 4.0"):
        sentiment_probe(
            data.corpora,
            {**data.sentiment, "train": np.r_[4.0, data.sentiment["train"][1:]]},
        )
    with pytest.raises(ValueError, match="alphas must be positive"):
        sentiment_probe(data.corpora, data.sentiment, alphas=(0.0, 1.0))
    with pytest.raises(ValueError, match="unknown modality 'face'"):
        sentiment_probe(data.corpora, data.sentiment, modality="face")
    # the pooled features are chapter 1's probes' (one definition of "mean over valid
    # steps")
    assert pool_features(data.corpora["test"], "concat").shape == (10, 5 + 3 + 2)


def _script():
    path = ROOT / "scripts" / "sentiment_probe.py"
    spec = importlib.util.spec_from_file_location("sentiment_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_on_an_mmsa_pickle(tmp_path, capsys):
    path, _ = _mmsa_with_audio_sentiment(tmp_path, n=40)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    out = tmp_path / "probe.json"
    assert (
        _script().main(["--mmsa", str(path), "--sha256", digest, "--out", str(out)])
        == 0
    )
    result = json.loads(out.read_text())
    assert result["segments"] == {"train": 40, "val": 40, "test": 40}
    assert set(result["probes"]) == {"text", "audio", "video", "concat"}
    assert {"acc2_has0", "acc2_non0", "acc7", "mae", "corr", "alpha"} <= set(
        result["probes"]["audio"]
    )
    printed = capsys.readouterr().out
    assert (
        "MMSA aligned.pkl: 40 train, 40 val, 40 test segments" in printed
        and "acc7" in printed
    )
    with pytest.raises(SystemExit):  # a pickle is never opened unverified
        _script().main(["--mmsa", str(path)])


def test_script_on_sdk_files_keeps_segments_without_emotions(tmp_path, capsys):
    mosei = make_mosei_dir(tmp_path / "mosei")
    folds = tmp_path / "folds.json"  # the fixture's own folds leave test empty
    folds.write_text(
        json.dumps({"train": ["vidA", "vidB"], "valid": ["vidD"], "test": ["vidC"]})
    )
    out = tmp_path / "probe.json"
    assert (
        _script().main(
            [
                "--mosei",
                str(mosei.path),
                "--seq-len",
                "4",
                "--folds",
                str(folds),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    # vidC's one segment has no emotion (align_mosei's default would drop it) but has
    # sentiment -2; train is vidA's two segments with words (vidB has no video, and
    # missing="drop" drops it)
    assert result["segments"] == {"train": 2, "val": 1, "test": 1}
    # NaN -> null
    assert (
        result["probes"]["concat"]["n"] == 1
        and result["probes"]["concat"]["corr"] is None
    )
    with pytest.raises(ValueError, match="split 'test' has no segments"):
        _script().main(
            [
                "--mosei",
                str(mosei.path),
                "--seq-len",
                "4",
                "--folds",
                str(mosei.path / "folds.json"),
                "--out",
                str(out),
            ]
        )
    capsys.readouterr()
