"""affect-book compare: glued values of two runs, with the measured noise."""

import json
import shutil

import nbformat

from affect_lib.io import write_json
from affect_lib.publish.run_compare import compare_runs, format_rows, glued_values
from conftest import ROOT

NB = "04_counterfactuals"


def _runs(tmp_path, edit):
    """A checkout with the stored chapter 4 and two runs of it; ``edit`` changes
    run B."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / f"{NB}.ipynb", tmp_path / "notebooks")
    shutil.copy(ROOT / "notebooks" / "tolerances.json", tmp_path / "notebooks")
    for name in ("a", "b"):
        folder = tmp_path / "_build" / "runs" / name
        (folder / "notebooks").mkdir(parents=True)
        nb = nbformat.read(ROOT / "notebooks" / f"{NB}.ipynb", as_version=4)
        if name == "b":
            edit(nb)
        nbformat.write(nb, folder / "notebooks" / f"{NB}.ipynb")
        write_json(folder / "run.json", {"profile": "book", "chapters": {}})


def _set(nb, key, value):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if (out.get("metadata") or {}).get("scrapbook", {}).get("name") == key:
                out["data"]["application/papermill.record/text/plain"] = value


def _tol(key):
    data = json.loads((ROOT / "notebooks" / "tolerances.json").read_text())
    for entry in data["cells"][f"{NB}.ipynb"].values():
        for item in entry["outputs"].values():
            if item.get("glue") == key:
                return item["tol"][0]
    raise KeyError(key)


def test_differences_are_judged_against_the_measured_noise(tmp_path):
    stored = glued_values(ROOT / "notebooks")
    acc = float(stored[(NB, "cf_attribution_acc")])
    tol = _tol("cf_attribution_acc")
    exact_key = "cf_sparsity"  # glued by a cell that is exact on every measured run
    assert (NB, exact_key) in stored

    def edit(nb):
        _set(nb, "cf_attribution_acc", str(round(acc - tol / 2, 4)))
        _set(nb, "cf_validity", "0.0")  # far beyond its tolerance
        _set(nb, exact_key, "0.5")

    _runs(tmp_path, edit)
    rows = {r.key: r for r in compare_runs(tmp_path, "a", "b")}
    assert rows["cf_attribution_acc"].noise == "within noise"
    assert rows["cf_validity"].noise == "beyond noise"
    assert rows[exact_key].noise == "exact differs"
    same = [r for r in rows.values() if r.a == r.b]
    assert same and all(r.difference in (0, None) for r in same)
    text = format_rows(list(rows.values()), ("a", "b"))
    assert "cf_validity" in text and "2 beyond their measured noise" in text


def test_no_verdict_for_other_profiles(tmp_path):
    _runs(tmp_path, lambda nb: _set(nb, "cf_validity", "0.0"))
    write_json(
        tmp_path / "_build" / "runs" / "b" / "run.json",
        {
            "profile": "book",
            "chapters": {NB: {"parameters": {"data_source": "cmu_mosei"}}},
        },
    )
    rows = compare_runs(tmp_path, "a", "b")
    assert {r.noise for r in rows} == {""}
    assert any(r.difference for r in rows)
