"""Student copies of the notebooks (``make student`` / ``affect-book student``): exercises in, solutions out.

The exercise convention (README "Exercises, student copies and workshops"; ``book/workshop.md``, facilitator notes):

- an exercise is a MyST ``{exercise}`` directive with a ``:label:`` (``ex-NN-short-name``) in a markdown cell;
- its solution is a *gated* block: ```` ```{solution-start} <label> ```` with ``:class: dropdown``, then the
  solution's code cells, each tagged ``solution`` (``# %% tags=["solution"]`` in the percent source),
  and any markdown, closed by ```` ```{solution-end} ````. The book folds the block into a dropdown;
- solution cells must be cheap and deterministic (nbval checks their stored outputs), and no later
  cell may use a name that only a solution defines: the student copies run without them.

:func:`make_student_copy` turns a stored notebook into its student copy: every ``solution`` code cell
becomes a ``# TODO`` stub without outputs, the markdown inside solution blocks disappears, exercise
directives become plain Markdown (Jupyter does not render MyST directives), and every other cell
keeps its stored outputs. :func:`check_exercises` reports convention breaks and :func:`find_leaks`
any solution line that survived; :func:`write_student_copies` runs all three for ``notebooks/NN_*.ipynb``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from affect_lib.paths import project_root

__all__ = [
    "StudentError",
    "Exercise",
    "check_exercises",
    "make_student_copy",
    "find_leaks",
    "write_student_copies",
    "SOLUTION_TAG",
    "STUB",
]

SOLUTION_TAG = "solution"
STUB = '# TODO exercise "{title}": write your solution here\n'
OPEN = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|:{3,})\s*(?:\{(?P<name>[^}\s]+)\})?\s*(?P<arg>.*?)\s*$"
)


class StudentError(ValueError):
    """A notebook breaks the exercise convention; the message names the notebook, cell and label."""


@dataclass
class Exercise:
    label: str
    title: str
    number: int
    solution_cells: int = 0


@dataclass
class _Block:
    """One fenced block of a markdown cell: lines [start, end] (inclusive), directive name and argument."""

    start: int
    end: int
    name: str | None
    arg: str


@dataclass
class _Parsed:
    exercises: dict[str, Exercise] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    solution_text: list[str] = field(
        default_factory=list
    )  # markdown lines inside solution blocks
    solution_code: list[str] = field(
        default_factory=list
    )  # sources of solution code cells
    cells: list[nbformat.NotebookNode] = field(
        default_factory=list
    )  # the student copy's cells


def _blocks(lines: list[str]) -> list[_Block]:
    """Top-level fenced blocks (``` or :::), closed by a fence of the same character at least as long."""
    blocks, i = [], 0
    while i < len(lines):
        match = OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        fence = match["fence"]
        end = next(
            (
                j
                for j in range(i + 1, len(lines))
                if set(lines[j].strip()) == {fence[0]}
                and len(lines[j].strip()) >= len(fence)
            ),
            len(lines) - 1,
        )
        blocks.append(_Block(i, end, match["name"], match["arg"]))
        i = end + 1
    return blocks


def _options_and_body(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split a directive's inner lines into ``:key: value`` options and its body."""
    options, k = {}, 0
    while k < len(lines) and re.match(r"^\s*:[\w-]+:", lines[k]):
        key, _, value = lines[k].strip()[1:].partition(":")
        options[key] = value.strip()
        k += 1
    return options, lines[k:]


def _exercise_markdown(exercise: Exercise, body: list[str]) -> list[str]:
    while body and not body[0].strip():
        body = body[1:]
    # no number: the book numbers exercises across all chapters, a notebook cannot know its numbers
    head = (
        f"> **Exercise: {exercise.title}**"
        if exercise.title
        else f"> **Exercise ({exercise.label})**"
    )
    return [head, ">"] + [f"> {line}".rstrip() for line in body]


def _parse(nb: nbformat.NotebookNode, name: str) -> _Parsed:
    out = _Parsed()
    open_label: str | None = None  # label of the solution block we are in
    for index, cell in enumerate(nb.cells):
        where = f"{name} cell {index}"
        if cell.cell_type == "code":
            tagged = SOLUTION_TAG in cell.metadata.get("tags", [])
            if open_label is not None and not tagged:
                out.problems.append(
                    f"{where}: code inside the solution of {open_label} is not tagged "
                    f"'{SOLUTION_TAG}' (it would stay in the student copy)"
                )
            if tagged and open_label is None:
                out.problems.append(
                    f"{where}: a '{SOLUTION_TAG}' cell outside any {{solution-start}} block "
                    "(the book would show it unfolded)"
                )
            if tagged or open_label is not None:
                out.solution_code.append(cell.source)
                ex = out.exercises.get(open_label or "")
                if ex:
                    ex.solution_cells += 1
                stub = nbformat.v4.new_code_cell(
                    STUB.format(title=(ex.title or ex.label) if ex else open_label)
                )
                stub["id"] = cell.get("id", stub["id"])
                out.cells.append(stub)
            else:
                out.cells.append(copy.deepcopy(cell))
            continue
        if cell.cell_type != "markdown":
            out.cells.append(copy.deepcopy(cell))
            continue
        lines = cell.source.split("\n")
        kept: list[str] = []
        cursor = 0
        for block in _blocks(lines):
            outside = lines[cursor : block.start]
            (out.solution_text.extend if open_label is not None else kept.extend)(
                outside
            )
            inner = lines[block.start + 1 : block.end]
            directive = block.name or ""
            if open_label is not None:
                if directive == "solution-end":
                    open_label = None
                else:
                    out.solution_text.extend(inner)
            elif directive == "solution-start":
                open_label = block.arg
                if block.arg not in out.exercises:
                    out.problems.append(
                        f"{where}: {{solution-start}} {block.arg!r} names no exercise above it"
                    )
            elif directive == "solution-end":
                out.problems.append(
                    f"{where}: {{solution-end}} without a {{solution-start}}"
                )
            elif directive == "solution":
                out.solution_text.extend(inner)  # an ungated solution: dropped whole
            elif directive in ("exercise", "exercise-start"):
                options, body = _options_and_body(inner)
                label = options.get("label")
                if not label:
                    out.problems.append(
                        f"{where}: {{{directive}}} {block.arg!r} has no :label:"
                    )
                    label = f"unlabelled-{index}"
                exercise = Exercise(label, block.arg, len(out.exercises) + 1)
                out.exercises[label] = exercise
                kept.extend(_exercise_markdown(exercise, body))
            elif directive == "exercise-end":
                pass
            else:
                kept.extend(lines[block.start : block.end + 1])
            cursor = block.end + 1
        (out.solution_text.extend if open_label is not None else kept.extend)(
            lines[cursor:]
        )
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
        if text:
            new = copy.deepcopy(cell)
            new.source = text
            out.cells.append(new)
    if open_label is not None:
        out.problems.append(
            f"{name}: the solution of {open_label} is never closed with {{solution-end}}"
        )
    for ex in out.exercises.values():
        if not _has_solution(nb, ex.label):
            out.problems.append(
                f"{name}: exercise {ex.label} has no {{solution-start}} (or {{solution}}) block"
            )
    return out


def _has_solution(nb: nbformat.NotebookNode, label: str) -> bool:
    pattern = re.compile(
        r"\{solution(?:-start)?\}\s*" + re.escape(label) + r"\s*$", re.M
    )
    return any(pattern.search(c.source) for c in nb.cells if c.cell_type == "markdown")


def check_exercises(
    nb: nbformat.NotebookNode, name: str = "notebook"
) -> tuple[list[Exercise], list[str]]:
    """The notebook's exercises (in order) and its breaks of the exercise convention (empty: fine)."""
    parsed = _parse(nb, name)
    return list(parsed.exercises.values()), parsed.problems


STUDENT_NOTE = (
    "\n\n> **Student copy** (written by `make student`): the solution of each exercise is replaced "
    "by a `# TODO` cell; write yours there. The full notebook is `notebooks/{name}` in the "
    "repository, and the book shows the solutions folded under each exercise."
)


def make_student_copy(
    nb: nbformat.NotebookNode, name: str = "notebook"
) -> nbformat.NotebookNode:
    """The student copy of ``nb`` (not modified); raises StudentError on a convention break."""
    parsed = _parse(nb, name)
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
    """Lines of solution code or solution prose of ``original`` that appear in ``student``.

    Lines that also occur outside the solutions of ``original`` (an import, ``plt.show()``) and short
    or comment-only lines are not counted.
    """
    parsed = _parse(original, "original")
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
    """Write the student copy of every ``notebooks/NN_*.ipynb`` (or those in ``only``) into ``out``
    (default ``_build/student``); raises StudentError on a convention break or a leaked solution line."""
    from affect_lib.publish.run import notebook_paths

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
