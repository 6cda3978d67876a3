"""A window set's representations: masks, embeddings and every variant's inputs (fake
encoder)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from affect_lib.experiments.lasca_representations import (
    CONTROLS,
    VARIANT_SPECS,
    VARIANTS,
    Variant,
    represent,
)
from affect_lib.experiments.lasca_toy import toy_window_set
from affect_lib.lasca.names import N_FEATURES
from affect_lib.lasca.saliency import normalise, salient_mask
from tests.experiments.test_lasca_protocol import DIM, fake_caches


@pytest.fixture(scope="module")
def ws():
    """The first window set of test_lasca_protocol's ``sets``."""
    return toy_window_set(
        n_subjects=6, videos_per_subject=1, windows_per_video=40, window_s=3.0, seed=0
    )


def test_represent_shapes_and_variant_inputs(ws):
    rep = represent(ws, ("minilm",), caches=fake_caches(("minilm",)))
    n = len(ws.X)
    assert (
        rep.masks.shape == (n, N_FEATURES)
        and rep.masks.dtype == bool
        and rep.masks.any(1).mean() > 0.9
    )
    assert rep.inputs("features", None).shape == (n, N_FEATURES)
    assert rep.inputs("st", "minilm").shape == (n, DIM)
    assert rep.inputs("fusion", "minilm").shape == (n, N_FEATURES + DIM)
    np.testing.assert_array_equal(rep.inputs("fusion", "minilm")[:, :N_FEATURES], ws.X)
    # the control: the per-video z-scores the mask is computed from, no text
    np.testing.assert_array_equal(
        rep.inputs("zfeatures", None), normalise(ws.X, ws.video)
    )
    assert not np.allclose(rep.inputs("zfeatures", None), ws.X)
    # the other control: the saliency mask itself as 0 / 1, which the embedding encodes
    mask = rep.inputs("mask", None)
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, 1.0}
    np.testing.assert_array_equal(mask, salient_mask(normalise(ws.X, ws.video)))
    with pytest.raises(ValueError, match="FEATURE_NAMES"):
        represent(
            toy_window_set(n_subjects=2, windows_per_video=3).__class__(
                X=np.zeros((3, 5), np.float32),
                valence=np.zeros(3),
                arousal=np.zeros(3),
                subject=np.array(["a"] * 3),
                video=np.array(["v"] * 3),
                index=np.arange(3),
                window_s=3.0,
            ),
            ("minilm",),
            caches=fake_caches(),
        )


def test_variants_are_frozen_specs_that_need_an_input():
    assert VARIANTS == ("features", "st", "fusion", "namelex")
    assert CONTROLS == ("zfeatures", "mask")
    assert [(v.block, v.lexicon) for v in VARIANT_SPECS.values()] == [
        ("x", None),
        (None, "affective"),
        ("x", "affective"),
        ("x", "feature_names"),
        ("zx", None),
        ("masks", None),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        VARIANT_SPECS["fusion"].lexicon = "feature_names"  # type: ignore[misc]
    with pytest.raises(TypeError):
        VARIANT_SPECS["extra"] = VARIANT_SPECS["fusion"]  # type: ignore[index]
    for block, lexicon in [(None, None), ("X", None), ("z", "affective")]:
        with pytest.raises(ValueError, match="block must be"):
            Variant(name="bad", block=block, lexicon=lexicon)
