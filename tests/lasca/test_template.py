"""The template text of a saliency mask: layout, order, the token cap's cue count and
mask keys."""

from __future__ import annotations

import numpy as np
import pytest

from affect_lib.lasca.lexicon import load_lexicon
from affect_lib.lasca.names import FEATURE_NAMES, N_FEATURES
from affect_lib.lasca.template import (
    NO_CUE_TEXT,
    cues_within_cap,
    describe,
    describe_many,
    mask_key,
)
from tests.lasca.test_semantic import _mask

LEX = load_lexicon("affective")


def test_template_layout_and_order():
    text = describe(_mask("mfcc_1", "mouthSmileLeft", "browInnerUp"), LEX)
    assert text.startswith("Salient facial cues: " + LEX["browInnerUp"].rstrip("."))
    # FEATURE_NAMES order
    assert text.index("Inner brow raiser") < text.index("Left lip corner puller")
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
    # template order: brows before the jaw
    (two,) = _words([describe(_mask("browDownLeft", "jawOpen"), LEX)])
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
    # one batched call per step of the search
    assert got.shape == (40,) and len(calls) <= 8
    # brute force: the longest prefix that fits
    for mask, k in zip(masks, got, strict=True):
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
