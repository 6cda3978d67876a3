"""Notebook conventions: .py/.ipynb pairs in sync, kernelspec kept, parameters then
config cell."""

import json
import re

import jupytext
import pytest

from conftest import ROOT

SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_there_are_notebooks():
    assert SOURCES


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_pair_in_sync(src):
    ipynb = src.with_suffix(".ipynb")
    assert ipynb.exists(), f"{src.name}: no paired .ipynb (run make notebooks)"
    py_cells = [c.source.strip() for c in jupytext.read(src).cells]
    stored = json.loads(ipynb.read_text())
    nb_cells = ["".join(c["source"]).strip() for c in stored["cells"]]
    assert py_cells == nb_cells, (
        f"{ipynb.name} differs from {src.name}: run make notebooks"
    )
    code = [c for c in stored["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), (
        f"{ipynb.name}: not fully executed"
    )
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_header_and_cell_order(src):
    nb = jupytext.read(src)
    assert nb.metadata["kernelspec"]["name"] == "python3"  # papermill needs it
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = nb.cells[1]
    assert params.metadata.get("tags") == ["parameters"]
    for name in (
        "profile",
        "seed",
        "device",
        "data_source",
        "data_dir",
        "run_dir",
        "overrides",
    ):
        assert f"{name} = " in params.source, (
            f"{src.name}: parameters cell lacks {name}"
        )
    assert re.search(r"load_profile\(\s*profile", nb.cells[2].source)
    assert "**overrides" in nb.cells[2].source


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_no_figure_reprs_or_stderr_in_stored_outputs(src):
    stored = json.loads(src.with_suffix(".ipynb").read_text())
    for c in stored["cells"]:
        for o in c.get("outputs", []):
            assert not (o["output_type"] == "stream" and o["name"] == "stderr"), (
                "".join(o["text"])[:300]
            )
            if o["output_type"] == "execute_result":
                assert not "".join(o["data"].get("text/plain", "")).startswith(
                    "<Figure"
                )
