"""Folder layouts: the video index, SEWA labels, feature tables, shared audio and bad
files named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from affect_lib.data.affwild.reader import read_wav
from affect_lib.lasca.features import mfcc_frames
from affect_lib.lasca.folders import load_windows
from affect_lib.schema import DataFormatError
from tests.lasca.folder_files import FPS, make_video, write_blendshapes


def test_load_windows_without_index_needs_fps(folder):
    (folder / "videos.csv").unlink()
    with pytest.raises(ValueError, match="fps"):
        load_windows(folder, 1.0)
    ws = load_windows(folder, 1.0, fps=FPS)
    # subject defaults to the video id
    np.testing.assert_array_equal(ws.subject, ws.video)
    assert len(ws) == 4
    for p in (folder / "annotations").glob("*.txt"):
        p.unlink()
    with pytest.raises(
        DataFormatError, match="annotations: no <video>.txt annotation files"
    ):
        load_windows(folder, 1.0, fps=FPS)


def _as_sewa(folder: Path, rate_of: int = 1) -> None:
    """The Aff-Wild2 folder's annotations as SEWA traces (labels/<video>.csv,
    time,valence,arousal): every ``rate_of``-th frame, invalid (-5) frames left out as
    gaps, the annotations folder removed."""
    for ann in sorted((folder / "annotations").glob("*.txt")):
        rows = [line.split(",") for line in ann.read_text().splitlines()[1:]]
        lines = ["time,valence,arousal"] + [
            f"{k / FPS:g},{v},{a}"
            for k, (v, a) in enumerate(rows)
            if v != "-5" and k % rate_of == 0
        ]
        (folder / "labels").mkdir(exist_ok=True)
        (folder / "labels" / f"{ann.stem}.csv").write_text("\n".join(lines) + "\n")
        ann.unlink()
    (folder / "annotations").rmdir()


def test_a_sewa_folder_reads_like_the_same_aff_wild2_folder(folder):
    reference = load_windows(folder, 1.0)
    _as_sewa(folder)
    # the Aff-Wild2 layout is not there any more
    with pytest.raises(DataFormatError, match="annotations"):
        load_windows(folder, 1.0)
    sewa = load_windows(folder, 1.0, layout="sewa")
    for name in ("X", "valence", "arousal", "subject", "video", "index"):
        np.testing.assert_array_equal(
            getattr(sewa, name), getattr(reference, name), err_msg=name
        )
    # a 5 Hz trace: each 10 fps frame takes its nearest label sample (half a period away
    # at most)
    (folder / "videos.csv").unlink()
    for p in (folder / "labels").glob("*.csv"):
        rows = p.read_text().splitlines()
        p.write_text(
            "\n".join(
                rows[:1]
                + [r for r in rows[1:] if round(float(r.split(",")[0]) * FPS) % 2 == 0]
            )
        )
    slow = load_windows(folder, 1.0, fps=FPS, layout="sewa")
    # window 1's gap (frames 10-15 unannotated) shrinks: frame 15 is within 0.1 s of the
    # sample at frame
    # 16 and frame 17 ties between 16 and 18 (the earlier wins), so frames 15-19 read
    # 16, 16, 16, 18, 18:
    # 5 of 10 frames valid, the window is kept
    np.testing.assert_array_equal(slow.index, [0, 1, 2, 0, 1, 2])
    old = np.isin(slow.index, reference.index[:2])
    # valence = frame / 100
    np.testing.assert_allclose(slow.valence[old], reference.valence, atol=0.011)
    np.testing.assert_allclose(
        slow.valence[slow.index == 1], (16 * 3 + 18 * 2) / 500, rtol=1e-5
    )
    assert (slow.arousal == -0.5).all()
    with pytest.raises(ValueError, match="valid layouts: aff_wild2, sewa"):
        load_windows(folder, 1.0, fps=FPS, layout="recola")
    (folder / "labels" / "vidA.csv").write_text("t,valence,arousal\n0,0,0\n")
    with pytest.raises(DataFormatError, match=r"vidA\.csv: line 1: header"):
        load_windows(folder, 1.0, fps=FPS, layout="sewa")


def test_timestamp_ms_and_an_mfcc_table_read_like_frames_and_wav(folder):
    reference = load_windows(folder, 1.0)
    _, face = make_video(folder, "vidA")
    write_blendshapes(
        folder / "features" / "blendshapes" / "vidA.csv", face, time_col="timestamp_ms"
    )
    audio = read_wav(folder / "audio" / "vidA.wav")
    mfcc = mfcc_frames(audio.samples, audio.sample_rate, FPS)
    (folder / "audio" / "vidA.wav").unlink()
    table = ["frame," + ",".join(f"mfcc_{i}" for i in range(15))]
    table += [f"{k}," + ",".join(f"{v:.6f}" for v in row) for k, row in enumerate(mfcc)]
    (folder / "features" / "mfcc").mkdir(parents=True)
    (folder / "features" / "mfcc" / "vidA.csv").write_text("\n".join(table) + "\n")
    ws = load_windows(folder, 1.0)
    np.testing.assert_allclose(ws.X, reference.X, rtol=1e-4, atol=1e-3)


def test_shared_audio_column(folder):
    (folder / "audio" / "vidB.wav").rename(folder / "audio" / "shared.wav")
    (folder / "videos.csv").write_text(
        "video,subject,fps,audio\nvidA,p1,10,\nvidB,p2,10,shared\n"
    )
    assert len(load_windows(folder, 1.0)) == 4


@pytest.mark.parametrize(
    "breakage, message",
    [
        (
            lambda r: (r / "features" / "blendshapes" / "vidB.csv").unlink(),
            r"vidB.*no facial features.*vidB\.csv",
        ),
        (lambda r: (r / "audio" / "vidB.wav").unlink(), r"vidB.*no audio.*vidB\.wav"),
        (
            lambda r: (r / "annotations" / "vidB.txt").unlink(),
            r"vidB.*listed but.*vidB\.txt",
        ),
        (
            lambda r: (r / "videos.csv").write_text("clip,fps\nvidA,10\n"),
            r"videos\.csv: line 1",
        ),
        (
            lambda r: (r / "videos.csv").write_text("video,fps\nvidA,fast\n"),
            r"videos\.csv: line 2: fps",
        ),
        (
            lambda r: (r / "videos.csv").write_text("video,fps\nvidA,10\nvidA,10\n"),
            r"videos\.csv: line 3",
        ),
        (
            lambda r: (r / "audio" / "vidA.wav").write_bytes(b"RIFF0000WAVE"),
            r"vidA\.wav.*not a readable",
        ),
        (
            lambda r: write_blendshapes(
                r / "features" / "blendshapes" / "vidA.csv",
                np.zeros((40, 52)),
                pose=False,
            ),
            r"vidA\.csv: line 1: no head pose",
        ),
    ],
)
def test_bad_folders_name_the_file(folder, breakage, message):
    breakage(folder)
    with pytest.raises(DataFormatError, match=message):
        load_windows(folder, 1.0)


def test_nan_or_inf_in_a_feature_file_is_refused(folder):
    path = folder / "features" / "blendshapes" / "vidA.csv"
    lines = path.read_text().splitlines()
    cells = lines[7].split(",")
    cells[3] = "nan"
    lines[7] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"vidA\.csv: line 8"):
        load_windows(folder, 1.0)
    cells[3] = "inf"
    lines[7] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"vidA\.csv: line 8"):
        load_windows(folder, 1.0)
