"""Can chapter 6's runs be cheaper and still rank the variants as chapter 3's training
does? (issue #29: at least 5 seeds per variant within the chapter's budget)

    .venv/bin/python scripts/ablation_budget.py [--epochs 2 3 4 12] [--seeds 5] \\
        [--n-jobs 2] [--out _build/ablation_budget.json]

Trains ``full`` and ``no_graph`` with chapter 6's runner for each epoch budget and
seeds 0..S-1 (the last budget, by default 12 = chapter 3's ``max_epochs``, is the
reference: chapter 3's training without early stopping, whose schedules every ablation
run follows). For each budget it prints the two variants' mean accuracy and driver
accuracy, Δ = full − no_graph with its spread over seeds, whether Δ's sign agrees with
the reference's (the ranking), on how many seeds, and the mean seconds per run; a line
fitted to seconds against epochs splits a run's cost into a fixed part (data, set-up,
scoring, counterfactual edits) and a part per epoch.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from affect_lib.config import load_profile
from affect_lib.experiments.ablation import run_ablations
from affect_lib.io import write_json

VARIANTS = ["full", "no_graph"]
METRICS = ("accuracy", "driver_acc")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, nargs="+", default=[2, 3, 4, 12])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="_build/ablation_budget.json")
    args = parser.parse_args()
    base = load_profile("book")
    tables = {}
    for epochs in args.epochs:
        ablation = dataclasses.replace(
            base.ablation, ablation_epochs=epochs, ablation_seeds=args.seeds
        )
        cfg = dataclasses.replace(base, ablation=ablation)
        start = time.perf_counter()
        table = run_ablations(cfg, VARIANTS, n_jobs=args.n_jobs).table()
        print(
            f"{epochs} epochs: {len(table)} runs in {time.perf_counter() - start:.0f} s"
        )
        tables[epochs] = table
    reference = args.epochs[-1]

    def deltas(table: pd.DataFrame, metric: str) -> np.ndarray:
        wide = table.pivot(index="seed", columns="variant", values=metric)
        return (wide["full"] - wide["no_graph"]).to_numpy()

    rows = []
    for epochs, table in tables.items():
        row = {"epochs": epochs, "seconds_per_run": float(table["seconds"].mean())}
        for metric in METRICS:
            d, ref = deltas(table, metric), deltas(tables[reference], metric)
            means = table.groupby("variant")[metric].mean()
            row |= {
                f"full_{metric}": float(means["full"]),
                f"no_graph_{metric}": float(means["no_graph"]),
                f"delta_{metric}": float(d.mean()),
                f"delta_{metric}_sd": float(d.std(ddof=1)),
                f"same_ranking_{metric}": bool(
                    np.sign(d.mean()) == np.sign(ref.mean())
                ),
                f"seeds_same_sign_{metric}": int(
                    (np.sign(d) == np.sign(ref.mean())).sum()
                ),
            }
        rows.append(row)
    summary = pd.DataFrame(rows).set_index("epochs")
    slope, intercept = np.polyfit(summary.index, summary["seconds_per_run"], 1)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.round(3).T)
    print(
        f"seconds per run ≈ {intercept:.1f} + {slope:.2f} × epochs (one thread; "
        f"fixed part: data, set-up, scoring and counterfactual edits)"
    )
    write_json(
        args.out,
        {
            "seeds": args.seeds,
            "reference_epochs": reference,
            "budgets": rows,
            "seconds_fixed": float(intercept),
            "seconds_per_epoch": float(slope),
            "runs": {str(e): t.to_dict(orient="records") for e, t in tables.items()},
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
