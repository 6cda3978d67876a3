"""`make notebooks` is deterministic: regenerating an unchanged notebook reproduces the
stored file."""

import json
import shutil

import pytest

from affect_lib.publish.regenerate import regenerate
from conftest import ROOT


def _strip_png(nb: dict) -> dict:
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            # bytes depend on the font stack; nbval skips them too
            out.get("data", {}).pop("image/png", None)
    return nb


@pytest.mark.slow
def test_regenerate_reproduces_stored_notebook(tmp_path):
    for name in ("_toc.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "01_data_prep.py", tmp_path / "notebooks")
    (out,) = regenerate(root=tmp_path, only=["01"])
    fresh = _strip_png(json.loads(out.read_text()))
    stored = _strip_png(
        json.loads((ROOT / "notebooks" / "01_data_prep.ipynb").read_text())
    )
    assert fresh == stored


@pytest.mark.slow
def test_regenerate_drops_the_old_machine_stamp(tmp_path):
    """Older versions stamped `metadata.affect_book` with the machine; a regenerated
    notebook has none."""
    (tmp_path / "notebooks").mkdir()
    src = tmp_path / "notebooks" / "01_tiny.py"
    src.write_text(
        "# ---\n# jupyter:\n#   affect_book:\n#     generated_on:\n#       cpu: an "
        "old machine\n"
        "#   kernelspec:\n#     display_name: Python 3\n#     language: python\n#     "
        "name: python3\n"
        "# ---\n\n# %%\nprint(1 + 1)\n"
    )
    (out,) = regenerate(root=tmp_path, only=["01"])
    nb = json.loads(out.read_text())
    assert (
        "affect_book" not in nb["metadata"]
        and "".join(nb["cells"][0]["outputs"][0]["text"]) == "2\n"
    )
