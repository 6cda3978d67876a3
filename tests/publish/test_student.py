"""Exercises and student copies: the convention holds, no solution leaks, the copies
still run."""

import json

import nbformat
import pytest

from affect_lib.publish.exercises import SOLUTION_TAG, StudentError, check_exercises
from affect_lib.publish.student import (
    find_leaks,
    make_student_copy,
    write_student_copies,
)
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MIN_EXERCISES = 2  # issue #8: at least two exercises per notebook


def _read(path):
    return nbformat.read(path, as_version=4)


def _md(source):
    return nbformat.v4.new_markdown_cell(source)


def _code(source, tags=(), outputs=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    cell.outputs = list(outputs)
    return cell


def _toy():
    """A notebook with one exercise, a solution of code + prose, and a cell after it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _md("# Toy"),
        _code(
            "x = 21",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="set\n")],
        ),
        _md(
            "## Exercises\n\n```{exercise} Double it\n:label: ex-00-double\n\nCompute "
            "`2 * x`.\n```\n\n"
            "```{solution-start} ex-00-double\n:class: dropdown\n```\n\nMultiply by "
            "two, the secret way:"
        ),
        _code(
            "answer_for_the_toy = 2 * x\nanswer_for_the_toy",
            tags=[SOLUTION_TAG],
            outputs=[
                nbformat.v4.new_output(
                    "execute_result", data={"text/plain": "42"}, execution_count=3
                )
            ],
        ),
        _md(
            "The hidden explanation sentence of the "
            "solution.\n\n```{solution-end}\n```\n\nText after the block."
        ),
        _code("print('done')"),
    ]
    return nb


def test_toy_student_copy_replaces_the_solution_by_a_stub():
    nb = _toy()
    student = make_student_copy(nb, "toy.ipynb")
    sources = [c.source for c in student.cells]
    assert not find_leaks(nb, student)
    text = "\n".join(sources)
    assert (
        "answer_for_the_toy" not in text
        and "secret way" not in text
        and "hidden explanation" not in text
    )
    assert "{exercise}" not in text and "{solution" not in text
    assert (
        "**Exercise: Double it**" in text
        and "Compute `2 * x`." in text
        and "Text after the block." in text
    )
    stub = next(
        c
        for c in student.cells
        if c.cell_type == "code" and c.source.startswith("# TODO")
    )
    assert (
        stub.outputs == []
        and stub.execution_count is None
        and SOLUTION_TAG not in stub.metadata.get("tags", [])
    )
    # other cells keep their stored outputs
    assert student.cells[1].outputs[0]["text"] == "set\n"
    # the original is untouched
    assert nb.cells[3].source.startswith("answer_for_the_toy")


def test_leak_check_catches_a_solution_line_left_behind():
    nb = _toy()
    student = make_student_copy(nb, "toy.ipynb")
    student.cells.append(_code("answer_for_the_toy = 2 * x"))
    assert "answer_for_the_toy = 2 * x" in find_leaks(nb, student)


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda nb: nb.cells[3].metadata.update(tags=[]), "is not tagged 'solution'"),
        (
            lambda nb: nb.cells.append(_code("y = 1", tags=[SOLUTION_TAG])),
            "outside any {solution-start} block",
        ),
        (lambda nb: setattr(nb.cells[4], "source", "no end here"), "never closed"),
        (
            lambda nb: setattr(
                nb.cells[2],
                "source",
                nb.cells[2].source.replace(":label: ex-00-double\n", ""),
            ),
            "has no :label:",
        ),
    ],
)
def test_convention_breaks_are_named(breakage, message):
    nb = _toy()
    breakage(nb)
    _, problems = check_exercises(nb, "toy.ipynb")
    assert any(message in p for p in problems), problems
    with pytest.raises(StudentError, match="toy.ipynb"):
        make_student_copy(nb, "toy.ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_exercises_with_folded_solutions(path):
    nb = _read(path)
    exercises, problems = check_exercises(nb, path.name)
    assert not problems
    assert len(exercises) >= MIN_EXERCISES, (
        f"{path.name}: {len(exercises)} exercise(s), issue #8 asks for two"
    )
    for ex in exercises:
        assert ex.label.startswith(f"ex-{path.name[:2]}-"), (
            f"{path.name}: label {ex.label} should be ex-{path.name[:2]}-..."
        )
        assert ex.solution_cells >= 1, (
            f"{path.name}: {ex.label} has no solution code cell"
        )
    starts = [
        c.source
        for c in nb.cells
        if c.cell_type == "markdown" and "{solution-start}" in c.source
    ]
    assert all(":class: dropdown" in s for s in starts), (
        f"{path.name}: solutions must be dropdowns"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_copy_has_no_solution_and_valid_stubs(path):
    nb = _read(path)
    student = make_student_copy(nb, path.name)
    assert find_leaks(nb, student) == []
    nbformat.validate(student)
    stubs = [
        c
        for c in student.cells
        if c.cell_type == "code" and c.source.startswith("# TODO")
    ]
    solutions = [
        c
        for c in nb.cells
        if c.cell_type == "code" and SOLUTION_TAG in c.metadata.get("tags", [])
    ]
    assert len(stubs) == len(solutions)
    for cell in stubs:
        assert cell.outputs == [] and cell.execution_count is None
        compile(cell.source, "stub", "exec")
    text = "\n".join(c.source for c in student.cells)
    assert "{solution" not in text and "{exercise}" not in text


def test_write_student_copies_writes_every_notebook(tmp_path):
    written = write_student_copies(ROOT, tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for p in written:
        assert json.loads(p.read_text())["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_student_copies_run_up_to_their_first_exercise(tmp_path, monkeypatch):
    """Each copy, cut before its first exercise, runs in the smoke profile (in order: a
    notebook may read what an earlier one wrote to the run folder)."""
    import papermill

    from affect_lib.publish.kernel import kernel_env

    for key, value in kernel_env(ROOT).items():
        monkeypatch.setenv(key, value)
    student_dir = tmp_path / "student"
    for path in write_student_copies(ROOT, student_dir):
        nb = _read(path)
        first = next(
            (
                i
                for i, c in enumerate(nb.cells)
                if c.cell_type == "markdown" and "**Exercise:" in c.source
            ),
            len(nb.cells),
        )
        nb.cells = nb.cells[:first]
        nbformat.write(nb, path)
        papermill.execute_notebook(
            str(path),
            str(tmp_path / f"out_{path.name}"),
            parameters={"profile": "smoke", "run_dir": str(tmp_path / "run")},
            kernel_name="python3",
            cwd=str(student_dir),
            progress_bar=False,
        )


def test_workshop_guide_clones_the_canonical_repository():
    """The repository URL is defined once, in _config.yml; the guide's Colab cell must
    use the same."""
    import re

    import yaml

    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    guide = (ROOT / "book" / "workshop.md").read_text()
    assert re.findall(r'REPO = "([^"]+)"', guide) == [url]
    assert "{{ repo_url }}" in guide


def test_workshop_colab_cell_installs_what_the_notebooks_need(tmp_path, monkeypatch):
    """The guide's Colab cell, run with git and pip recorded instead of run: it clones
    the repository and installs the library, myst-nb (glue) and every MPNet part of
    `make setup` (without their pinned dependencies), then works from the notebooks
    folder with the clone on sys.path."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    guide = (ROOT / "book" / "workshop.md").read_text()
    (cell,) = re.findall(r"### On Google Colab.*?```python\n(.*?)```", guide, re.S)
    clone = tmp_path / "affect-book"
    calls = []

    def fake_run(cmd, check):
        calls.append([str(c) for c in cmd])
        if cmd[:2] == ["git", "clone"]:
            (Path(cmd[-1]) / "notebooks").mkdir(parents=True)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    exec(cell.replace("/content", str(tmp_path)), {})
    assert calls[0][:4] == ["git", "clone", "--depth", "1"] and calls[0][-1] == str(
        clone
    )
    pip = [c for c in calls[1:] if c[:4] == [sys.executable, "-m", "pip", "install"]]
    assert len(pip) == len(calls) - 1
    with_deps = {
        a for c in pip if "--no-deps" not in c for a in c[4:] if not a.startswith("-")
    }
    no_deps = {
        a for c in pip if "--no-deps" in c for a in c[4:] if not a.startswith("-")
    }
    (parts,) = re.findall(
        r"^MPNET_PARTS := \$\(foreach i,([\d ]+),(\S+)\$\(i\)(\S+)\)$",
        (ROOT / "Makefile").read_text(),
        re.M,
    )
    assert with_deps == {str(clone), "myst-nb"}
    assert (
        no_deps == {f"{parts[1]}{i}{parts[2]}" for i in parts[0].split()}
        and len(no_deps) == 5
    )
    assert Path.cwd() == clone / "notebooks" and sys.path[0] == str(clone)


def test_cli_writes_student_copies(tmp_path):
    from affect_lib.publish.cli import main

    assert main(["student", "--only", "01", "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["01_data_prep.ipynb"]
