"""The tolerant comparison of stored notebook outputs, hooked into nbval, on toy cells
and the real file."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest

from affect_lib.publish.compare import Tolerances, nbval_compare, snap
from affect_lib.publish.outputs import cell_key, flatten
from tests.publish.notebook_files import TOLERANCE_FILE, glued, stored_cells

FILE = TOLERANCE_FILE


def test_snap_within_and_outside_tolerance():
    assert snap("acc 0.973 n 600", "acc 0.969 n 600", [0.01, 0.0]) == (
        "acc 0.973 n 600",
        [],
    )
    text, problems = snap("acc 0.973 n 600", "acc 0.900 n 601", [0.01, 0.0])
    assert text == "acc 0.900 n 601" and len(problems) == 2
    # a table's padding follows the widths of its numbers
    assert snap("a    0.99\nb    0.50", "a   0.991\nb   0.500", [0.01, 0.01]) == (
        "a    0.99\nb    0.50",
        [],
    )
    assert "stored 0.973, computed 0.900" in problems[0] and "acc" in problems[0]
    # other text: left to nbval
    assert snap("acc 0.973", "loss 0.973", [0.1]) == (
        "loss 0.973",
        [],
    )


class FakeCell:
    """What nbval's IPyNbCell.compare_outputs reads of itself."""

    def __init__(self, notebook: str, source: str):
        from nbval.plugin import nocolors

        # nbval's defaults
        skip = (
            "metadata",
            "traceback",
            "prompt_number",
            "output_type",
            "name",
            "execution_count",
            "application/vnd.jupyter.widget-view+json",
            "image/png",
            "image/jpeg",
        )
        self.parent = type(
            "IPyNbFile", (), {"path": Path(notebook), "skip_compare": skip}
        )()
        self.cell = nbformat.v4.new_code_cell(source)
        self.colors = nocolors
        self.comparison_traceback: list[str] = []

    def sanitize(self, s):
        return s

    def format_output_compare(self, key, left, right):
        self.comparison_traceback.append(f"{key}: {left!r} != {right!r}")


def test_nbval_comparison_accepts_noise_and_catches_a_regression():
    from nbval.plugin import IPyNbCell

    src = "glue('acc', acc)"
    tols = Tolerances(
        {
            "cells": {
                "03.ipynb": {
                    cell_key(src): {
                        "outputs": {
                            "application/papermill.record/text/plain#0": {
                                "tol": [0.01],
                                "glue": "acc",
                            }
                        }
                    }
                }
            }
        }
    )
    compare = nbval_compare(IPyNbCell.compare_outputs, tols)
    ref = [glued("acc", "0.9717")]
    # another CPU's noise
    assert compare(FakeCell("03.ipynb", src), [glued("acc", "0.9767")], ref)
    cell = FakeCell("03.ipynb", src)
    assert not compare(cell, [glued("acc", "0.9000")], ref)  # a regression
    assert any(
        "glue acc" in line and "stored 0.9717" in line
        for line in cell.comparison_traceback
    )
    # unlisted: exact
    assert not compare(FakeCell("03.ipynb", "other()"), [glued("acc", "0.9767")], ref)
    # per notebook
    assert not compare(FakeCell("04.ipynb", src), [glued("acc", "0.9767")], ref)


@pytest.mark.skipif(not FILE.exists(), reason="no tolerance file")
def test_stored_glued_numbers_outside_their_tolerance_fail():
    """Not vacuous: every listed glued number, moved past its tolerance, is reported."""
    tols = Tolerances.load(FILE)
    checked = 0
    for notebook, entries in tols.cells.items():
        cells = stored_cells(notebook)
        for key, entry in entries.items():
            outputs = cells[key].get("outputs", [])
            for label, item in entry["outputs"].items():
                if (
                    "glue" not in item
                    or not math.isfinite(item["tol"][0])
                    or item["tol"][0] == 0
                ):
                    continue
                value = float(flatten(outputs)[label])
                moved = [
                    glued(item["glue"], repr(value + 2 * item["tol"][0]))
                    if o.get("metadata", {}).get("scrapbook", {}).get("name")
                    == item["glue"]
                    else o
                    for o in outputs
                ]
                _, problems = tols.apply(notebook, cells[key].source, moved, outputs)
                assert problems, (notebook, item["glue"])
                checked += 1
    assert checked > 0
