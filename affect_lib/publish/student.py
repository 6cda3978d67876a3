"""Student copies of the notebooks (``make student`` / ``affect-book student``):
exercises in, solutions out.

:func:`make_student_copy` turns a stored notebook into its student copy: every
``solution`` code cell becomes a ``# TODO`` stub without outputs, the markdown inside
solution blocks disappears, exercise directives become plain Markdown (Jupyter does not
render MyST directives), and every other cell keeps its stored outputs. The exercise
convention and its check (:func:`check_exercises`) are in
:mod:`affect_lib.publish.exercises`; :func:`find_leaks` reports any solution line that
survived; :func:`write_student_copies` runs all three for ``notebooks/NN_*.ipynb``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from affect_lib.paths import project_root
from affect_lib.publish.exercises import OPEN, StudentError, parse_notebook

__all__ = ["make_student_copy", "find_leaks", "write_student_copies"]


STUDENT_NOTE = (
    "\n\n> **Student copy** (written by `make student`): the solution of each "
    "exercise is replaced "
    "by a `# TODO` cell; write yours there. The full notebook is `notebooks/{name}` "
    "in the "
    "repository, and the book shows the solutions folded under each exercise."
)


def make_student_copy(
    nb: nbformat.NotebookNode, name: str = "notebook"
) -> nbformat.NotebookNode:
    """The student copy of ``nb`` (not modified); raises StudentError on a convention
    break."""
    parsed = parse_notebook(nb, name)
    if parsed.problems:
        raise StudentError(
            "exercise convention broken:\n  " + "\n  ".join(parsed.problems)
        )
    student = copy.deepcopy(nb)
    student.cells = parsed.cells
    if student.cells and student.cells[0].cell_type == "markdown":
        student.cells[0].source += STUDENT_NOTE.format(name=name)
    student.metadata.pop("papermill", None)
    return student


def _significant(line: str) -> bool:
    text = line.strip()
    return (
        len(text) >= 12
        and not text.startswith("#")
        and not set(text) <= set("`:(){}[]=-_ ")
    )


def find_leaks(
    original: nbformat.NotebookNode, student: nbformat.NotebookNode
) -> list[str]:
    """Lines of solution code or solution prose of ``original`` that appear in
    ``student``.

    Lines that also occur outside the solutions of ``original`` (an import,
    ``plt.show()``) and short or comment-only lines are not counted.
    """
    parsed = parse_notebook(original, "original")
    outside = {
        line.strip() for cell in parsed.cells for line in cell.source.split("\n")
    }
    secret_code = {
        line.strip()
        for src in parsed.solution_code
        for line in src.split("\n")
        if _significant(line)
    } - outside
    secret_text = {
        line.strip()
        for line in parsed.solution_text
        if len(line.strip()) >= 24 and not OPEN.match(line)
    } - outside
    shown = "\n".join(cell.source for cell in student.cells)
    shown += "\n".join(
        str(o)
        for cell in student.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )
    return sorted(s for s in secret_code | secret_text if s in shown)


def write_student_copies(
    root: Path | None = None, out: Path | None = None, only: list[str] | None = None
) -> list[Path]:
    """Write the student copy of every ``notebooks/NN_*.ipynb`` (or those in ``only``)
    into ``out`` (default ``_build/student``); raises StudentError on a convention break
    or a leaked solution line."""
    from affect_lib.publish.notebooks import notebook_paths

    root = root or project_root()
    out = out or root / "_build" / "student"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebook_paths(root, only):
        nb = nbformat.read(path, as_version=4)
        student = make_student_copy(nb, path.name)
        leaks = find_leaks(nb, student)
        if leaks:
            raise StudentError(
                f"{path.name}: solution lines left in the student copy: {leaks[:5]}"
            )
        target = out / path.name
        tmp = target.with_suffix(".ipynb.tmp")
        nbformat.write(student, tmp)
        tmp.replace(target)
        written.append(target)
    return written
