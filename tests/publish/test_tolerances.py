"""The tolerant comparison of stored notebook outputs (affect_lib.publish.tolerances) and the tolerance file."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output

from affect_lib.publish.tolerances import (
    Tolerances,
    cell_key,
    flatten,
    measure,
    nbval_compare,
    numbers,
    pooled,
    snap,
    tolerance,
)
from conftest import ROOT

FILE = ROOT / "notebooks" / "tolerances.json"


def glued(name: str, text: str):
    return new_output(
        "display_data",
        data={"application/papermill.record/text/plain": text},
        metadata={
            "scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}
        },
    )


def test_numbers_keeps_words_with_digits_as_text():
    skel, toks = numbers(
        "acc 0.973 (n=600), -1.5e-05, AU12 mfcc_3 cell-011 x86_64 v2.1.0 nan"
    )
    assert toks == ["0.973", "600", "-1.5e-05", "nan"]
    assert skel == "acc {} (n={}), {}, AU12 mfcc_3 cell-011 x86_64 v2.1.0 {}"
    assert numbers("{'a': 1}") == ("{{'a': {}}}", ["1"])  # braces survive str.format
    assert numbers("{'a': 1}")[0].format("1") == "{'a': 1}"


def test_tolerance_rule_golden_values():
    assert tolerance("0.950", ["0.950", "0.950"]) == 0.0  # no run differs: exact
    # stored 0.95, runs 0.94 and 0.97: sd of (0.95, 0.94, 0.97) = 0.015275; 6 sd = 0.0917 > 2 x 0.02
    assert tolerance("0.950", ["0.940", "0.970"]) == pytest.approx(
        6 * 0.0152753, rel=1e-4
    )
    # one run off by one unit: sd of (0.950, 0.951) = 0.000707, so 6 sd = 0.00424 > 2 x dev = 0.002
    assert tolerance("0.950", ["0.951"]) == pytest.approx(
        6 * math.sqrt(0.0005**2 * 2), rel=1e-4
    )
    # one run of eleven 0.1 away, the others equal: 2 x dev = 0.2 > 6 sd = 0.173
    assert tolerance("0.5", ["0.6"] + ["0.5"] * 10) == pytest.approx(0.2)
    assert (
        tolerance("12", ["13", "12"]) >= 1.0
    )  # never below one unit of the last printed digit
    assert (
        tolerance("0.0", ["0.0156", "0.0"]) < 0.1
    )  # ... of the finest one: repr(0.0) is "0.0"
    assert tolerance("nan", ["nan"]) == 0.0 and tolerance("0.5", ["nan"]) == math.inf


def test_pooled_raises_a_number_that_happened_to_agree_to_its_tables_noise():
    # four accuracies of one table: three moved by about 5 %, one agreed in every run
    tols = pooled([0.04, 0.05, 0.001, 0.0], ["0.80", "0.90", "1.00", "600"])
    assert (
        tols[:2] == [0.04, 0.05] and tols[2] == pytest.approx(0.05) and tols[3] == 0.0
    )  # 600: exact


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
    assert snap("acc 0.973", "loss 0.973", [0.1]) == (
        "loss 0.973",
        [],
    )  # other text: left to nbval


def test_flatten_labels_outputs_as_nbval_compares_them():
    outs = [
        new_output("stream", name="stdout", text="a 1\n"),
        glued("x", "0.5"),
        new_output("stream", name="stdout", text="b 2\n"),
        new_output(
            "execute_result",
            data={"text/plain": "t", "text/html": "<b>3</b>", "image/png": "AAA"},
            execution_count=4,
        ),
    ]
    assert flatten(outs) == {
        "stdout#0": "a 1\nb 2\n",
        "application/papermill.record/text/plain#0": "0.5",
        "text/plain#0": "t",
        "text/html#0": "<b>3</b>",
    }


def runs_of(source: str, *values: str) -> dict[str, dict[str, list]]:
    return {f"run{i}": {source: [glued("acc", v)]} for i, v in enumerate(values)}


def test_measure_lists_only_cells_that_change_on_another_code_path():
    trained, data = "acc = train()", "print(n)"
    stored = {
        trained: [glued("acc", "0.9717")],
        data: [new_output("stream", name="stdout", text="n 600\n")],
    }
    runs = {
        "seed1": {
            trained: [glued("acc", "0.9600")],
            data: [new_output("stream", name="stdout", text="n 598\n")],
        },
        "cpu": {
            trained: [glued("acc", "0.9767")],
            data: [new_output("stream", name="stdout", text="n 600\n")],
        },
    }
    cells, warnings = measure(stored, runs, same_seed=["cpu"])
    assert (
        list(cells) == [cell_key(trained)] and warnings == []
    )  # the data cell is exact on every code path
    item = cells[cell_key(trained)]["outputs"][
        "application/papermill.record/text/plain#0"
    ]
    assert item["glue"] == "acc" and item["values"] == {
        "stored": "0.9717",
        "seed1": "0.9600",
        "cpu": "0.9767",
    }
    assert item["tol"][0] == pytest.approx(
        tolerance("0.9717", ["0.9600", "0.9767"]), rel=1e-2
    )


def test_measure_warns_when_a_code_path_changes_the_text():
    src = "print(best)"
    stored = {src: [new_output("stream", name="stdout", text="best: audio 0.5\n")]}
    runs = {
        "cpu": {src: [new_output("stream", name="stdout", text="best: video 0.6\n")]}
    }
    _, warnings = measure(stored, runs, same_seed=["cpu"])
    assert warnings and "printed other text" in warnings[0]


class FakeCell:
    """What nbval's IPyNbCell.compare_outputs reads of itself."""

    def __init__(self, notebook: str, source: str):
        from nbval.plugin import nocolors

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
        )  # nbval's defaults
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
    assert compare(
        FakeCell("03.ipynb", src), [glued("acc", "0.9767")], ref
    )  # another CPU's noise
    cell = FakeCell("03.ipynb", src)
    assert not compare(cell, [glued("acc", "0.9000")], ref)  # a regression
    assert any(
        "glue acc" in line and "stored 0.9717" in line
        for line in cell.comparison_traceback
    )
    assert not compare(
        FakeCell("03.ipynb", "other()"), [glued("acc", "0.9767")], ref
    )  # unlisted: exact
    assert not compare(
        FakeCell("04.ipynb", src), [glued("acc", "0.9767")], ref
    )  # per notebook


# ------------------------------------------------------------------------------ the stored tolerance file
def stored_cells(name: str) -> dict[str, nbformat.NotebookNode]:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return {cell_key(c.source): c for c in nb.cells if c.cell_type == "code"}


@pytest.mark.skipif(not FILE.exists(), reason="no tolerance file")
def test_every_tolerance_entry_belongs_to_a_stored_cell():
    """An edited cell loses its entry (its key is its source's hash): measure it again."""
    tols = Tolerances.load(FILE)
    stale = []
    for notebook, entries in tols.cells.items():
        cells = stored_cells(notebook)
        for key, entry in entries.items():
            if key not in cells:
                stale.append(f"{notebook}: {entry['first_line']!r}")
                continue
            flat = flatten(cells[key].get("outputs", []))
            for label, item in entry["outputs"].items():
                assert label in flat, (
                    f"{notebook} {entry['first_line']!r}: no output {label}"
                )
                assert len(numbers(flat[label])[1]) == len(item["tol"]), (
                    f"{notebook} {label}: number count"
                )
    assert not stale, (
        "cells edited since their tolerances were measured; run "
        "`make tolerances ONLY=NN` for their notebooks:\n" + "\n".join(stale)
    )


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
