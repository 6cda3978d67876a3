"""``affect-book compare RUN_A RUN_B``: every glued value of two runs, side by side.

A run is given by name (``_build/runs/<name>``), by folder, or as ``stored`` (the
committed notebooks, the ``book`` profile's stored outputs). Each row is one glue key of
one chapter: both values, their difference where both are numbers, and, where both runs
are ``book``-profile runs on SynthMOSEI/SynthAffWild, whether the difference lies within
the number's measured tolerance (``notebooks/tolerances.json``: other seeds and CPU code
paths; "within noise") or not. Keys with no tolerance entry were exact on every measured
run, so any difference there is a change; keys glued in cells that nbval ignores (wall
times) get no verdict.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat

from affect_lib.publish.compare import Tolerances
from affect_lib.publish.notebooks import BookError
from affect_lib.publish.outputs import nbval_ignores
from affect_lib.publish.runs import find_run

__all__ = ["Row", "compare_runs", "format_rows", "glued_values", "main"]

RECORD = "application/papermill.record/text/plain"
STORED = "stored"


@dataclass(frozen=True)
class Row:
    notebook: str
    key: str
    a: str | None
    b: str | None
    difference: float | None
    noise: str  # "within noise", "beyond noise", "exact differs", "" (not comparable)


def glued_values(folder: Path) -> dict[tuple[str, str], str]:
    """``{(notebook, glue key): value as printed}`` of the executed notebooks in
    ``folder`` (the last value where a key is glued twice)."""
    values: dict[tuple[str, str], str] = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                name = ((out.get("metadata") or {}).get("scrapbook") or {}).get("name")
                data = out.get("data") or {}
                text = data.get(RECORD, data.get("text/plain"))
                if name and text is not None:
                    text = "".join(text) if isinstance(text, list) else text
                    values[(path.stem, name)] = text.strip().strip("'\"")
    return values


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _tolerances(tolerances: Tolerances) -> dict[tuple[str, str], float]:
    return {
        (Path(notebook).stem, key): item["tol"][0]
        for (notebook, key), item in tolerances.glued().items()
    }


def _ignored_keys(root: Path) -> set[tuple[str, str]]:
    """Glue keys of stored cells whose outputs nbval does not compare (wall times)."""
    keys = set()
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if nbval_ignores(cell):
                for out in cell.get("outputs", []):
                    meta = (out.get("metadata") or {}).get("scrapbook") or {}
                    if meta.get("name"):
                        keys.add((path.stem, meta["name"]))
    return keys


def _resolve(root: Path, run: str) -> tuple[Path, dict[str, Any]]:
    if run == STORED:
        return root / "notebooks", {"name": STORED, "profile": "book", "chapters": {}}
    folder, record = find_run(root, run)
    return folder / "notebooks", record


def _book_like(record: dict[str, Any]) -> bool:
    """A ``book``-profile run on the synthetic data in every chapter."""
    sources = {
        chapter.get("parameters", {}).get("data_source", "synthetic")
        for chapter in record.get("chapters", {}).values()
    }
    return record.get("profile") == "book" and sources <= {"synthetic"}


def compare_runs(root: Path, run_a: str, run_b: str) -> list[Row]:
    """One :class:`Row` per glue key found in either run, in chapter order."""
    (fa, ra), (fb, rb) = _resolve(root, run_a), _resolve(root, run_b)
    va, vb = glued_values(fa), glued_values(fb)
    if not va and not vb:
        raise BookError(f"no glued values in {fa} or {fb}")
    noise = {}
    tol_file = root / "notebooks" / "tolerances.json"
    if _book_like(ra) and _book_like(rb) and tol_file.is_file():
        noise = _tolerances(Tolerances.load(tol_file))
    ignored = _ignored_keys(root)
    rows = []
    for nb, key in sorted(set(va) | set(vb)):
        a, b = va.get((nb, key)), vb.get((nb, key))
        xa, xb = _number(a), _number(b)
        diff = xb - xa if xa is not None and xb is not None else None
        verdict = ""
        if diff is not None and noise and (nb, key) not in ignored:
            tol = noise.get((nb, key))
            if tol is None:
                verdict = "exact differs" if diff else ""
            else:
                verdict = "within noise" if abs(diff) <= tol else "beyond noise"
        rows.append(Row(nb, key, a, b, diff, verdict))
    return rows


def format_rows(rows: list[Row], names: tuple[str, str]) -> str:
    """A plain-text table: chapter, key, both values, difference, noise verdict."""
    header = ("chapter", "key", names[0], names[1], "B - A", "")
    body = [
        (
            r.notebook[:2],
            r.key,
            r.a if r.a is not None else "-",
            r.b if r.b is not None else "-",
            f"{r.difference:+.4g}"
            if r.difference
            else ("0" if r.difference == 0 else ""),
            r.noise,
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *body)
    ]
    changed = sum(1 for r in rows if r.a != r.b)
    beyond = sum(1 for r in rows if r.noise in ("beyond noise", "exact differs"))
    summary = f"{len(rows)} glued values, {changed} differ"
    if any(r.noise for r in rows):
        summary += f", {beyond} beyond their measured noise"
    return "\n".join([*lines, "", summary])


def main(root: Path, run_a: str, run_b: str, as_json: bool = False) -> str:
    rows = compare_runs(root, run_a, run_b)
    if as_json:
        return json.dumps([asdict(r) for r in rows], indent=1)
    return format_rows(rows, (run_a, run_b))
