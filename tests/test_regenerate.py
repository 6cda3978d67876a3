"""`make notebooks` is deterministic: regenerating an unchanged notebook reproduces the stored file."""

import json
import shutil

import pytest

from affect_lib.book import regenerate
from affect_lib.provenance import fingerprint, stored_fingerprint
from conftest import ROOT


def _strip_png(nb: dict) -> dict:
    nb["metadata"].pop("affect_book", None)  # the stamp of the machine (affect_lib.provenance), not an output
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            out.get("data", {}).pop("image/png", None)  # bytes depend on the font stack; nbval skips them too
    return nb


@pytest.mark.slow
def test_regenerate_reproduces_stored_notebook(tmp_path):
    for name in ("_toc.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "01_data_prep.py", tmp_path / "notebooks")
    (out,) = regenerate(root=tmp_path, only=["01"])
    assert stored_fingerprint(out) == fingerprint(kernels=True)  # stamped with the machine that computed it
    fresh = _strip_png(json.loads(out.read_text()))
    stored = _strip_png(json.loads((ROOT / "notebooks" / "01_data_prep.ipynb").read_text()))
    assert fresh == stored
