"""Notebook files the publish tests build: a jupytext pair, glued outputs, the stored
cells."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_output

from affect_lib.publish.outputs import cell_key
from conftest import ROOT

TOLERANCE_FILE = ROOT / "notebooks" / "tolerances.json"


def paired_notebook(root: Path, stored: str, edited: str) -> tuple[Path, Path]:
    """notebooks/01_pair.ipynb whose last cell prints ``stored`` and its .py pair
    printing ``edited``."""
    import jupytext

    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    for name, text in (("_toc.yml", "root: x\n"), ("pyproject.toml", "")):
        (root / name).write_text(text)
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        }
    )
    params = nbformat.v4.new_code_cell('profile = "smoke"\noverrides = {}')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(f"print({edited!r})")]
    py = root / "notebooks" / "01_pair.py"
    jupytext.write(nb, py, fmt="py:percent")
    nb.cells[-1] = nbformat.v4.new_code_cell(f"print({stored!r})")
    ipynb = py.with_suffix(".ipynb")
    nbformat.write(nb, ipynb)
    return py, ipynb


def glued(name: str, text: str):
    return new_output(
        "display_data",
        data={"application/papermill.record/text/plain": text},
        metadata={
            "scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}
        },
    )


def stored_cells(name: str) -> dict[str, nbformat.NotebookNode]:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return {cell_key(c.source): c for c in nb.cells if c.cell_type == "code"}
