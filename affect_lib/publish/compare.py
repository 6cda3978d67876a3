"""Stored outputs compared within measured noise: nbval's comparison with the tolerance
file.

Training on a CPU is deterministic on one machine but not across processors: kernels
round differently, and a few epochs turn last-bit differences into other printed
numbers. So a cell's stored outputs are compared in one of two ways:

- **exact** (nbval's own comparison): every cell whose outputs did not change when the
  notebooks were re-executed with other CPU code paths. Data summaries, shapes,
  schedules and lexicon text are exact.
- **within tolerance**: a cell listed in ``notebooks/tolerances.json``
  (:class:`Tolerances`). Its text, numbers removed, must match exactly; each number must
  lie within its own tolerance of the stored one (:func:`snap`).

The root ``conftest.py`` installs :func:`nbval_compare` in place of nbval's comparison.
The file is measured by :mod:`affect_lib.publish.tolerances`; a cell is found by its
notebook and the hash of its source (:func:`affect_lib.publish.outputs.cell_key`), so an
edited cell is compared exactly until it is measured again.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from affect_lib.publish.outputs import (
    SKIPPED,
    cell_key,
    flatten,
    number_shape,
    number_value,
    output_text,
)

__all__ = ["snap", "Tolerances", "nbval_compare"]


def snap(stored: str, computed: str, tols: Sequence[float]) -> tuple[str, list[str]]:
    """The stored text when ``computed`` has the same text around its numbers (up to
    whitespace) and every number lies within its tolerance of the stored one; else
    ``computed`` and a line per number outside its tolerance (other text is left to
    nbval's exact comparison, which reports it)."""
    skel_s, tok_s = number_shape(stored)
    skel_c, tok_c = number_shape(computed)
    if skel_s != skel_c or len(tok_s) != len(tols):
        return computed, []
    problems = []
    for i, (s, c, tol) in enumerate(zip(tok_s, tok_c, tols, strict=True)):
        vs, vc = number_value(s), number_value(c)
        if s == c or (math.isnan(vs) and math.isnan(vc)):
            continue
        if not (
            math.isfinite(vs) and math.isfinite(vc) and abs(vc - vs) <= tol * (1 + 1e-9)
        ):
            problems.append(
                f"number {i + 1} ({_context(skel_s, i)}): stored {s}, computed {c}, "
                f"|difference| {abs(vc - vs):.3g} > tolerance {tol:.3g}"
            )
    return (computed, problems) if problems else (stored, [])


def _context(skeleton: str, i: int, width: int = 40) -> str:
    """A few characters of text before the i-th number, for error messages."""
    parts = re.split(r"(?<!\{)\{\}(?!\})", skeleton)
    before = re.sub(r"<[^>]*>|\s+", " ", parts[i]).strip()
    return ("..." + before[-width:]) if len(before) > width else before or "start"


class Tolerances:
    """``notebooks/tolerances.json``: per notebook, per cell (:func:`cell_key`), per
    output, one tolerance per number (0: exact)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self.cells: dict[str, dict[str, Any]] = dict(data.get("cells", {}))

    @classmethod
    def load(cls, path: str | Path) -> Tolerances:
        path = Path(path)
        if not path.is_file():
            return cls({"cells": {}})
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise ValueError(
                f"{path}: not JSON ({exc}); regenerate it with `make tolerances`"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
            raise ValueError(
                f"{path}: expected an object with 'cells'; regenerate it with `make "
                f"tolerances`"
            )
        return cls(data)

    def entry(
        self, notebook: str, source: str | Sequence[str]
    ) -> dict[str, Any] | None:
        return self.cells.get(notebook, {}).get(cell_key(source))

    def glued(self) -> dict[tuple[str, str], dict[str, Any]]:
        """``{(notebook file, glue key): its output's entry}`` for the glued numbers."""
        return {
            (notebook, item["glue"]): item
            for notebook, entries in self.cells.items()
            for entry in entries.values()
            for item in entry["outputs"].values()
            if item.get("glue")
        }

    def apply(
        self,
        notebook: str,
        source: str | Sequence[str],
        computed: list[Any],
        stored: list[Any],
    ) -> tuple[list[Any], list[str]]:
        """``computed`` outputs with in-tolerance numbers snapped to the stored text,
        and a line for each number outside its tolerance. Cells without an entry come
        back unchanged."""
        entry = self.entry(notebook, source)
        if entry is None:
            return computed, []
        ref = flatten(stored)
        tols = entry["outputs"]
        snapped = copy.deepcopy(computed)
        problems: list[str] = []
        counts: dict[str, int] = {}

        def fix(key: str, text: str) -> str:
            i = counts.get(key, 0)
            counts[key] = i + 1
            label = f"{key}#{i}"
            if label not in tols or label not in ref:
                return text
            new, bad = snap(ref[label], text, tols[label]["tol"])
            name = tols[label].get("glue")
            problems.extend(
                f"{label}{f' (glue {name})' if name else ''}: {b}" for b in bad
            )
            return new

        for out in snapped:
            if out.get("output_type") == "stream":
                out["text"] = fix(out["name"], output_text(out["text"]))
                continue
            for mime in list(out.get("data", {})):
                if mime not in SKIPPED:
                    out["data"][mime] = fix(mime, output_text(out["data"][mime]))
        return snapped, problems


def nbval_compare(
    exact: Callable[..., bool], tolerances: Tolerances
) -> Callable[..., bool]:
    """A replacement for nbval's ``IPyNbCell.compare_outputs``: the computed outputs of
    a listed cell are snapped to the stored numbers within tolerance, then ``exact``
    (nbval's own comparison) runs, and a failure names each number outside its
    tolerance."""

    def compare_outputs(
        cell: Any, test: list[Any], ref: list[Any], skip_compare: Any = None
    ) -> bool:
        test, problems = tolerances.apply(
            Path(cell.parent.path).name, cell.cell.source, test, ref
        )
        same = exact(cell, test, ref, skip_compare)
        if not same and problems:
            cell.comparison_traceback.append(
                "outside the measured tolerance (notebooks/tolerances.json):"
            )
            cell.comparison_traceback.extend(f"  {p}" for p in problems)
        return same

    return compare_outputs
