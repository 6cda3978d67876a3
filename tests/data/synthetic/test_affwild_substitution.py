"""SynthAffWild's cue substitution (issue #30): the groups, the option's effect, and a
default corpus that stays what it was."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from affect_lib.config import load_profile
from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES, read_blendshapes_csv
from affect_lib.data.synthetic.affwild import generate_synth_affwild
from affect_lib.data.synthetic.affwild_groups import (
    CUE_GROUPS,
    SMILE_AU12,
    SMILE_OTHER_AUS,
    silenced_cues,
    substituted_target,
)
from affect_lib.data.synthetic.affwild_spec import (
    SynthAffWildParams,
    SynthAffWildSpec,
    spec_hash,
    substitution_side,
    video_ids,
)
from affect_lib.lasca.lexicon import load_lexicon
from tests.data.synthetic.test_affwild import SMALL  # the generator tests' corpus

ON = SynthAffWildParams(substitute_subjects=1)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("subst")
    return {
        "default": generate_synth_affwild(SMALL, seed=5, out_dir=root / "default"),
        "off": generate_synth_affwild(
            SMALL,
            seed=5,
            out_dir=root / "off",
            params=SynthAffWildParams(substitute_subjects=0),
        ),
        "on": generate_synth_affwild(SMALL, seed=5, out_dir=root / "on", params=ON),
    }


def test_the_default_corpus_keeps_its_cache_key():
    # the keys chapter 5's cached windows were written under before the option existed
    # (book profile, seeds 0 and 3): a default spec must not move them
    book = load_profile("book").lasca
    assert spec_hash(SynthAffWildSpec.from_config(book, 0)) == "82cddd0d1562e516"
    assert spec_hash(SynthAffWildSpec.from_config(book, 3)) == "b6df1e5da04ebf03"
    on = SynthAffWildSpec.from_config(
        book, 0, SynthAffWildParams(substitute_subjects=4)
    )
    assert spec_hash(on) != "82cddd0d1562e516"


def test_off_is_the_default_path_byte_for_byte(corpora):
    default, off = _digests(corpora["default"]), _digests(corpora["off"])
    assert default == off and len(default) == 3 + 3 * 8  # + truth, manifest, index
    manifest = json.loads((corpora["default"] / "manifest.json").read_text())
    assert "substitute_subjects" not in manifest["spec"]["params"]
    on = json.loads((corpora["on"] / "manifest.json").read_text())
    assert on["spec"]["params"]["substitute_subjects"] == 1


def test_substitution_changes_only_the_silenced_cues(corpora):
    spec = SynthAffWildSpec.from_config(SMALL, 5, ON)
    default, on = _digests(corpora["default"]), _digests(corpora["on"])
    # annotations and audio: the same bytes; only face tables, truth and manifest move
    assert {k for k in default if default[k] != on[k]} == {
        "truth.npz",
        "manifest.json",
        *(f"features/blendshapes/{v}.csv" for v, _ in video_ids(spec)),
    }
    for video, subject in video_ids(spec):
        side = substitution_side(spec, int(subject[1:]))
        a, b = (
            read_blendshapes_csv(
                corpora[k] / "features/blendshapes" / f"{video}.csv", fps=SMALL.fps
            )
            for k in ("default", "on")
        )
        silent = np.r_[silenced_cues(side), np.zeros(6, bool)]
        np.testing.assert_array_equal(a.features[:, ~silent], b.features[:, ~silent])
        moved = np.flatnonzero((a.features != b.features).any(axis=0))
        assert set(moved) <= set(np.flatnonzero(silent)) and len(moved) > 5
    with (
        np.load(corpora["default"] / "truth.npz") as t0,
        np.load(corpora["on"] / "truth.npz") as t1,
    ):
        for key in ("base", "noise", "bursty", "lag_s"):
            np.testing.assert_array_equal(t0[key], t1[key])
        for key in ("gain_valence", "gain_arousal"):
            for s in range(SMALL.n_subjects):
                silent = silenced_cues(substitution_side(spec, s))
                assert (t1[key][s, silent] == 0).all()
                np.testing.assert_array_equal(t1[key][s, ~silent], t0[key][s, ~silent])
    smile = [BLENDSHAPE_NAMES.index(n) for n in SMILE_AU12]
    others = [BLENDSHAPE_NAMES.index(n) for n in SMILE_OTHER_AUS]
    with np.load(corpora["on"] / "truth.npz") as t1:
        g = t1["gain_valence"]
        # the first three subjects smile with AU12 only, the last with AU6/7/14 only
        assert (g[:3][:, smile] > 0).all() and (g[:3][:, others] == 0).all()
        assert (g[3][smile] == 0).all() and (g[3][others] > 0).all()


def test_groups_partition_the_paired_cues_and_agree_with_the_lexicon():
    members = [n for g in CUE_GROUPS for n in (*g.first, *g.second)]
    assert len(members) == len(set(members))  # no blendshape in two groups
    assert set(members) == {
        n for n in BLENDSHAPE_NAMES if n.endswith(("Left", "Right"))
    }
    assert CUE_GROUPS[0].first == SMILE_AU12
    lexicon = load_lexicon("affective")
    for g in CUE_GROUPS[1:]:
        (left,), (right,) = g.first, g.second
        assert left.endswith("Left") and right == left[:-4] + "Right"
        # partners mean the same: their texts differ only in the side
        assert (
            lexicon[left].replace("Left", "Right").replace("left", "right")
            == (lexicon[right])
        )
    for names, au in (
        (SMILE_AU12, {"AU12"}),
        (SMILE_OTHER_AUS, {"AU6", "AU7", "AU14"}),
    ):
        found = {m for n in names for m in re.findall(r"AU\d+", lexicon[n])}
        assert found == au, names
    assert substituted_target() == "valence"
    assert silenced_cues(0).sum() == 6 + 16 and silenced_cues(1).sum() == 2 + 16
    assert not (silenced_cues(0) & silenced_cues(1)).any()


@pytest.mark.parametrize("bad", [-1, 1.5, True, "4"])
def test_a_bad_substitution_is_refused(bad):
    with pytest.raises(ValueError, match="substitute_subjects"):
        SynthAffWildParams(substitute_subjects=bad)


@pytest.mark.parametrize("k", [4, 9])
def test_substitution_must_leave_both_sides(k):
    with pytest.raises(ValueError, match="substitute_subjects=.*n_subjects"):
        SynthAffWildSpec.from_config(
            SMALL, 0, SynthAffWildParams(substitute_subjects=k)
        )
    with pytest.raises(ValueError, match="side must be 0 or 1"):
        silenced_cues(2)
