"""Tolerances measured from re-executed notebooks (the rule, pooling, measure) and the
stored tolerance file."""

from __future__ import annotations

import math

import pytest
from nbformat.v4 import new_output

from affect_lib.publish.compare import Tolerances
from affect_lib.publish.outputs import cell_key, flatten, numbers
from affect_lib.publish.tolerances import measure, pooled, tolerance
from tests.publish.notebook_files import TOLERANCE_FILE, glued, stored_cells

FILE = TOLERANCE_FILE


def test_tolerance_rule_golden_values():
    assert tolerance("0.950", ["0.950", "0.950"]) == 0.0  # no run differs: exact
    # stored 0.95, runs 0.94 and 0.97: sd of (0.95, 0.94, 0.97) = 0.015275; 6 sd =
    # 0.0917 > 2 x 0.02
    assert tolerance("0.950", ["0.940", "0.970"]) == pytest.approx(
        6 * 0.0152753, rel=1e-4
    )
    # one run off by one unit: sd of (0.950, 0.951) = 0.000707, so 6 sd = 0.00424 > 2 x
    # dev = 0.002
    assert tolerance("0.950", ["0.951"]) == pytest.approx(
        6 * math.sqrt(0.0005**2 * 2), rel=1e-4
    )
    # one run of eleven 0.1 away, the others equal: 2 x dev = 0.2 > 6 sd = 0.173
    assert tolerance("0.5", ["0.6"] + ["0.5"] * 10) == pytest.approx(0.2)
    # never below one unit of the last printed digit
    assert tolerance("12", ["13", "12"]) >= 1.0
    # ... of the finest one: repr(0.0) is "0.0"
    assert tolerance("0.0", ["0.0156", "0.0"]) < 0.1
    assert tolerance("nan", ["nan"]) == 0.0 and tolerance("0.5", ["nan"]) == math.inf


def test_pooled_raises_a_number_that_happened_to_agree_to_its_tables_noise():
    # four accuracies of one table: three moved by about 5 %, one agreed in every run
    tols = pooled([0.04, 0.05, 0.001, 0.0], ["0.80", "0.90", "1.00", "600"])
    # 600: exact
    assert (
        tols[:2] == [0.04, 0.05] and tols[2] == pytest.approx(0.05) and tols[3] == 0.0
    )


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
    # the data cell is exact on every code path
    assert list(cells) == [cell_key(trained)] and warnings == []
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


@pytest.mark.skipif(not FILE.exists(), reason="no tolerance file")
def test_every_tolerance_entry_belongs_to_a_stored_cell():
    """An edited cell loses its entry (its key is its source's hash): measure it
    again."""
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
