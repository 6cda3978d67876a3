"""The exercise convention of the notebooks, parsed and checked; the basis of their
student copies.

The exercise convention (README "Exercises, student copies and workshops";
``book/workshop.md``, facilitator notes):

- an exercise is a MyST ``{exercise}`` directive with a ``:label:``
  (``ex-NN-short-name``) in a markdown cell;
- its solution is a *gated* block: ```` ```{solution-start} <label> ```` with ``:class:
  dropdown``, then the solution's code cells, each tagged ``solution`` (``# %%
  tags=["solution"]`` in the percent source), and any markdown, closed by ````
  ```{solution-end} ````. The book folds the block into a dropdown;
- solution cells must be cheap and deterministic (nbval checks their stored outputs),
  and no later cell may use a name that only a solution defines: the student copies run
  without them.

:func:`parse_notebook` reads a notebook's exercises and solutions and lays out its
student copy's cells (:mod:`affect_lib.publish.student` writes them);
:func:`check_exercises` reports convention breaks.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import nbformat

__all__ = [
    "StudentError",
    "Exercise",
    "Parsed",
    "parse_notebook",
    "check_exercises",
    "SOLUTION_TAG",
    "STUB",
    "OPEN",
]


SOLUTION_TAG = "solution"
STUB = '# TODO exercise "{title}": write your solution here\n'
OPEN = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|:{3,})\s*(?:\{(?P<name>[^}\s]+)\})?\s*(?P<arg>.*?)\s*$"
)


class StudentError(ValueError):
    """A notebook breaks the exercise convention; the message names the notebook, cell
    and label."""


@dataclass
class Exercise:
    label: str
    title: str
    number: int
    solution_cells: int = 0


@dataclass
class _Block:
    """One fenced block of a markdown cell: lines [start, end] (inclusive), directive
    name and argument."""

    start: int
    end: int
    name: str | None
    arg: str


@dataclass
class Parsed:
    """What :func:`parse_notebook` found: exercises, convention breaks, solution text
    and code, and the student copy's cells."""

    exercises: dict[str, Exercise] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # markdown lines inside solution blocks
    solution_text: list[str] = field(default_factory=list)
    # sources of solution code cells
    solution_code: list[str] = field(default_factory=list)
    # the student copy's cells
    cells: list[nbformat.NotebookNode] = field(default_factory=list)


def _blocks(lines: list[str]) -> list[_Block]:
    """Top-level fenced blocks (``` or :::), closed by a fence of the same character at
    least as long."""
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
    # no number: the book numbers exercises across all chapters, a notebook cannot know
    # its numbers
    head = (
        f"> **Exercise: {exercise.title}**"
        if exercise.title
        else f"> **Exercise ({exercise.label})**"
    )
    return [head, ">"] + [f"> {line}".rstrip() for line in body]


def parse_notebook(nb: nbformat.NotebookNode, name: str) -> Parsed:
    """Walk ``nb``'s cells once: collect exercises and solutions, note each convention
    break (``name`` labels them) and build the student copy's cells (solution code ->
    stubs)."""
    out = Parsed()
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
                    f"{where}: a '{SOLUTION_TAG}' cell outside any {{solution-start}} "
                    f"block "
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
                        f"{where}: {{solution-start}} {block.arg!r} names no exercise "
                        f"above it"
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
            f"{name}: the solution of {open_label} is never closed with "
            f"{{solution-end}}"
        )
    for ex in out.exercises.values():
        if not _has_solution(nb, ex.label):
            out.problems.append(
                f"{name}: exercise {ex.label} has no {{solution-start}} (or "
                f"{{solution}}) block"
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
    """The notebook's exercises (in order) and its breaks of the exercise convention
    (empty: fine)."""
    parsed = parse_notebook(nb, name)
    return list(parsed.exercises.values()), parsed.problems
