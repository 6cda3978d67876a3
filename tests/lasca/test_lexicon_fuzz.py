"""Fuzzing the LaScA lexicon loader: any file gives a valid lexicon or a LexiconError
naming the file.

The loader's contract (affect_lib.lasca.lexicon): a file that is not exactly one
non-empty string per feature, is not UTF-8, is too large or is not YAML raises
:class:`LexiconError`, whose message starts with the file's path and says what was
wrong. Nothing else may escape (no bare ``yaml.YAMLError``, ``TypeError``,
``ValueError`` or ``RecursionError``), and no input may make it hang: every load runs
under a wall-clock alarm.
"""

from __future__ import annotations

import contextlib
import json
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affect_lib.lasca.lexicon import (
    MAX_LEXICON_BYTES,
    LexiconError,
    derive_feature_name_lexicon,
    load_lexicon,
)
from affect_lib.lasca.names import FEATURE_NAMES

pytestmark = pytest.mark.reliability

# derandomize: CI runs the same examples every time (a new random failure is found by a
# developer, not CI)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# a real lexicon, ASCII only (byte offsets = character offsets)
VALID = derive_feature_name_lexicon()
VALID_TEXT = yaml.safe_dump(VALID, sort_keys=False)
TIME_LIMIT_S = 10.0  # a lexicon loads in milliseconds; anything near this is a hang


class Hang(Exception):
    """Raised by the alarm: the loader ran past TIME_LIMIT_S."""


@contextlib.contextmanager
def _time_limit(seconds: float = TIME_LIMIT_S) -> Iterator[None]:
    def _alarm(signum, frame):
        raise Hang(f"load_lexicon ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load(data: bytes | str) -> tuple[Path, object]:
    """Write ``data`` to a fresh file and load it: (path, lexicon or the LexiconError
    raised).

    Any other exception, or a load past the time limit, propagates and fails the test.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzzed.yaml"
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        with _time_limit():
            try:
                return path, load_lexicon(path=path)
            except LexiconError as exc:
                return path, exc


def _assert_valid_or_named(path: Path, outcome: object) -> str:
    """The contract for arbitrary input; returns the error message ("" for a valid
    lexicon)."""
    if isinstance(outcome, LexiconError):
        message = str(outcome)
        assert message.startswith(f"{path}: "), message  # names the file first
        # a preview, not a dump
        assert len(message) < 5_000, f"message of {len(message)} characters"
        return message
    assert tuple(outcome) == FEATURE_NAMES and all(
        isinstance(v, str) and v.strip() for v in outcome.values()
    )
    return ""


# ---------------------------------------------------------------------- arbitrary input
@FUZZ
@given(text=st.text(max_size=400))
def test_random_text(text):
    _assert_valid_or_named(*_load(text))


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes(data):
    _assert_valid_or_named(*_load(data))


YAML_NOISE = st.text(
    alphabet="[]{}:,&*!|>'\"%@`#-?<=~\\ \t\n\r\x00\x85\u2028\ufeffab19",
    min_size=1,
    max_size=8,
)


@st.composite
def corrupted_lexicons(draw) -> str:
    """A valid lexicon with a few random insertions, deletions or a truncation of YAML
    punctuation."""
    text = VALID_TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if op == "insert":
            text = text[:at] + draw(YAML_NOISE) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        else:
            text = text[:at]
    return text


@FUZZ
@given(text=corrupted_lexicons())
def test_corrupted_yaml(text):
    _assert_valid_or_named(*_load(text))


# Scalars that YAML turns into something other than a string, some of which PyYAML
# cannot construct (impossible dates, integers beyond Python's 4300-digit limit, unknown
# or unsafe tags, bad aliases).
TRICKY_SCALARS = st.sampled_from(
    [
        "2001-13-45",
        "2001-02-30 25:61:00",
        "9" * 5000,
        "0x" + "f" * 5000,
        "1_000",
        "017",
        "1:20:30",
        ".nan",
        "-.inf",
        "~",
        "null",
        "yes",
        "!!binary not-base64!",
        "!!python/object:os.system ls",
        "!!float abc",
        "!!int 1.5",
        "*undefined",
        "&anchor",
        "[unclosed",
        "{a: 1",
        "? [a, b]",
        "<<: {x: 1}",
        "!custom x",
        "@x",
        "%TAG",
        ">-",
        "'unterminated",
        '"bad \\q escape"',
        "- item",
    ]
)


@FUZZ
@given(feature=st.sampled_from(FEATURE_NAMES), scalar=TRICKY_SCALARS)
def test_unquoted_tricky_values(feature, scalar):
    lines = [
        f"{n}: {scalar if n == feature else json.dumps(VALID[n])}"
        for n in FEATURE_NAMES
    ]
    message = _assert_valid_or_named(*_load("\n".join(lines) + "\n"))
    # none of these is a description
    assert message, f"{feature}: {scalar!r} loaded as a valid lexicon"


# ------------------------------------------ well-formed YAML, wrong content: the oracle
NON_STRINGS = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
BLANK = st.text(alphabet=" \t\n", max_size=6)
# Keys that survive a YAML round trip unchanged: YAML folds line breaks (NEL, LS, PS)
# and drops a BOM, so such a key comes back as another string and the message rightly
# names that one.
_KEY_CHARS = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85\ufeff"
)
EXTRA_KEYS = st.one_of(
    st.text(_KEY_CHARS, min_size=1, max_size=12), st.integers()
).filter(lambda k: k not in FEATURE_NAMES)


@st.composite
def mutated_lexicons(draw) -> tuple[dict, str]:
    """A lexicon mapping with missing / extra keys, non-string or empty values, and the
    expected error."""
    names = list(FEATURE_NAMES)
    missing = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
    extra = draw(st.lists(EXTRA_KEYS, unique_by=str, max_size=3))
    bad = draw(
        st.dictionaries(
            st.sampled_from(names), st.one_of(NON_STRINGS, BLANK), max_size=3
        )
    )
    if not (missing or extra or bad):
        missing = [draw(st.sampled_from(names))]
    raw = {n: bad.get(n, VALID[n]) for n in names if n not in missing}
    raw.update({k: "an extra description" for k in extra})
    # what validate_lexicon reports first: missing keys, then unknown keys, then the
    # first bad entry
    if missing:
        expected = ["missing entries", *missing]
    elif extra:
        expected = ["unknown feature key", *(repr(str(k)) for k in extra)]
    else:
        first = next(n for n in names if n in bad)
        expected = [
            f"entry {first!r}",
            "is empty" if isinstance(bad[first], str) else "must be a string",
        ]
    return raw, expected


@FUZZ
@given(case=mutated_lexicons())
def test_wrong_content_names_the_file_and_what_is_wrong(case):
    raw, expected = case
    path, outcome = _load(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    message = _assert_valid_or_named(path, outcome)
    assert message, f"accepted a lexicon that should fail with {expected}"
    for fragment in expected:
        assert fragment in message, (fragment, message)


@FUZZ
@given(feature=st.sampled_from(FEATURE_NAMES), value=st.text(min_size=1, max_size=20))
def test_duplicate_keys_are_named(feature, value):
    message = _assert_valid_or_named(
        *_load(VALID_TEXT + f"{feature}: {json.dumps(value)}\n")
    )
    assert f"duplicate key {feature!r}" in message, message


@FUZZ
@given(
    at=st.integers(0, len(VALID_TEXT)),
    bad=st.sampled_from([b"\xff", b"\xc3(", b"\xe2\x82", b"\x80", b"\xfe"]),
)
def test_non_utf8_bytes_are_named_with_their_offset(at, bad):
    data = VALID_TEXT.encode()
    message = _assert_valid_or_named(*_load(data[:at] + bad + data[at:]))
    assert f"not UTF-8 text (byte {at}" in message, message


# ----------------------------------------------------------------------- size and shape
def test_a_valid_lexicon_loads():
    path, outcome = _load(VALID_TEXT)
    assert dict(outcome) == VALID


def test_huge_file_is_refused_before_parsing():
    text = VALID_TEXT + "# padding\n" * (MAX_LEXICON_BYTES // 10)
    message = _assert_valid_or_named(*_load(text))
    assert f"more than a lexicon's limit of {MAX_LEXICON_BYTES}" in message


@pytest.mark.parametrize(
    "text",
    ["[" * 20_000, "a: " + "{b: " * 5_000, "- " * 5_000 + "x"],
    ids=["flow-list", "flow-map", "block-list"],
)
def test_deep_nesting_is_an_error_not_a_crash(text):
    message = _assert_valid_or_named(*_load(text))
    assert message  # never a valid lexicon


def test_alias_bomb_is_named_without_expanding_it():
    """10^9 leaves from a 2.6 KB file: the 'must be a string' message must preview, not
    repr, it."""
    levels = ["&l0 [" + ",".join(["x"] * 10) + "]"]
    levels += [f"&l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    lines = [f"_neutral: [{', '.join(levels)}]"] + [
        f"{n}: {json.dumps(VALID[n])}" for n in FEATURE_NAMES[1:]
    ]
    message = _assert_valid_or_named(*_load("\n".join(lines) + "\n"))
    assert "entry '_neutral' must be a string, got list" in message


def test_unreadable_path_is_named(tmp_path):
    with _time_limit(), pytest.raises(LexiconError) as err:
        load_lexicon(path=tmp_path)  # a folder
    assert str(err.value).startswith(f"{tmp_path}: cannot read")
