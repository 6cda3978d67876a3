"""The papermill runner: a real smoke run, failure reporting, an edited .py run in place
of its pair."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from affect_lib.publish.notebooks import BookError
from affect_lib.publish.run import run
from tests.publish.notebook_files import paired_notebook


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.glob("*")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_smoke_run_writes_executed_copy_and_timings(root):
    before = _digest(root / "notebooks")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "affect_lib.publish.cli",
            "run",
            "--profile",
            "smoke",
            "--only",
            "01",
            "-p",
            "seed",
            "3",
            "-p",
            "n_train",
            "300",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _digest(root / "notebooks") == before  # sources untouched
    # a run with parameters has a folder of its own, named after them
    run_dir = root / "_build" / "runs" / "smoke-n_train_300-seed_3"
    record = json.loads((run_dir / "run.json").read_text())
    assert record["profile"] == "smoke"
    assert record["chapters"]["01_data_prep"]["parameters"] == {
        "seed": 3,
        "n_train": 300,
    }
    timings = json.loads((run_dir / "timings.json").read_text())
    assert (
        timings["profile"] == "smoke"
        and timings["notebooks"]["01_data_prep"]["status"] == "ok"
    )
    assert timings["notebooks"]["01_data_prep"]["seconds"] > 0
    nb = nbformat.read(run_dir / "notebooks" / "01_data_prep.ipynb", as_version=4)
    injected = next(
        c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert "seed = 3" in injected.source and '"n_train": 300' in injected.source
    summary = json.loads((run_dir / "data" / "synth_mosei_summary.json").read_text())
    assert summary["seed"] == 3 and summary["sizes"]["train"] == 300


@pytest.mark.slow
def test_failing_cell_names_notebook_cell_and_error(tmp_path):
    (tmp_path / "_toc.yml").write_text("root: x\n")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
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
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise KeyError('boom')"),
    ]
    nbformat.write(nb, tmp_path / "notebooks" / "01_fail.ipynb")
    nbformat.write(nb, tmp_path / "notebooks" / "02_never.ipynb")
    with pytest.raises(BookError) as exc:
        run("smoke", {}, root=tmp_path)
    msg = str(exc.value)
    assert (
        "01_fail.ipynb" in msg and "KeyError" in msg and "boom" in msg and "cell" in msg
    )
    timings = json.loads(
        (tmp_path / "_build" / "runs" / "smoke" / "timings.json").read_text()
    )
    # it stopped
    assert timings["notebooks"] == {
        "01_fail": {"seconds": None, "status": "failed", "parameters": {}}
    }


@pytest.mark.slow
def test_run_executes_an_edited_py_and_records_it(tmp_path, capsys):
    import os

    _, ipynb = paired_notebook(tmp_path, "stored", "edited")
    os.utime(ipynb, (1_000_000, 1_000_000))
    run("smoke", {}, root=tmp_path)
    assert (
        "01_pair.py has other cells than 01_pair.ipynb: running the .py"
        in capsys.readouterr().out
    )
    run_dir = tmp_path / "_build" / "runs" / "smoke"
    executed = nbformat.read(run_dir / "notebooks" / "01_pair.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "edited\n"
    assert (
        json.loads((run_dir / "timings.json").read_text())["notebooks"]["01_pair"][
            "source"
        ]
        == "01_pair.py"
    )
    # the stored pair untouched
    assert nbformat.read(ipynb, as_version=4).cells[-1].source == "print('stored')"


@pytest.mark.slow
def test_a_run_with_parameters_leaves_the_default_run_alone(tmp_path):
    paired_notebook(tmp_path, "stored", "stored")
    default = run("smoke", {}, root=tmp_path)
    assert default.folder == tmp_path / "_build" / "runs" / "smoke"
    before = _digest(default.out_dir)
    other = run("smoke", {"seed": 3}, root=tmp_path)
    assert other.folder == tmp_path / "_build" / "runs" / "smoke-seed_3"
    assert (other.out_dir / "01_pair.ipynb").is_file()
    assert _digest(default.out_dir) == before
    named = run("smoke", {"seed": 3}, root=tmp_path, name="mine")
    assert named.folder.name == "mine"
    # a folder keeps the parameters it was made with
    with pytest.raises(BookError, match="holds 01_pair run with parameters"):
        run("smoke", {"seed": 4}, root=tmp_path, name="mine")


def test_a_relative_data_dir_is_read_from_where_it_was_typed(tmp_path):
    (tmp_path / "mosei").mkdir()
    with pytest.raises(BookError) as exc:
        run(
            "smoke",
            {"data_source": "cmu_mosei", "data_dir": "no_such_folder"},
            cwd=tmp_path,
        )
    assert str(tmp_path / "no_such_folder") in str(exc.value)
