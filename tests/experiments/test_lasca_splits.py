"""Subject splits and the protocol's two hooks (``split``, ``test_view``) on a toy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from affect_lib.config import load_profile
from affect_lib.experiments.lasca_protocol import run_protocol
from affect_lib.experiments.lasca_splits import (
    SubjectSplit,
    fixed_split,
    protocol_split,
    subject_split,
    subset_split,
)
from affect_lib.experiments.lasca_toy import toy_window_set
from affect_lib.lasca.pairs import preference_pairs
from tests.experiments.test_lasca_protocol import fake_caches

SUBJECTS = np.array([f"s{i:03d}" for i in range(16)])


@pytest.fixture(scope="module")
def cfg():
    return load_profile(
        "smoke", encoders=["minilm"], n_seeds=3, hidden=8, max_iter=6, taus=[0.05]
    ).lasca


@pytest.fixture(scope="module")
def ws():
    return toy_window_set(
        n_subjects=8, videos_per_subject=1, windows_per_video=30, window_s=5.0, seed=2
    )


def _run(ws, cfg, **kw):
    return run_protocol(
        [ws],
        cfg,
        seed=4,
        caches=fake_caches(("minilm",)),
        variants=("features", "fusion"),
        **kw,
    ).table


def test_the_default_split_is_the_protocols(ws, cfg):
    for seed in range(5):
        split = protocol_split(0.25)(SUBJECTS, seed)
        np.testing.assert_array_equal(split.test, subject_split(SUBJECTS, 0.25, seed))
        assert sorted([*split.train, *split.test]) == SUBJECTS.tolist()
    default = _run(ws, cfg)
    explicit = _run(ws, cfg, split=protocol_split(cfg.test_subjects))
    assert default.equals(explicit)


def test_subsets_are_seeded_nested_and_keep_the_test_subjects():
    for seed in range(6):
        test = subject_split(SUBJECTS, 0.25, seed)
        trains = [subset_split(0.25, k)(SUBJECTS, seed).train for k in (2, 4, 8, 12)]
        for k, train in zip((2, 4, 8, 12), trains, strict=True):
            assert len(train) == k and not set(train) & set(test)
            np.testing.assert_array_equal(
                subset_split(0.25, k)(SUBJECTS, seed).test, test
            )
        for small, large in zip(trains, trains[1:], strict=False):
            assert set(small) <= set(large)
    # another seed, other pairs of training subjects
    assert len({tuple(subset_split(0.25, 2)(SUBJECTS, s).train) for s in range(6)}) > 3


def test_a_subset_trains_on_its_subjects_only(ws, cfg):
    table = _run(ws, cfg, split=subset_split(cfg.test_subjects, 2))
    full = _run(ws, cfg)
    pairs = preference_pairs(ws.arousal, ws.video, ws.index, 0.05)
    subject = np.asarray(ws.subject)[pairs.first]
    everyone = np.unique(ws.subject)
    for seed in (4, 5, 6):
        split = subset_split(cfg.test_subjects, 2)(everyone, seed)
        row = table[(table.seed == seed) & (table.target == "arousal")].iloc[0]
        assert row.n_train_pairs == np.isin(subject, split.train).sum()
        assert row.n_test_pairs == np.isin(subject, split.test).sum()
    assert (table.n_test_pairs.to_numpy() == full.n_test_pairs.to_numpy()).all()
    assert (table.n_train_pairs < full.n_train_pairs).all()


def test_a_fixed_split_tests_the_same_subjects_every_seed(ws, cfg):
    table = _run(ws, cfg, split=fixed_split(["s06", "s07"]))
    pairs = preference_pairs(ws.arousal, ws.video, ws.index, 0.05)
    subject = np.asarray(ws.subject)[pairs.first]
    arousal = table[table.target == "arousal"]
    assert (arousal.n_test_pairs == np.isin(subject, ["s06", "s07"]).sum()).all()
    assert (arousal.n_train_pairs == (~np.isin(subject, ["s06", "s07"])).sum()).all()


@pytest.mark.parametrize(
    "bad",
    [
        SubjectSplit(train=np.array(["s000"]), test=np.array(["s000", "s001"])),
        SubjectSplit(train=np.array([], dtype=str), test=np.array(["s001"])),
        SubjectSplit(train=np.array(["s000"]), test=np.array(["nobody"])),
    ],
)
def test_a_bad_split_is_refused(ws, cfg, bad):
    with pytest.raises(ValueError, match="the split of seed 4 needs non-empty"):
        _run(ws, cfg, split=lambda subjects, seed: bad)


def test_bad_split_arguments_are_refused():
    with pytest.raises(ValueError, match="n_train must be an int >= 1"):
        subset_split(0.25, 0)
    with pytest.raises(ValueError, match="n_train=13 .* only 12"):
        subset_split(0.25, 13)(SUBJECTS, 0)
    with pytest.raises(ValueError, match="no test subject"):
        fixed_split([])


def test_the_test_view_changes_test_pairs_only(ws, cfg):
    same = _run(ws, cfg, test_view=lambda w, rep, train, test: rep)
    assert same.equals(_run(ws, cfg))

    def blank(w, rep, train, test):
        # every test window alike: every test delta 0
        x = rep.x.copy()
        x[test] = 0.0
        return dataclasses.replace(rep, x=x)

    table = _run(ws, cfg, test_view=blank)
    clean = _run(ws, cfg)
    feats = table.variant == "features"
    # training is untouched (same epochs), the test is not
    assert (table.n_iter == clean.n_iter).all()
    assert not np.allclose(table[feats].accuracy, clean[feats].accuracy)
    # a zero delta gets one direction for every test pair: accuracy = a class share
    pairs = preference_pairs(ws.arousal, ws.video, ws.index, 0.05)
    for seed in (4, 5, 6):
        test = subject_split(np.unique(ws.subject), cfg.test_subjects, seed)
        labels = pairs.label[np.isin(np.asarray(ws.subject)[pairs.first], test)]
        acc = table[feats & (table.seed == seed) & (table.target == "arousal")]
        assert acc.accuracy.iloc[0] in (labels.mean(), 1 - labels.mean())
