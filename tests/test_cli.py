"""The runner: parameter routing and validation, a real smoke run, and failure reporting."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from affect_lib.book import BookError, notebook_paths, run
from affect_lib.cli import main, parse_value


@pytest.mark.parametrize(
    "text,value",
    [("3", 3), ("0.5", 0.5), ("1e-3", 1e-3), ("True", True), ("false", False), ("None", None),
     ("[0.7, 0.15, 0.15]", [0.7, 0.15, 0.15]), ("cpu", "cpu"), ("/data/mosei", "/data/mosei")],
)
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_unknown_profile_fails_with_choices(capsys):
    assert main(["run", "--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "smoke, book, paper" in err


def test_unknown_parameter_fails_with_choices(capsys):
    assert main(["run", "--profile", "smoke", "-p", "no_such_key", "1"]) == 2
    err = capsys.readouterr().err
    assert "no_such_key" in err and "valid parameters" in err and "seed" in err and "probe_C" in err


def test_bad_value_fails_before_running(capsys):
    assert main(["run", "--profile", "smoke", "-p", "seed", "abc"]) == 2
    assert "'seed' expects int" in capsys.readouterr().err


def test_only_rejects_unknown_notebook(root):
    with pytest.raises(BookError, match="--only 99"):
        notebook_paths(root, ["99"])


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.glob("*")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_smoke_run_writes_executed_copy_and_timings(root):
    before = _digest(root / "notebooks")
    proc = subprocess.run([sys.executable, "-m", "affect_lib.cli", "run", "--profile", "smoke", "--only", "01",
                           "-p", "seed", "3", "-p", "n_train", "300"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _digest(root / "notebooks") == before  # sources untouched
    run_dir = root / "_build" / "runs" / "smoke"
    timings = json.loads((run_dir / "timings.json").read_text())
    assert timings["profile"] == "smoke" and timings["notebooks"]["01_data_prep"]["status"] == "ok"
    assert timings["notebooks"]["01_data_prep"]["seconds"] > 0
    nb = nbformat.read(run_dir / "notebooks" / "01_data_prep.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "seed = 3" in injected.source and '"n_train": 300' in injected.source
    summary = json.loads((run_dir / "data" / "synth_mosei_summary.json").read_text())
    assert summary["seed"] == 3 and summary["sizes"]["train"] == 300


@pytest.mark.slow
def test_failing_cell_names_notebook_cell_and_error(tmp_path):
    (tmp_path / "_toc.yml").write_text("root: x\n")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell('profile = "smoke"\noverrides = {}')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise KeyError('boom')")]
    nbformat.write(nb, tmp_path / "notebooks" / "01_fail.ipynb")
    nbformat.write(nb, tmp_path / "notebooks" / "02_never.ipynb")
    with pytest.raises(BookError) as exc:
        run("smoke", {}, root=tmp_path)
    msg = str(exc.value)
    assert "01_fail.ipynb" in msg and "KeyError" in msg and "boom" in msg and "cell" in msg
    timings = json.loads((tmp_path / "_build" / "runs" / "smoke" / "timings.json").read_text())
    assert timings["notebooks"] == {"01_fail": {"seconds": None, "status": "failed", "parameters": {}}}  # it stopped
