"""LaScA lexicons: completeness, the feature-name derivation, and clear errors for bad
files."""

from __future__ import annotations

import re

import pytest

from affect_lib.lasca.lexicon import (
    LEXICON_DIR,
    LexiconError,
    derive_feature_name_lexicon,
    feature_name_phrase,
    lexicon_hash,
    load_lexicon,
    render_feature_name_yaml,
)
from affect_lib.lasca.names import FEATURE_NAMES


@pytest.mark.parametrize("name", ["affective", "feature_names"])
def test_every_feature_has_one_non_empty_entry_in_order(name):
    lex = load_lexicon(name)
    assert tuple(lex) == FEATURE_NAMES
    assert all(isinstance(t, str) and t.strip() for t in lex.values())
    with pytest.raises(TypeError):
        lex["jawOpen"] = "changed"  # read-only


def test_feature_name_lexicon_file_equals_the_derivation():
    assert dict(load_lexicon("feature_names")) == derive_feature_name_lexicon()
    assert (LEXICON_DIR / "feature_names.yaml").read_text(
        encoding="utf-8"
    ) == render_feature_name_yaml()


@pytest.mark.parametrize(
    "name,phrase",
    [
        ("mouthSmileLeft", "mouth smile left"),
        ("_neutral", "neutral"),
        ("browInnerUp", "brow inner up"),
        ("eyeLookInRight", "eye look in right"),
        ("tx", "head translation x"),
        ("pitch", "head pitch"),
        ("mfcc_3", "mel-frequency cepstral coefficient 3"),
        ("mfcc_15", "mel-frequency cepstral coefficient 15"),
    ],
)
def test_feature_name_phrase(name, phrase):
    assert feature_name_phrase(name) == phrase


def test_affective_lexicon_is_short_distinct_and_documented():
    lex = load_lexicon("affective")
    for name, text in lex.items():
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
        assert 1 <= len(sentences) <= 2, (name, text)
        assert len(text.split()) <= 40, name
    # left/right twins may share the affect sentence but every entry is its own text
    assert len(set(lex.values())) == len(lex)
    header = (
        (LEXICON_DIR / "affective.yaml").read_text(encoding="utf-8").split("\n\n")[0]
    )
    assert "stands in" in header and "by hand" in header and "version" in header.lower()


def test_affective_lexicon_names_the_core_affect_cues():
    lex = load_lexicon("affective")
    assert (
        "AU12" in lex["mouthSmileLeft"] and "positive valence" in lex["mouthSmileLeft"]
    )
    assert (
        "AU15" in lex["mouthFrownRight"]
        and "negative valence" in lex["mouthFrownRight"]
    )
    assert "arousal" in lex["eyeWideLeft"] and "loudness" in lex["mfcc_1"]


def _write(tmp_path, body: str):
    path = tmp_path / "lex.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def _full(skip: str | None = None, extra: str = "", empty: str | None = None) -> str:
    blank = '""'
    lines = [
        f"{n}: {blank if n == empty else 'text of ' + n}"
        for n in FEATURE_NAMES
        if n != skip
    ]
    return "\n".join(lines) + "\n" + extra


def test_a_valid_custom_file_loads(tmp_path):
    lex = load_lexicon(path=_write(tmp_path, _full()))
    assert lex["jawOpen"] == "text of jawOpen"


@pytest.mark.parametrize(
    "body,fragment",
    [
        (_full(skip="jawOpen"), "missing entries for 1 feature(s): jawOpen"),
        (_full(extra="smirk: a smile\n"), "unknown feature key(s) 'smirk'"),
        (_full(empty="noseSneerLeft"), "entry 'noseSneerLeft' is empty"),
        (
            _full(extra="").replace("tz: text of tz", "tz: 3"),
            "entry 'tz' must be a string",
        ),
        ("- just\n- a list\n", "expected a mapping"),
        (_full(extra="jawOpen: again\n"), "duplicate key 'jawOpen'"),
        ("jawOpen: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, body, fragment):
    path = _write(tmp_path, body)
    with pytest.raises(LexiconError) as err:
        load_lexicon(path=path)
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_unknown_lexicon_and_missing_file(tmp_path):
    with pytest.raises(LexiconError, match="valid lexicons: affective, feature_names"):
        load_lexicon("llm")
    with pytest.raises(LexiconError, match="not found"):
        load_lexicon(path=tmp_path / "nope.yaml")


def test_lexicon_hash_tracks_content():
    lex = dict(load_lexicon("affective"))
    h = lexicon_hash(lex)
    assert h == lexicon_hash(load_lexicon("affective"))
    lex["jawOpen"] += " Edited."
    assert lexicon_hash(lex) != h
