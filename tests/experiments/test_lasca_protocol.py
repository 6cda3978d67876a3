"""The LaScA protocol on a tiny WindowSet-shaped toy, with a fake sentence encoder (no
model load)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from affect_lib.config import load_profile
from affect_lib.experiments.lasca_protocol import (
    Cell,
    Score,
    run_protocol,
    subject_split,
)
from affect_lib.experiments.lasca_representations import CONTROLS, VARIANTS, represent
from affect_lib.experiments.lasca_toy import toy_window_set
from affect_lib.lasca.names import N_FEATURES
from affect_lib.lasca.semantic import EmbeddingCache

DIM = 8


class FakeEncoder:
    def encode(
        self,
        texts,
        batch_size=32,
        normalize_embeddings=False,
        convert_to_numpy=True,
        show_progress_bar=False,
    ):
        out = []
        for t in texts:
            v = np.random.default_rng(
                int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            ).normal(size=DIM)
            out.append(v / np.linalg.norm(v))
        return np.array(out, dtype=np.float32)


def fake_caches(encoders=("minilm", "mpnet"), mode="pooled"):
    return {
        (e, lex): EmbeddingCache(encoder=e, lexicon=lex, mode=mode, model=FakeEncoder())
        for e in encoders
        for lex in ("affective", "feature_names")
    }


@pytest.fixture(scope="module")
def cfg():
    return load_profile(
        "smoke", encoders=["minilm", "mpnet"], n_seeds=2, hidden=8, max_iter=10
    ).lasca


@pytest.fixture(scope="module")
def sets():
    return [
        toy_window_set(
            n_subjects=6, videos_per_subject=1, windows_per_video=n, window_s=w, seed=i
        )
        for i, (w, n) in enumerate([(3.0, 40), (5.0, 30)])
    ]


def test_every_cell_and_seed_has_a_row(cfg, sets):
    res = run_protocol(sets, cfg, seed=7, caches=fake_caches())
    t = res.table
    # windows x taus x targets x (features + 3 variants x 2 encoders)
    per_seed = 2 * 2 * 2 * (1 + 3 * 2)
    assert len(t) == per_seed * 2 and sorted(t.seed.unique()) == [7, 8]
    # one column per record field, keys first: the chapter's tables read them by name
    assert list(t.columns) == [
        "window_s",
        "tau",
        "target",
        "variant",
        "encoder",
        "lexicon",
        "mode",
        "seed",
        "n_train_pairs",
        "n_test_pairs",
        "accuracy",
        "n_iter",
        "note",
    ]
    assert list(t.columns) == [*Cell._fields, *Score._fields]
    assert t.dtypes[["seed", "n_iter", "n_test_pairs"]].map(str).eq("int64").all()
    assert (
        set(t.variant) == set(VARIANTS)
        and set(t.window_s) == {3.0, 5.0}
        and set(t.tau) == {0.1, 0.2}
    )
    assert set(t[t.variant == "features"].encoder) == {"none"}
    assert set(t[t.variant == "namelex"].lexicon) == {"feature_names"}
    assert not t.duplicated(
        ["window_s", "tau", "target", "variant", "encoder", "seed"]
    ).any()
    assert t.accuracy.between(0, 1).all() and (t.note == "").all()
    assert (t.n_iter <= cfg.max_iter).all() and (t.n_test_pairs > 0).all()
    s = res.summary
    assert len(s) == per_seed and (s.n_seeds == 2).all() and s["std"].notna().all()
    assert res.parameters["features/none"] == N_FEATURES * 8 + 8 + 8 + 1
    assert res.parameters["fusion/mpnet"] == (N_FEATURES + DIM) * 8 + 8 + 8 + 1
    assert res.parameters["st/minilm"] == DIM * 8 + 8 + 8 + 1
    assert set(res.timings) == {"represent_s", "fit_s"}


def test_protocol_is_deterministic_given_the_seed(cfg, sets):
    a = run_protocol(
        sets, cfg, seed=1, caches=fake_caches(), variants=("features", "fusion")
    )
    b = run_protocol(
        sets, cfg, seed=1, caches=fake_caches(), variants=("features", "fusion")
    )
    assert a.table.equals(b.table)
    c = run_protocol(
        sets, cfg, seed=2, caches=fake_caches(), variants=("features", "fusion")
    )
    assert not a.table.accuracy.equals(c.table.accuracy)


@pytest.mark.slow
def test_parallel_fits_give_the_same_table(cfg, sets):
    kw = {
        "seed": 0,
        "variants": ("features", "st"),
        "encoders": ("minilm",),
        "targets": ("valence",),
    }
    a = run_protocol(sets, cfg, caches=fake_caches(("minilm",)), **kw)
    b = run_protocol(sets, cfg, caches=fake_caches(("minilm",)), n_jobs=2, **kw)
    assert a.table.equals(b.table)


def test_subject_split_is_subject_independent_and_seeded():
    subjects = np.repeat([f"s{i}" for i in range(16)], 5)
    splits = [subject_split(subjects, 0.25, seed) for seed in range(5)]
    assert all(len(s) == 4 and len(set(s)) == 4 for s in splits)
    assert len({tuple(s) for s in splits}) > 1
    assert np.array_equal(subject_split(subjects, 0.25, 3), splits[3])
    # two subjects: one stays for training
    assert len(subject_split(subjects[:10], 0.9, 0)) == 1
    with pytest.raises(ValueError, match=">= 2 subjects"):
        subject_split(np.array(["a", "a"]), 0.5, 0)


def test_train_and_test_pairs_come_from_disjoint_subjects(cfg, sets):
    from affect_lib.lasca.pairs import preference_pairs

    ws = sets[0]
    test = subject_split(ws.subject, cfg.test_subjects, 0)
    pairs = preference_pairs(ws.arousal, ws.video, ws.index, 0.1)
    held_out = np.isin(ws.subject[pairs.first], test)
    assert set(ws.subject[pairs.first][held_out]).isdisjoint(
        ws.subject[pairs.first][~held_out]
    )
    assert (ws.subject[pairs.first] == ws.subject[pairs.second]).all()


def test_every_window_length_tests_on_the_same_subjects(cfg):
    # the 5 s windows lack one subject (its video too short): the split must still be
    # the seed's split of all subjects, so 3 s and 5 s cells compare on the same people
    import dataclasses

    from affect_lib.lasca.pairs import preference_pairs

    full = toy_window_set(
        n_subjects=8, videos_per_subject=1, windows_per_video=30, window_s=3.0, seed=1
    )
    keep = full.subject != "s03"
    short = dataclasses.replace(
        full,
        window_s=5.0,
        **{
            f: getattr(full, f)[keep]
            for f in ("X", "valence", "arousal", "subject", "video", "index")
        },
    )
    table = run_protocol(
        [full, short],
        cfg,
        seed=0,
        caches=fake_caches(),
        variants=("features",),
        targets=("arousal",),
        taus=(0.1,),
    ).table
    for s in (0, 1):
        held_out = subject_split(full.subject, cfg.test_subjects, s)
        for ws in (full, short):
            pairs = preference_pairs(ws.arousal, ws.video, ws.index, 0.1)
            row = table[(table.window_s == ws.window_s) & (table.seed == s)]
            assert (
                row.n_test_pairs.item()
                == np.isin(ws.subject[pairs.first], held_out).sum()
            )


def test_tiny_data_gives_an_explained_nan_not_a_crash(cfg):
    tiny = toy_window_set(
        n_subjects=2, videos_per_subject=1, windows_per_video=5, seed=0
    )
    res = run_protocol([tiny], cfg, caches=fake_caches(), variants=("features",))
    assert res.table.accuracy.isna().all()
    assert res.table.note.str.startswith("not fitted").all()
    assert (res.summary.n_seeds == 0).all()


def test_template_mode_encodes_each_window_set_mask_once(cfg, sets):
    caches = fake_caches(("minilm",), mode="template")
    run_protocol(
        sets,
        cfg,
        caches=caches,
        mode="template",
        encoders=("minilm",),
        variants=("st",),
        targets=("arousal",),
    )
    stats = caches[("minilm", "affective")].stats
    assert (
        stats["misses"]
        == len(
            {m.tobytes() for ws in sets for m in represent(ws, (), lexicons=()).masks}
        )
        and stats["encode_calls"] == 2
    )


def test_real_window_set_class_fits_the_protocol(cfg):
    features = pytest.importorskip("affect_lib.lasca.features")
    toy = toy_window_set(n_subjects=4, videos_per_subject=1, windows_per_video=25)
    ws = features.WindowSet(
        X=toy.X,
        valence=toy.valence,
        arousal=toy.arousal,
        subject=toy.subject,
        video=toy.video,
        index=toy.index,
        window_s=toy.window_s,
    )
    res = run_protocol(
        [ws],
        cfg,
        caches=fake_caches(),
        variants=("features", "fusion"),
        targets=("valence",),
    )
    assert len(res.table) == 2 * (1 + 2) * cfg.n_seeds


def test_the_controls_run_only_when_named(cfg, sets):
    assert CONTROLS == ("zfeatures", "mask") and not set(CONTROLS) & set(VARIANTS)
    default = run_protocol(
        sets,
        cfg,
        caches=fake_caches(("minilm",)),
        encoders=("minilm",),
        targets=("arousal",),
    )
    # the paper's ablation grid is unchanged
    assert not set(CONTROLS) & set(default.table.variant)
    res = run_protocol(
        sets,
        cfg,
        caches=fake_caches(("minilm",)),
        encoders=("minilm",),
        targets=("arousal",),
        variants=("features", "zfeatures", "mask"),
    )
    t = res.table
    f = t[t.variant == "features"]
    for control in CONTROLS:
        z = t[t.variant == control]
        assert set(z.encoder) == set(z.lexicon) == set(z["mode"]) == {"none"} and len(
            z
        ) == len(f)
        assert z.accuracy.notna().all() and not np.array_equal(
            z.accuracy.to_numpy(), f.accuracy.to_numpy()
        )
        # 73 inputs each
        assert res.parameters[f"{control}/none"] == res.parameters["features/none"]
    # the error lists the controls among the choices
    with pytest.raises(ValueError, match="zfeatures"):
        run_protocol(sets, cfg, caches=fake_caches(), variants=("zfusion",))
