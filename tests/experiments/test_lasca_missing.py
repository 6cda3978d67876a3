"""The missing-channels test view in the protocol: finite inputs, clean training."""

from __future__ import annotations

import numpy as np
import pytest

from affect_lib.config import load_profile
from affect_lib.experiments.lasca_missing import MissingChannels
from affect_lib.experiments.lasca_protocol import run_protocol
from affect_lib.experiments.lasca_representations import represent
from affect_lib.experiments.lasca_toy import toy_window_set
from affect_lib.lasca.missing import missing_channels
from affect_lib.lasca.saliency import normalise, salient_mask
from tests.experiments.test_lasca_protocol import fake_caches


@pytest.fixture(scope="module")
def ws():
    return toy_window_set(
        n_subjects=8, videos_per_subject=1, windows_per_video=30, window_s=5.0, seed=2
    )


def test_the_view_degrades_test_windows_only(ws):
    caches = fake_caches(("minilm",))
    rep = represent(ws, ("minilm",), lexicons=("affective",), caches=caches)
    subjects = np.asarray(ws.subject)
    test = np.isin(subjects, ["s06", "s07"])
    train = ~test
    view = MissingChannels(0.5, 9, caches)(ws, rep, train, test)
    key = ("minilm", "affective")
    for name in ("x", "zx", "masks"):
        np.testing.assert_array_equal(
            getattr(view, name)[train], getattr(rep, name)[train]
        )
        assert np.isfinite(getattr(view, name).astype(float)).all()
    np.testing.assert_array_equal(view.semantic[key][train], rep.semantic[key][train])
    assert np.isfinite(view.semantic[key]).all()
    missing = missing_channels(ws.video, 0.5, 9) & test[:, None]
    assert missing[test].sum(axis=1).min() == 36 and not missing[train].any()
    # raw path: the training means; semantic path: masks of the channels present
    np.testing.assert_allclose(
        view.x[missing],
        np.broadcast_to(rep.x[train].mean(axis=0), rep.x.shape)[missing],
        rtol=1e-5,
    )
    assert not view.masks[missing].any()
    z = normalise(np.where(missing, np.nan, rep.x)[test], ws.video[test])
    np.testing.assert_array_equal(view.masks[test], salient_mask(z))
    assert not np.array_equal(view.semantic[key][test], rep.semantic[key][test])


def test_no_nan_reaches_the_learner(ws):
    cfg = load_profile(
        "smoke", encoders=["minilm"], n_seeds=2, hidden=8, max_iter=6, taus=[0.05]
    ).lasca
    caches = fake_caches(("minilm",))
    table = run_protocol(
        [ws],
        cfg,
        seed=1,
        caches=caches,
        variants=("features", "fusion", "zfeatures"),
        test_view=MissingChannels(0.5, 9, caches),
    ).table
    clean = run_protocol(
        [ws], cfg, seed=1, caches=caches, variants=("features", "fusion", "zfeatures")
    ).table
    assert table.accuracy.notna().all() and (table.note == "").all()
    assert (table.n_iter == clean.n_iter).all()  # training untouched
    assert not table.accuracy.equals(clean.accuracy)


@pytest.mark.parametrize("bad", [1.0, -0.2])
def test_a_bad_fraction_is_refused_when_built(bad):
    with pytest.raises(ValueError, match="fraction must be"):
        MissingChannels(bad, 0, {})
