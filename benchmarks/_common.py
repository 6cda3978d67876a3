"""Shared helpers of the benchmarks: best-of-N timing and a JSON + table report with
budgets."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from affect_lib.io import write_json
from affect_lib.publish.machine import cpu_model, git_output

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["best_time", "report"]


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Minimum wall time of ``repeats`` calls (the least noisy estimate) and the last
    result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def report(
    name: str,
    out: str,
    rows: list[dict[str, Any]],
    checks: dict[str, tuple[float, str, float]],
    extra: dict[str, Any] | None = None,
) -> int:
    """Write ``out`` (JSON) and print the table; ``checks`` maps a claim to (value, op,
    budget), op in <=, >=.

    Returns the exit code: 1 when any budget is missed.
    """
    results = {
        claim: {
            "value": v,
            "op": op,
            "budget": b,
            "ok": v <= b if op == "<=" else v >= b,
        }
        for claim, (v, op, b) in checks.items()
    }
    write_json(
        out,
        {
            "benchmark": name,
            "commit": git_output(ROOT, "rev-parse", "--short", "HEAD"),
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": {
                "cores": os.cpu_count(),
                "processor": cpu_model(),
                "platform": platform.platform(),
            },
            "rows": rows,
            "checks": results,
            **(extra or {}),
        },
    )
    if rows:
        keys = list(rows[0])
        print(" | ".join(f"{k:>14}" for k in keys))
        for r in rows:
            print(
                " | ".join(
                    f"{r[k]:>14.4g}" if isinstance(r[k], float) else f"{r[k]!s:>14}"
                    for k in keys
                )
            )
    for claim, r in results.items():
        print(
            f"{'OK  ' if r['ok'] else 'MISS'} {claim}: {r['value']:.4g} (budget "
            f"{r['op']} {r['budget']:g})"
        )
    return 0 if all(r["ok"] for r in results.values()) else 1
