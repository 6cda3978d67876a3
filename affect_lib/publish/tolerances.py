"""Tolerances measured, not chosen: the rule that ``make tolerances`` applies to
re-executed notebooks.

The file ``notebooks/tolerances.json``, which the tolerant comparison reads
(:mod:`affect_lib.publish.compare`), is written by ``make tolerances``
(``scripts/measure_tolerances.py``): it executes the notebooks again under other seeds
and other code paths, and :func:`measure` applies :data:`RULE` to each number's spread
over those runs (:func:`tolerance`, then :func:`pooled` across an output's numbers);
nobody edits a tolerance by hand. A cell is found by its notebook and the hash of its
source, so an edited cell has no entry until it is measured again
(``tests/publish/test_tolerances.py`` names such cells). :func:`measured_runs` shows the
book's readers the measured runs of glued numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from affect_lib.publish.compare import Tolerances
from affect_lib.publish.outputs import (
    cell_key,
    flatten,
    glue_names,
    number_shape,
    number_value,
)

__all__ = [
    "RULE",
    "tolerance",
    "pooled",
    "measure",
    "measured_runs",
]

RULE = (
    "tolerance = max(6 x sd, 2 x largest |run - stored|, one unit of the finest last "
    "printed digit) "
    "over the stored value and every run with the same text around the numbers, "
    "raised to the output's "
    "median relative tolerance times the value; 0 (exact) where no run differs"
)
SD_FACTOR, DEV_FACTOR = 6.0, 2.0


def _unit(token: str) -> float:
    """One unit of the last printed digit: ``0.973`` -> 0.001, ``600`` -> 1, ``1.5e-05``
    -> 1e-06."""
    mantissa, _, exponent = token.lower().lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def tolerance(stored: str, runs: Sequence[str]) -> float:
    """:data:`RULE` for one number: its stored text and its texts in the measured
    runs."""
    ref = number_value(stored)
    values = [number_value(t) for t in runs]
    finite = [v for v in values if math.isfinite(v)]
    if not math.isfinite(ref) or len(finite) < len(values):
        return 0.0 if all(t == stored for t in runs) else math.inf
    if all(v == ref for v in values):
        return 0.0
    everything = [ref, *values]
    mean = sum(everything) / len(everything)
    sd = math.sqrt(sum((v - mean) ** 2 for v in everything) / (len(everything) - 1))
    dev = max(abs(v - ref) for v in values)
    # the finest digit any run printed: a glued float prints 0.0 where another run
    # prints 0.0156
    unit = min(_unit(t) for t in (stored, *runs))
    return max(SD_FACTOR * sd, DEV_FACTOR * dev, unit)


def pooled(tols: Sequence[float], tokens: Sequence[str]) -> list[float]:
    """Each varying number's tolerance raised to the output's median relative tolerance
    times its value.

    A handful of runs can miss how far one number moves (a table's entry that happened
    to agree in every run), while the other numbers of the same table show the scale of
    the noise; numbers that no run changed stay exact."""
    values = [abs(number_value(t)) for t in tokens]
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


def measure(
    stored: Mapping[str, Sequence[Mapping[str, Any]]],
    runs: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    same_seed: Iterable[str],
) -> tuple[dict[str, Any], list[str]]:
    """Tolerances of one notebook's cells from its re-executions.

    ``stored``: ``{cell source: outputs}`` of the stored notebook; ``runs``: ``{run
    name: {cell source: outputs}}``; ``same_seed``: the runs with the stored notebook's
    parameters (other code paths only). A cell is listed when a same-seed run printed
    anything else. Returns ``({cell_key: entry}, warnings)``; a warning names a cell
    whose text (not only its numbers) changed in a same-seed run, which no tolerance can
    absorb.
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
            skel, toks = number_shape(text)
            seen: dict[str, list[str]] = {}
            for name, f in flat.items():
                other = f.get(label)
                if other is None:
                    continue
                s2, t2 = number_shape(other)
                if s2 == skel and len(t2) == len(toks):
                    seen[name] = t2
                elif name in same_seed:
                    warnings.append(
                        f"cell {first!r} output {label}: run {name!r} printed other "
                        f"text"
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
    """Three significant digits, rounded up (a tolerance is never made tighter by
    printing it)."""
    if x == 0 or not math.isfinite(x):
        return x
    scale = 10.0 ** (math.floor(math.log10(abs(x))) - 2)
    return float(f"{math.ceil(x / scale) * scale:.3g}")


def measured_runs(
    notebook: str, keys: Sequence[str], path: str | Path | None = None
) -> Any:
    """A table of glued numbers as stored and as each measured run printed them, with
    their tolerance.

    ``keys``: glue keys of ``notebook`` (e.g. ``"04_counterfactuals.ipynb"``). Rows: the
    keys; columns: ``stored``, one per run of ``make tolerances`` and ``tolerance``. A
    key without an entry (exact on every code path, or not measured yet) has only its
    row label.
    """
    import pandas as pd

    from affect_lib.paths import project_root

    tols = Tolerances.load(path or project_root() / "notebooks" / "tolerances.json")
    found = {key: item for (nb, key), item in tols.glued().items() if nb == notebook}
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
