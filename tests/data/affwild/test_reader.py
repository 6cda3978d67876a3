"""Aff-Wild2 / SEWA annotation readers, MediaPipe blendshape and MFCC tables, WAV, time alignment."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from fixtures_formats import (
    BLENDSHAPES,
    write_affwild2_va,
    write_blendshapes_csv,
    write_mfcc_csv,
    write_sewa_csv,
    write_wav,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affect_lib.data.affwild.reader import (
    BLENDSHAPE_NAMES,
    HEAD_POSE_NAMES,
    DataFormatError,
    FrameFeatures,
    align_annotations_to_features,
    read_affwild2_va,
    read_blendshapes_csv,
    read_mfcc_csv,
    read_sewa_va,
    read_wav,
)

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def test_blendshape_names_are_mediapipe_s():
    assert BLENDSHAPE_NAMES == tuple(BLENDSHAPES) and len(BLENDSHAPE_NAMES) == 52
    assert (
        BLENDSHAPE_NAMES[0] == "_neutral" and BLENDSHAPE_NAMES[-1] == "noseSneerRight"
    )


# ---- Aff-Wild2 ----------------------------------------------------------------------------------------


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
    path.write_text(
        "\ufeffvalence,arousal\r\n0.1,0.2\r\n\r\n\r\n"
    )  # BOM, CRLF, trailing blank lines
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


# ---- SEWA ---------------------------------------------------------------------------------------------------


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


# ---- MediaPipe blendshapes, MFCC, WAV --------------------------------------------------------------------------


def test_blendshapes_frame_column_and_head_pose(tmp_path):
    rng = np.random.default_rng(0)
    scores, pose = rng.uniform(0, 1, (6, 52)), rng.normal(0, 10, (6, 6))
    path = write_blendshapes_csv(
        tmp_path / "b.csv", scores, pose=pose, no_face=(2,), shuffle_columns=True
    )
    ff = read_blendshapes_csv(path, fps=30)
    assert ff.names == BLENDSHAPE_NAMES + HEAD_POSE_NAMES and ff.features.shape == (
        6,
        58,
    )
    np.testing.assert_allclose(ff.times, np.arange(6) / 30)
    np.testing.assert_array_equal(ff.valid, [1, 1, 0, 1, 1, 1])
    expected = np.column_stack([scores, pose]).astype(np.float32)
    expected[2] = 0
    np.testing.assert_allclose(ff.features, expected, rtol=1e-6)


def test_blendshapes_timestamp_ms_and_errors(tmp_path):
    scores = np.full((3, 52), 0.5)
    ff = read_blendshapes_csv(
        write_blendshapes_csv(
            tmp_path / "b.csv", scores, time_col="timestamp_ms", times=[0, 40, 80]
        )
    )
    np.testing.assert_allclose(ff.times, [0, 0.04, 0.08])
    assert ff.features.shape == (3, 52) and ff.valid.all()
    with pytest.raises(ValueError, match="needs fps"):
        read_blendshapes_csv(write_blendshapes_csv(tmp_path / "f.csv", scores))
    bad = scores.copy()
    bad[1, 25] = 1.5
    with pytest.raises(
        DataFormatError, match=r"c\.csv: line 3: column 'jawOpen' is 1\.5"
    ):
        read_blendshapes_csv(write_blendshapes_csv(tmp_path / "c.csv", bad), fps=30)
    path = tmp_path / "d.csv"
    path.write_text("frame,foo\n0,1\n")
    with pytest.raises(
        DataFormatError,
        match=r"d\.csv: line 1: missing blendshape columns .* unknown columns \['foo'\]",
    ):
        read_blendshapes_csv(path, fps=30)
    lines = write_blendshapes_csv(tmp_path / "e.csv", scores).read_text().splitlines()
    lines[2] = (
        lines[2].rsplit(",", 1)[0] + ","
    )  # one empty cell: neither a face nor no face
    path.write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match=r"line 3: some feature cells are empty"):
        read_blendshapes_csv(path, fps=30)


def test_mfcc_table(tmp_path):
    mfcc = np.random.default_rng(1).normal(size=(4, 15))
    ff = read_mfcc_csv(
        write_mfcc_csv(tmp_path / "m.csv", np.arange(4) * 512 / 22050, mfcc)
    )
    assert ff.names == tuple(f"mfcc_{i}" for i in range(15))
    np.testing.assert_allclose(ff.features, mfcc, rtol=1e-6)
    path = tmp_path / "x.csv"
    path.write_text("time,mfcc_1\n0,1\n")
    with pytest.raises(
        DataFormatError, match=r"x\.csv: line 1: feature columns are \['mfcc_1'\]"
    ):
        read_mfcc_csv(path)


@pytest.mark.parametrize(
    ("width", "lo", "hi"),
    [
        (1, 0, 255),
        (2, -(2**15), 2**15 - 1),
        (3, -(2**23), 2**23 - 1),
        (4, -(2**31), 2**31 - 1),
    ],
)
def test_wav_widths(tmp_path, width, lo, hi):
    samples = np.array([[lo, hi], [0 if width > 1 else 128, lo]], dtype=np.int64)
    w = read_wav(write_wav(tmp_path / "a.wav", samples, 16000, width=width))
    assert (
        w.sample_rate == 16000
        and w.samples.shape == (2, 2)
        and w.samples.dtype == np.float32
    )
    np.testing.assert_allclose(w.samples[0], [-1, 1], atol=1e-2)
    assert w.samples[1, 0] == 0


def test_wav_truncated_and_garbage(tmp_path):
    path = write_wav(tmp_path / "a.wav", np.zeros((1000, 1), np.int16), 8000)
    path.write_bytes(path.read_bytes()[:900])
    with pytest.raises(
        DataFormatError, match=r"a\.wav: data chunk: header says 1000 frames"
    ):
        read_wav(path)
    path.write_bytes(b"not a wav file at all")
    with pytest.raises(DataFormatError, match=r"a\.wav: not a readable PCM WAV"):
        read_wav(path)


# ---- alignment by time ------------------------------------------------------------------------------------


def test_affwild2_frames_align_exactly(tmp_path):
    tr = read_affwild2_va(
        write_affwild2_va(tmp_path / "v.txt", [(0.1, 0.2), (-5, -5), (0.3, 0.4)]),
        fps=30,
    )
    ff = FrameFeatures(
        times=np.arange(4) / 30,
        features=np.zeros((4, 1), np.float32),
        valid=np.array([1, 1, 1, 0], bool),
        names=("x",),
    )
    out = align_annotations_to_features(tr, ff)
    np.testing.assert_allclose(out.valence, [0.1, 0, 0.3, 0], rtol=1e-6)
    np.testing.assert_array_equal(
        out.valid, [1, 0, 1, 0]
    )  # -5 frame, and a frame past the annotations


def test_sewa_10hz_to_30fps_nearest(tmp_path):
    t = np.arange(4) * 0.1
    tr = read_sewa_va(
        write_sewa_csv(tmp_path / "s.csv", t, [0.0, 0.1, 0.2, 0.3], [0.0] * 4)
    )
    frames = np.arange(13) / 30  # 0 .. 0.4 s
    out = align_annotations_to_features(tr, frames)
    np.testing.assert_allclose(
        out.valence[:11], np.round(frames[:11] / 0.1) * 0.1, atol=1e-6
    )
    assert (
        out.valid[:11].all() and not out.valid[11:].any()
    )  # > 50 ms past the last sample (0.3 s)
    strict = align_annotations_to_features(tr, frames, tolerance_s=0.01)
    np.testing.assert_array_equal(strict.valid, [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0])


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6
    ),
    st.one_of(st.none(), st.integers(0, 10**6)),
)
@settings(FAST, derandomize=True)
def test_corrupt_wav_raises_only_data_format_error(tmp_path_factory, edits, cut):
    d = tmp_path_factory.mktemp("wav")
    raw = bytearray(
        write_wav(
            d / "a.wav", np.arange(-40, 40).reshape(-1, 2) * 500, 8000
        ).read_bytes()
    )
    for pos, value in edits:
        raw[pos % len(raw)] = value
    if cut is not None:
        raw = raw[: cut % len(raw)]
    (d / "a.wav").write_bytes(bytes(raw))
    try:
        w = read_wav(d / "a.wav")
    except DataFormatError as exc:
        assert str(d) in str(exc)
    else:
        assert np.isfinite(w.samples).all() and np.abs(w.samples).max(initial=0) <= 1


# ---- bad parameters and half-invalid rows --------------------------------------------------------------------


@pytest.mark.parametrize("fps", [float("inf"), float("nan"), "30", -1, 0, True, None])
def test_fps_must_be_a_finite_positive_number(tmp_path, fps):
    va = write_affwild2_va(tmp_path / "v.txt", [(0.1, 0.2)])
    with pytest.raises(
        ValueError, match=rf"v\.txt: fps={fps!r}: expected a finite number > 0"
    ):
        read_affwild2_va(va, fps=fps)
    mfcc = write_mfcc_csv(tmp_path / "m.csv", [0, 1], np.zeros((2, 2)))
    mfcc.write_text(mfcc.read_text().replace("time,", "frame,", 1))
    with pytest.raises(
        ValueError,
        match=rf"m\.csv: fps={fps!r}: expected a finite number > 0 \(a 'frame' column",
    ):
        read_mfcc_csv(mfcc, fps=fps)
    shapes = write_blendshapes_csv(tmp_path / "b.csv", np.full((2, 52), 0.5))
    with pytest.raises(ValueError, match=rf"b\.csv: fps={fps!r}"):
        read_blendshapes_csv(shapes, fps=fps)


@pytest.mark.parametrize(
    "fps", [np.float32(30), np.array(30.0), Fraction(30000, 1001), 25]
)
def test_fps_may_be_any_real_number_type(tmp_path, fps):
    va = read_affwild2_va(
        write_affwild2_va(tmp_path / "v.txt", [(0.1, 0.2), (0.3, 0.4)]), fps=fps
    )
    np.testing.assert_allclose(va.times, [0.0, 1 / float(fps)])


def test_a_blendshape_score_out_of_range_names_no_minus_five(tmp_path):
    scores = np.full((2, 52), 0.5)
    scores[1, 3] = 1.5
    with pytest.raises(DataFormatError, match=r"expected a value in \[0, 1\]$"):
        read_blendshapes_csv(write_blendshapes_csv(tmp_path / "b.csv", scores), fps=30)


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
    path.write_text(
        "valence,arousal\n-5,-5\n-5,0.3\n0.4,-5\n0.1,0.2\n"
    )  # -5 in either column: no annotation
    tr = read_affwild2_va(path, fps=30)
    np.testing.assert_array_equal(tr.valid, [0, 0, 0, 1])
    np.testing.assert_allclose(tr.valence, [0, 0, 0, 0.1], rtol=1e-6)


def test_mfcc_duplicated_columns_are_rejected(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,time,mfcc_0\n0,0,1\n0.1,5,1\n")
    with pytest.raises(
        DataFormatError, match=r"m\.csv: line 1: duplicated columns \['time'\]"
    ):
        read_mfcc_csv(path)


@pytest.mark.parametrize(
    ("kwargs", "times", "match"),
    [
        (
            {"tolerance_s": float("nan")},
            np.arange(3) / 30,
            r"tolerance_s=nan, expected a finite number >= 0",
        ),
        ({"tolerance_s": float("inf")}, np.arange(3) / 30, r"tolerance_s=inf"),
        ({"tolerance_s": -0.01}, np.arange(3) / 30, r"tolerance_s=-0\.01"),
        ({"tolerance_s": "0.1"}, np.arange(3) / 30, r"tolerance_s='0\.1'"),
        (
            {},
            np.array([0.0, np.nan, 0.1]),
            r"feature times\[1\] is nan, expected finite seconds",
        ),
        ({}, np.zeros((3, 1)), r"feature times have shape \(3, 1\), expected \(n,\)"),
    ],
)
def test_alignment_rejects_bad_tolerance_and_times(tmp_path, kwargs, times, match):
    tr = read_affwild2_va(
        write_affwild2_va(tmp_path / "v.txt", [(0.1, 0.2), (0.3, 0.4)]), fps=30
    )
    with pytest.raises(ValueError, match=rf"align_annotations_to_features: {match}"):
        align_annotations_to_features(tr, times, **kwargs)
