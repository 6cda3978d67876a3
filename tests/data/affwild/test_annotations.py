"""Aff-Wild2 VA annotation files and SEWA traces: golden files, errors, -5 markers,
round trips."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_formats import write_affwild2_va, write_sewa_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affect_lib.data.affwild.annotations import read_affwild2_va, read_sewa_va
from affect_lib.schema import DataFormatError

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# ---- Aff-Wild2 -----------------------------------------------------------------------


def test_affwild2_va_golden(tmp_path):
    path = write_affwild2_va(
        tmp_path / "v.txt", [(0.5, -0.25), (-5, -5), (1, -1), (0.0, 0.125)]
    )
    tr = read_affwild2_va(path, fps=25)
    np.testing.assert_allclose(tr.times, [0, 0.04, 0.08, 0.12])
    np.testing.assert_array_equal(tr.valid, [1, 0, 1, 1])
    np.testing.assert_allclose(tr.valence, [0.5, 0, 1, 0])
    np.testing.assert_allclose(tr.arousal, [-0.25, 0, -1, 0.125])
    assert tr.valence.dtype == np.float32 and tr.source == str(path)


@pytest.mark.parametrize(
    ("rows", "header", "match"),
    [
        (
            [(0.1, 0.2)],
            "arousal,valence",
            r"v\.txt: line 1: header is 'arousal,valence'",
        ),
        (
            [(0.1, 0.2), (1.5, 0.0)],
            "valence,arousal",
            r"v\.txt: line 3: column 'valence' is 1\.5",
        ),
        (
            [(0.1, 0.2), ("abc", 0.0)],
            "valence,arousal",
            r"v\.txt: line 3: column 'valence' is 'abc'",
        ),
        (
            [(0.1, "nan")],
            "valence,arousal",
            r"v\.txt: line 2: column 'arousal' is 'nan'",
        ),
        (
            [(0.1, -4)],
            "valence,arousal",
            r"v\.txt: line 2: column 'arousal' is -4\.0, expected .* or -5",
        ),
    ],
)
def test_affwild2_bad_lines_name_file_and_line(tmp_path, rows, header, match):
    path = write_affwild2_va(tmp_path / "v.txt", rows, header=header)
    with pytest.raises(DataFormatError, match=match):
        read_affwild2_va(path, fps=30)


def test_affwild2_field_counts_and_blank_lines(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("valence,arousal\n0.1,0.2\n0.3\n")
    with pytest.raises(DataFormatError, match=r"line 3: 1 fields, expected 2"):
        read_affwild2_va(path, fps=30)
    path.write_text("valence,arousal\n0.1,0.2\n\n0.3,0.1\n")
    with pytest.raises(DataFormatError, match=r"line 3: empty line inside"):
        read_affwild2_va(path, fps=30)
    # BOM, CRLF, trailing blank lines
    path.write_text("\ufeffvalence,arousal\r\n0.1,0.2\r\n\r\n\r\n")
    assert len(read_affwild2_va(path, fps=30).valence) == 1
    with pytest.raises(ValueError, match="fps=0"):
        read_affwild2_va(path, fps=0)


@given(
    st.lists(
        st.one_of(
            st.just((-5.0, -5.0)),
            st.tuples(st.floats(-1, 1, width=32), st.floats(-1, 1, width=32)),
        ),
        max_size=30,
    ),
    st.floats(5, 60),
)
@FAST
def test_affwild2_round_trip_property(tmp_path_factory, rows, fps):
    path = write_affwild2_va(tmp_path_factory.mktemp("va") / "v.txt", rows)
    tr = read_affwild2_va(path, fps=fps)
    arr = np.array(rows, np.float64).reshape(-1, 2)
    invalid = (arr == -5).any(axis=1)
    np.testing.assert_array_equal(tr.valid, ~invalid)
    np.testing.assert_array_equal(
        tr.valence, np.where(invalid, 0, arr[:, 0]).astype(np.float32)
    )
    np.testing.assert_array_equal(
        tr.arousal, np.where(invalid, 0, arr[:, 1]).astype(np.float32)
    )
    np.testing.assert_allclose(tr.times, np.arange(len(rows)) / fps)


_SAMPLE_VA = b"valence,arousal\n0.1,0.2\n-5,-5\n0.3,-0.4\n"


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6
    ),
    st.one_of(st.none(), st.integers(0, 10**6)),
)
@settings(FAST, derandomize=True)
def test_corrupt_text_files_raise_only_data_format_error(tmp_path_factory, edits, cut):
    raw = bytearray(_SAMPLE_VA)
    for pos, value in edits:
        raw[pos % len(raw)] = value
    if cut is not None:
        raw = raw[: cut % len(raw)]
    d = tmp_path_factory.mktemp("bad")
    (d / "v.txt").write_bytes(bytes(raw))
    (d / "s.csv").write_bytes(
        bytes(raw).replace(b"valence,arousal", b"time,valence,arousal", 1)
    )
    for read in (
        lambda: read_affwild2_va(d / "v.txt", fps=30),
        lambda: read_sewa_va(d / "s.csv"),
    ):
        try:
            read()
        except DataFormatError as exc:
            assert str(d) in str(exc)


# ---- SEWA ----------------------------------------------------------------------------


def test_sewa_golden_and_errors(tmp_path):
    t = np.arange(5) * 0.1
    path = write_sewa_csv(
        tmp_path / "s.csv",
        t,
        [0, 0.5, 1, -1, 0.25],
        [0.1] * 5,
        liking=[0, 0, 0.5, 0.5, 1],
    )
    tr = read_sewa_va(path)
    np.testing.assert_allclose(tr.times, t)
    np.testing.assert_allclose(tr.valence, [0, 0.5, 1, -1, 0.25])
    np.testing.assert_allclose(tr.liking, [0, 0, 0.5, 0.5, 1])
    assert (
        tr.valid.all()
        and read_sewa_va(write_sewa_csv(tmp_path / "n.csv", t, t, t)).liking is None
    )
    path.write_text("time,valence\n0,0\n")
    with pytest.raises(
        DataFormatError, match=r"s\.csv: line 1: header is 'time,valence'"
    ):
        read_sewa_va(path)
    path.write_text("time,valence,arousal\n0,0,0\n0.1,0,0\n0.1,0,0\n")
    with pytest.raises(
        DataFormatError,
        match=r"s\.csv: line 4: column 'time' must be strictly increasing",
    ):
        read_sewa_va(path)
    path.write_text("time,valence,arousal\n0,0,0\n0.1,0,-1.2\n")
    with pytest.raises(
        DataFormatError, match=r"s\.csv: line 3: column 'arousal' is -1\.2"
    ):
        read_sewa_va(path)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (
            "-5,7",
            r"line 3: column 'arousal' is 7\.0, expected a value in \[-1, 1\] or -5",
        ),
        ("7,-5", r"line 3: column 'valence' is 7\.0"),
        (
            "-5,",
            r"line 3: column 'arousal' is empty, expected a value in \[-1, 1\] or -5",
        ),
        (",-5", r"line 3: column 'valence' is empty"),
        ("-5,abc", r"line 3: column 'arousal' is 'abc', expected a finite number"),
    ],
)
def test_affwild2_half_invalid_rows_are_checked(tmp_path, row, match):
    path = tmp_path / "v.txt"
    path.write_text(f"valence,arousal\n0.1,0.2\n{row}\n")
    with pytest.raises(DataFormatError, match=rf"v\.txt: {match}"):
        read_affwild2_va(path, fps=30)


def test_affwild2_documented_invalid_markers_still_read(tmp_path):
    path = tmp_path / "v.txt"
    # -5 in either column: no annotation
    path.write_text("valence,arousal\n-5,-5\n-5,0.3\n0.4,-5\n0.1,0.2\n")
    tr = read_affwild2_va(path, fps=30)
    np.testing.assert_array_equal(tr.valid, [0, 0, 0, 1])
    np.testing.assert_allclose(tr.valence, [0, 0, 0, 0.1], rtol=1e-6)
