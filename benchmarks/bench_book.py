"""Whole-book execution, per notebook, in the ``book`` profile (budget: <= 10 min for
all, on 2 cores).

    .venv/bin/python benchmarks/bench_book.py          # runs every notebook (~5 min)
    .venv/bin/python benchmarks/bench_book.py --from-timings       # the book run's
    .venv/bin/python benchmarks/bench_book.py --from-timings PATH  # another run's

Each notebook also has the budget its chapter's issue names (:data:`BUDGETS_S`, keyed by
the two-digit prefix; a notebook not in the book yet is simply absent, one without an
entry gets :data:`DEFAULT_BUDGET_S`). A notebook that failed, or that the timings file
does not cover, misses its budget and the total. Without ``--from-timings`` this runs
``affect_lib.publish.run.run("book")`` and uses that run's wall times only;
``timings.json`` keeps the latest time of every notebook ever run, so with
``--from-timings`` the times may come from different runs (the JSON records the file
used).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import report  # noqa: E402

from affect_lib.io import read_json  # noqa: E402
from affect_lib.paths import project_root  # noqa: E402
from affect_lib.publish.notebooks import BookError, notebook_paths  # noqa: E402
from affect_lib.publish.run import run  # noqa: E402

PROFILE = "book"
TOTAL_BUDGET_S = 600.0  # all notebooks together, 2 cores
# a notebook whose issue states no budget (01, or a new chapter)
DEFAULT_BUDGET_S = 120.0
BUDGETS_S = {
    "02": 120.0,  # 02 + 03 share 5 min: 2 min for the causal graph ...
    "03": 180.0,  # ... and 3 min for diffusion training
    "04": 90.0,  # counterfactuals
    "05": 120.0,  # LaScA
    "06": 180.0,  # ablations
    "07": 180.0,  # chapter 5's appendix (issue #30: <= 3 min)
}


def budget_s(notebook: str) -> tuple[float, str]:
    """(budget in seconds, where it comes from) for a notebook stem like
    ``03_diffusion_training``."""
    prefix = notebook[:2]
    return (
        (BUDGETS_S[prefix], "issue")
        if prefix in BUDGETS_S
        else (DEFAULT_BUDGET_S, "default")
    )


def evaluate(
    notebooks: list[str], timings: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, tuple[float, str, float]]]:
    """Rows and budget checks for the book's ``notebooks`` given ``timings`` (``{stem:
    {seconds, status}}``).

    A notebook without an ``ok`` time counts as NaN seconds, which misses its budget and
    the total.
    """
    rows, checks = [], {}
    for name in notebooks:
        entry = timings.get(name) or {}
        ok = entry.get("status") == "ok" and entry.get("seconds") is not None
        seconds = float(entry["seconds"]) if ok else math.nan
        budget, source = budget_s(name)
        rows.append(
            {
                "notebook": name,
                "seconds": seconds,
                "budget_s": budget,
                "budget_from": source,
                "status": entry.get("status", "not run"),
            }
        )
        checks[f"{name} seconds"] = (seconds, "<=", budget)
    total = sum(r["seconds"] for r in rows)  # NaN as soon as one notebook has no time
    checks["all notebooks seconds"] = (total, "<=", TOTAL_BUDGET_S)
    return rows, checks


def _timings_from_run(root: Path) -> dict[str, dict[str, Any]]:
    """Run the book profile; a failing notebook stops the run and is reported as
    failed."""
    try:
        result = run(PROFILE, root=root)
    except BookError as exc:
        print(f"[bench_book] {exc}", file=sys.stderr)
        record = read_json(root / "_build" / "runs" / PROFILE / "timings.json")
        failed = {
            k: v
            for k, v in record.get("notebooks", {}).items()
            if v.get("status") == "failed"
        }
        # the notebooks before it ran in this run too, but keep only what is certain
        return failed
    return {name: {"seconds": s, "status": "ok"} for name, s in result.timings.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--from-timings",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help=(
            "read wall times from a timings.json (default "
            "_build/runs/book/timings.json)"
        ),
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="project root (default: this checkout)"
    )
    parser.add_argument("--out", default="_build/bench/book.json")
    args = parser.parse_args(argv)
    root = args.root or project_root()
    notebooks = [p.stem for p in notebook_paths(root)]
    if args.from_timings is None:
        source, timings = "this run", _timings_from_run(root)
    else:
        path = Path(
            args.from_timings or root / "_build" / "runs" / PROFILE / "timings.json"
        )
        if not path.is_file():
            parser.error(
                f"{path}: no timings file; run `affect-book run --profile {PROFILE}` "
                f"first"
            )
        record = read_json(path)
        if record.get("profile") != PROFILE:
            parser.error(
                f"{path}: timings of profile {record.get('profile')!r}, not {PROFILE!r}"
            )
        # shown on the performance page: relative to the project when inside it
        full = path.resolve()
        source = str(
            full.relative_to(root.resolve())
            if full.is_relative_to(root.resolve())
            else full
        )
        timings = record.get("notebooks", {})
    rows, checks = evaluate(notebooks, timings)
    cores = os.cpu_count()
    if cores != 2:
        print(
            f"[bench_book] note: the budgets are for 2 cores; this machine has {cores}"
        )
    return report(
        "book_execution",
        args.out,
        rows,
        checks,
        extra={"profile": PROFILE, "timings_from": source, "cores": cores},
    )


if __name__ == "__main__":
    raise SystemExit(main())
