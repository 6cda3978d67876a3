"""Stored outputs compared within measured noise: the tolerance file that nbval's comparison reads.

Training on a CPU is deterministic on one machine but not across processors: kernels round
differently, and a few epochs turn last-bit differences into other printed numbers. So a cell's
stored outputs are compared in one of two ways:

- **exact** (nbval's own comparison): every cell whose outputs did not change when the notebooks were
  re-executed with other CPU code paths. Data summaries, shapes, schedules and lexicon text are exact.
- **within tolerance**: a cell listed in ``notebooks/tolerances.json``. Its text, numbers removed, must
  match exactly; each number must lie within its own tolerance of the stored one.

The file is written by ``make tolerances`` (``scripts/measure_tolerances.py``), which executes the
notebooks again under other seeds and other code paths and applies :data:`RULE` to each number's
spread over those runs; nobody edits a tolerance by hand. A cell is found by its notebook and the
hash of its source, so an edited cell has no entry until it is measured again
(``tests/publish/test_tolerances.py`` names such cells).

Outputs are flattened as nbval flattens them (:func:`flatten`): one list of strings per MIME type or
stream name, in output order, so ``text/html#1`` is the cell's second HTML output.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "RULE",
    "SKIPPED",
    "numbers",
    "cell_key",
    "flatten",
    "glue_names",
    "tolerance",
    "pooled",
    "snap",
    "Tolerances",
    "nbval_compare",
    "measure",
    "measured_runs",
]

RULE = (
    "tolerance = max(6 x sd, 2 x largest |run - stored|, one unit of the finest last printed digit) "
    "over the stored value and every run with the same text around the numbers, raised to the output's "
    "median relative tolerance times the value; 0 (exact) where no run differs"
)
SD_FACTOR, DEV_FACTOR = 6.0, 2.0

# nbval's own skip list (nbval.plugin.IPyNbFile.skip_compare) plus the images it ignores by default.
SKIPPED = frozenset(
    {
        "metadata",
        "traceback",
        "prompt_number",
        "output_type",
        "name",
        "execution_count",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
    }
)

# A number not glued to a word: "AU12", "mfcc_3", "cell-011" and "x86_64" stay text.
_NUMBER = re.compile(
    r"(?<![\w.+-])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w|\.\d)|(?<!\w)(?:nan|inf)(?!\w)"
)


def numbers(text: str) -> tuple[str, list[str]]:
    """``(skeleton, tokens)``: the text with each number replaced by ``{}`` and the numbers' texts.

    >>> numbers("acc 0.973, n=600")
    ('acc {}, n={}', ['0.973', '600'])
    """
    tokens = _NUMBER.findall(text)
    return _NUMBER.sub("{}", text.replace("{", "{{").replace("}", "}}")), tokens


def _value(token: str) -> float:
    return float(token)


def _unit(token: str) -> float:
    """One unit of the last printed digit: ``0.973`` -> 0.001, ``600`` -> 1, ``1.5e-05`` -> 1e-06."""
    mantissa, _, exponent = token.lower().lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def cell_key(source: str | Sequence[str]) -> str:
    """The first 16 hex digits of the SHA-256 of a cell's source (whitespace at the ends stripped)."""
    text = "".join(source) if not isinstance(source, str) else source
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _coalesced(outputs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Streams of the same name merged into the first one, as nbval does before comparing."""
    merged: list[dict[str, Any]] = []
    streams: dict[str, dict[str, Any]] = {}
    for out in outputs:
        if out.get("output_type") == "stream":
            name = out["name"]
            if name in streams:
                streams[name]["text"] += _text(out["text"])
                continue
            streams[name] = {
                "output_type": "stream",
                "name": name,
                "text": _text(out["text"]),
            }
            merged.append(streams[name])
        else:
            merged.append(dict(out))
    return merged


def flatten(outputs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{"<mime or stream>#<i>": text}`` of a cell's outputs, with the labels nbval compares."""
    flat: dict[str, str] = {}
    counts: dict[str, int] = {}

    def add(key: str, text: str) -> None:
        i = counts.get(key, 0)
        counts[key] = i + 1
        flat[f"{key}#{i}"] = text

    for out in _coalesced(outputs):
        if out.get("output_type") == "stream":
            add(out["name"], out["text"])
            continue
        for key, value in out.items():
            if key == "data":
                for mime, payload in value.items():
                    if mime not in SKIPPED:
                        add(mime, _text(payload))
            elif key not in SKIPPED:
                add(key, _text(value))
    return flat


def glue_names(outputs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{"<mime>#<i>": glue key}`` for the glued outputs among ``outputs`` (readable labels)."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for out in _coalesced(outputs):
        if out.get("output_type") == "stream":
            counts[out["name"]] = counts.get(out["name"], 0) + 1
            continue
        glued = ((out.get("metadata") or {}).get("scrapbook") or {}).get("name")
        for mime in out.get("data", {}):
            if mime in SKIPPED:
                continue
            i = counts.get(mime, 0)
            counts[mime] = i + 1
            if glued:
                names[f"{mime}#{i}"] = glued
    return names


def tolerance(stored: str, runs: Sequence[str]) -> float:
    """:data:`RULE` for one number: its stored text and its texts in the measured runs."""
    ref = _value(stored)
    values = [_value(t) for t in runs]
    finite = [v for v in values if math.isfinite(v)]
    if not math.isfinite(ref) or len(finite) < len(values):
        return 0.0 if all(t == stored for t in runs) else math.inf
    if all(v == ref for v in values):
        return 0.0
    everything = [ref, *values]
    mean = sum(everything) / len(everything)
    sd = math.sqrt(sum((v - mean) ** 2 for v in everything) / (len(everything) - 1))
    dev = max(abs(v - ref) for v in values)
    # the finest digit any run printed: a glued float prints 0.0 where another run prints 0.0156
    unit = min(_unit(t) for t in (stored, *runs))
    return max(SD_FACTOR * sd, DEV_FACTOR * dev, unit)


def _shape(text: str) -> tuple[str, list[str]]:
    """:func:`numbers` with runs of whitespace squashed: a table's padding follows its numbers' widths."""
    skeleton, tokens = numbers(text)
    return re.sub(r"\s+", " ", skeleton), tokens


def pooled(tols: Sequence[float], tokens: Sequence[str]) -> list[float]:
    """Each varying number's tolerance raised to the output's median relative tolerance times its value.

    A handful of runs can miss how far one number moves (a table's entry that happened to agree in
    every run), while the other numbers of the same table show the scale of the noise; numbers that
    no run changed stay exact."""
    values = [abs(_value(t)) for t in tokens]
    rel = sorted(
        tol / v
        for tol, v in zip(tols, values, strict=True)
        if 0 < tol < math.inf and v > 0
    )
    if not rel:
        return list(tols)
    median = (
        rel[len(rel) // 2]
        if len(rel) % 2
        else (rel[len(rel) // 2 - 1] + rel[len(rel) // 2]) / 2
    )
    return [
        max(tol, median * v) if tol > 0 else tol
        for tol, v in zip(tols, values, strict=True)
    ]


def snap(stored: str, computed: str, tols: Sequence[float]) -> tuple[str, list[str]]:
    """The stored text when ``computed`` has the same text around its numbers (up to whitespace) and
    every number lies within its tolerance of the stored one; else ``computed`` and a line per number
    outside its tolerance (other text is left to nbval's exact comparison, which reports it)."""
    skel_s, tok_s = _shape(stored)
    skel_c, tok_c = _shape(computed)
    if skel_s != skel_c or len(tok_s) != len(tols):
        return computed, []
    problems = []
    for i, (s, c, tol) in enumerate(zip(tok_s, tok_c, tols, strict=True)):
        vs, vc = _value(s), _value(c)
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
    """``notebooks/tolerances.json``: per notebook, per cell (:func:`cell_key`), per output, one tolerance
    per number (0: exact)."""

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
                f"{path}: expected an object with 'cells'; regenerate it with `make tolerances`"
            )
        return cls(data)

    def entry(
        self, notebook: str, source: str | Sequence[str]
    ) -> dict[str, Any] | None:
        return self.cells.get(notebook, {}).get(cell_key(source))

    def apply(
        self,
        notebook: str,
        source: str | Sequence[str],
        computed: list[Any],
        stored: list[Any],
    ) -> tuple[list[Any], list[str]]:
        """``computed`` outputs with in-tolerance numbers snapped to the stored text, and a line for
        each number outside its tolerance. Cells without an entry come back unchanged."""
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
                out["text"] = fix(out["name"], _text(out["text"]))
                continue
            for mime in list(out.get("data", {})):
                if mime not in SKIPPED:
                    out["data"][mime] = fix(mime, _text(out["data"][mime]))
        return snapped, problems


def nbval_compare(
    exact: Callable[..., bool], tolerances: Tolerances
) -> Callable[..., bool]:
    """A replacement for nbval's ``IPyNbCell.compare_outputs``: the computed outputs of a listed cell
    are snapped to the stored numbers within tolerance, then ``exact`` (nbval's own comparison) runs,
    and a failure names each number outside its tolerance."""

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


def measure(
    stored: Mapping[str, Sequence[Mapping[str, Any]]],
    runs: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    same_seed: Iterable[str],
) -> tuple[dict[str, Any], list[str]]:
    """Tolerances of one notebook's cells from its re-executions.

    ``stored``: ``{cell source: outputs}`` of the stored notebook; ``runs``: ``{run name: {cell
    source: outputs}}``; ``same_seed``: the runs with the stored notebook's parameters (other code
    paths only). A cell is listed when a same-seed run printed anything else. Returns ``({cell_key:
    entry}, warnings)``; a warning names a cell whose text (not only its numbers) changed in a
    same-seed run, which no tolerance can absorb.
    """
    same_seed = set(same_seed)
    cells: dict[str, Any] = {}
    warnings: list[str] = []
    for source, outputs in stored.items():
        ref = flatten(outputs)
        if not ref:
            continue
        flat = {name: flatten(r[source]) for name, r in runs.items() if source in r}
        if all(flat[n] == ref for n in flat if n in same_seed):
            continue  # exact on every code path
        first = source.strip().splitlines()[0][:80] if source.strip() else ""
        entry: dict[str, Any] = {"first_line": first, "outputs": {}}
        glued = glue_names(outputs)
        for label, text in ref.items():
            skel, toks = _shape(text)
            seen: dict[str, list[str]] = {}
            for name, f in flat.items():
                other = f.get(label)
                if other is None:
                    continue
                s2, t2 = _shape(other)
                if s2 == skel and len(t2) == len(toks):
                    seen[name] = t2
                elif name in same_seed:
                    warnings.append(
                        f"cell {first!r} output {label}: run {name!r} printed other text"
                    )
            tols = pooled(
                [
                    tolerance(tok, [t[i] for t in seen.values()])
                    for i, tok in enumerate(toks)
                ],
                toks,
            )
            if not any(tols):
                continue
            item: dict[str, Any] = {
                "tol": [_round(t) for t in tols],
                "runs": sorted(seen),
            }
            if label in glued:
                item["glue"] = glued[label]
                item["values"] = {
                    "stored": toks[0] if toks else None,
                    **{n: t[0] for n, t in seen.items() if t},
                }
            entry["outputs"][label] = item
        if entry["outputs"]:
            cells[cell_key(source)] = entry
    return cells, warnings


def _round(x: float) -> float:
    """Three significant digits, rounded up (a tolerance is never made tighter by printing it)."""
    if x == 0 or not math.isfinite(x):
        return x
    scale = 10.0 ** (math.floor(math.log10(abs(x))) - 2)
    return float(f"{math.ceil(x / scale) * scale:.3g}")


def measured_runs(
    notebook: str, keys: Sequence[str], path: str | Path | None = None
) -> Any:
    """A table of glued numbers as stored and as each measured run printed them, with their tolerance.

    ``keys``: glue keys of ``notebook`` (e.g. ``"04_counterfactuals.ipynb"``). Rows: the keys; columns:
    ``stored``, one per run of ``make tolerances`` and ``tolerance``. A key without an entry (exact on
    every code path, or not measured yet) has only its row label.
    """
    import pandas as pd

    from affect_lib.paths import project_root

    tols = Tolerances.load(path or project_root() / "notebooks" / "tolerances.json")
    found: dict[str, dict[str, Any]] = {}
    for entry in tols.cells.get(notebook, {}).values():
        for item in entry["outputs"].values():
            if item.get("glue") in keys:
                found[item["glue"]] = item
    rows = {}
    for key in keys:
        item = found.get(key)
        values = {
            k: float(v)
            for k, v in (item or {}).get("values", {}).items()
            if v is not None
        }
        rows[key] = {**values, "tolerance": item["tol"][0]} if item else {}
    return pd.DataFrame.from_dict(rows, orient="index").reindex(list(keys))
