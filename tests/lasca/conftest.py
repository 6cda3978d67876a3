"""LaScA test fixtures: ``folder``, a two-video Aff-Wild2-layout folder with known
values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lasca.folder_files import make_video


@pytest.fixture()
def folder(tmp_path) -> Path:
    make_video(tmp_path, "vidA")
    make_video(tmp_path, "vidB")
    (tmp_path / "videos.csv").write_text("video,subject,fps\nvidA,p1,10\nvidB,p2,10\n")
    return tmp_path
