"""The performance page: benchmark claims against their budgets, generated at build
time.

``affect-book build`` writes it (``book/performance.md``) into the staged book from the
results present in ``_build/bench/*.json`` (``make bench``): one table of every claim
with its measured value, budget and OK/MISS, a bar chart of each claim's share of its
budget, then each benchmark's settings and measurements.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from affect_lib.publish.report import markdown_table

__all__ = ["performance_page", "PERFORMANCE_FIGURE"]


PERFORMANCE_FIGURE = "performance_budgets.png"
# the column naming a benchmark row
_ROW_NAMES = (
    "notebook",
    "contender",
    "sampler",
    "encoder",
    "name",
)


def _fmt(value: Any) -> str:
    """A table cell: floats to 4 significant digits, "-" when not measured (null/NaN),
    "|" escaped."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return (
        f"{value:.4g}" if isinstance(value, float) else str(value).replace("|", "\\|")
    )


def _budget_share(check: dict[str, Any]) -> float | None:
    """How much of its budget a claim uses: value/budget for ``<=``, budget/value for
    ``>=`` (<= 1 is met)."""
    value, budget = check.get("value"), check["budget"]
    if value is None or value != value or budget <= 0:
        return None
    if check["op"] == "<=":
        return value / budget
    return budget / value if value > 0 else float("inf")


def _load_benchmarks(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(name, JSON) of every ``_build/bench/*.json``, then of every committed
    measurement in ``benchmarks/results/`` that this machine has not measured (its
    ``source`` says so); an unreadable file is shown as such, not fatal."""
    local = sorted((root / "_build" / "bench").glob("*.json"))
    committed = [
        p
        for p in sorted((root / "benchmarks" / "results").glob("*.json"))
        if p.name not in {q.name for q in local}
    ]
    out = []
    for path in local + committed:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            data = {"error": f"unreadable ({exc})"}
        if not isinstance(data, dict):
            data = {"error": "not a benchmark result"}
        if path in committed:
            data["source"] = "the committed measurement (`make bench` replaces it)"
        out.append((str(data.get("benchmark", path.stem)), data))
    return out


def _budget_figure(claims: list[tuple[str, str, dict[str, Any]]], target: Path) -> None:
    """One bar per claim from the budget (1) to its share of the budget, log scale:
    green met, red missed."""
    # no pyplot: no global backend state at build time
    from matplotlib.figure import (
        Figure,
    )

    labels = [
        f"{bench}: {claim}" if len(claim) <= 60 else f"{bench}: {claim[:57]}..."
        for bench, claim, _ in claims
    ]
    fig = Figure(figsize=(10, 0.4 * len(claims) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    y = list(range(len(claims)))[::-1]
    for yi, (_, _, check) in zip(y, claims, strict=True):
        share = _budget_share(check)
        if share is None:
            ax.text(1.1, yi, "not measured", va="center", fontsize=8)
            continue
        share = min(max(share, 1e-3), 1e3)
        ax.barh(yi, share - 1, left=1, color="tab:green" if check["ok"] else "tab:red")
        ax.text(
            share * (0.9 if share < 1 else 1.1),
            yi,
            f"{check['value']:.3g} ({check['op']} {check['budget']:g})",
            va="center",
            ha="right" if share < 1 else "left",
            fontsize=7,
        )
    ax.axvline(1.0, color="black", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1e3)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("value / budget (budget / value for a >= claim): met left of 1")
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=100)


def performance_page(root: Path, figure_dir: Path | None = None) -> str:
    """Markdown of the benchmark results found in ``_build/bench/*.json`` (``make
    bench``).

    One summary table of every claim (value, budget, OK/MISS), a bar chart of each claim
    against its budget written to ``figure_dir / PERFORMANCE_FIGURE`` (the page links it
    by that name, so pass the folder the page is written to; ``None``: no chart), then
    each benchmark's measurements.
    """
    parts = [
        "# Performance",
        "",
        "Budgets are claims about ratios measured side by side in one process "
        "(machines are noisy; "
        "ratios travel better than absolute times). `make bench` runs "
        "`benchmarks/bench_*.py`, writes "
        "`_build/bench/*.json` and exits non-zero when a budget is missed; `make "
        "book` checks its own "
        "run's notebook times (the book execution result, nothing else). This page "
        "shows the results "
        "present when the book was built, and the committed measurements "
        "(`benchmarks/results/`) of benchmarks that were not run here.",
        "",
    ]
    benchmarks = _load_benchmarks(root)
    if not benchmarks:
        return "\n".join(
            parts
            + [
                "No benchmark results were present at build time: run `make bench`, "
                "then "
                "rebuild the book.",
                "",
            ]
        )
    claims = [
        (name, claim, check)
        for name, data in benchmarks
        for claim, check in (data.get("checks") or {}).items()
    ]
    if claims:
        rows = [
            [
                name.replace("_", " "),
                _fmt(claim),
                _fmt(c.get("value")),
                f"{c['op']} {c['budget']:g}",
                "OK" if c["ok"] else "**MISS**",
            ]
            for name, claim, c in claims
        ]
        parts += [
            "## Claims and budgets",
            "",
            markdown_table(
                rows, ["benchmark", "claim", "measured", "budget", "result"]
            ),
            "",
        ]
        if figure_dir is not None:
            _budget_figure(claims, figure_dir / PERFORMANCE_FIGURE)
            parts += [
                f"![Each claim's share of its budget, log scale: a bar left of 1 "
                f"meets it]({PERFORMANCE_FIGURE})",
                "",
            ]
    for name, data in benchmarks:
        parts += [f"## {name.replace('_', ' ')}", ""]
        if "error" in data:
            parts += [f"Result file {data['error']}.", ""]
            continue
        machine = data.get("machine") or {}
        if machine:
            where = machine.get("processor") or machine.get("platform", "?")
            when = f", commit `{data['commit']}`" if data.get("commit") else ""
            source = f"; {data['source']}" if data.get("source") else ""
            cores = machine.get("cores", "?")
            parts += [f"Measured on {cores} cores ({where}{when}{source}).", ""]
        # a benchmark's parameters and extra results
        settings = {
            k: v
            for k, v in data.items()
            if k not in ("benchmark", "machine", "rows", "checks", "source")
            and not isinstance(v, dict)
        }
        if settings:
            shown = (
                f"`{k}` = " + (f"`{v}`" if isinstance(v, str) else _fmt(v))
                for k, v in settings.items()
            )
            # text as code: no typography
            parts += [
                "Settings and further results: " + "; ".join(shown) + ".",
                "",
            ]
        rows = data.get("rows") or []
        if isinstance(rows, list) and rows:
            # JSON keys come sorted: name column first
            keys = sorted(rows[0], key=lambda k: k not in _ROW_NAMES)
            parts += [
                markdown_table([[_fmt(r.get(k)) for k in keys] for r in rows], keys),
                "",
            ]
        if not data.get("checks"):
            parts += [
                "This result file has no budget checks (written by an older "
                "benchmark): rerun `make bench`.",
                "",
            ]
    return "\n".join(parts)
