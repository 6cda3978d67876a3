"""MediaPipe blendshape and MFCC tables, WAV, the shared fps and table checks of the
readers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from fixtures_formats import (
    BLENDSHAPES,
    write_affwild2_va,
    write_blendshapes_csv,
    write_mfcc_csv,
    write_wav,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affect_lib.data.affwild.annotations import read_affwild2_va
from affect_lib.data.affwild.reader import (
    BLENDSHAPE_NAMES,
    HEAD_POSE_NAMES,
    DataFormatError,
    read_blendshapes_csv,
    read_mfcc_csv,
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


# ---- MediaPipe blendshapes, MFCC, WAV ------------------------------------------------


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
        match=(
            r"d\.csv: line 1: missing blendshape columns .* unknown columns "
            r"\['foo'\]"
        ),
    ):
        read_blendshapes_csv(path, fps=30)
    lines = write_blendshapes_csv(tmp_path / "e.csv", scores).read_text().splitlines()
    # one empty cell: neither a face nor no face
    lines[2] = lines[2].rsplit(",", 1)[0] + ","
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


# ---- bad parameters and half-invalid rows --------------------------------------------


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


def test_mfcc_duplicated_columns_are_rejected(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,time,mfcc_0\n0,0,1\n0.1,5,1\n")
    with pytest.raises(
        DataFormatError, match=r"m\.csv: line 1: duplicated columns \['time'\]"
    ):
        read_mfcc_csv(path)
