"""Can chapter 6's runs be cheaper and still rank the variants as chapter 3's training
does? (issue #29: at least 5 seeds per variant within the chapter's budget)

    .venv/bin/python scripts/ablation_budget.py [--budgets 2 3 "2,d_model=32"] \\
        [--reference 12] [--seeds 5] [--n-jobs 2] [--out _build/ablation_budget.json]

Trains ``full`` and ``no_graph`` with chapter 6's runner for each budget and seeds
0..S-1. A budget is ``EPOCHS[,FIELD=VALUE...]``: ablation epochs and overrides of the
book's ModelConfig or TrainConfig fields (e.g. ``d_model=32``, ``unet_base=16``,
``max_epochs=2``: the warmup and Gumbel schedules span ``max_epochs``) or ``batch_size``
(the runs' ``ablation_batch_size``; chapter 3's 64 if not given). The reference
(``--reference``, default 12 = chapter 3's ``max_epochs``) is chapter 3's training
without early stopping. For each budget it prints the two variants' mean accuracy and
driver accuracy, Δ = full − no_graph with its spread over seeds, whether Δ's sign agrees
with the reference's (the ranking), on how many seeds, and the mean seconds per run; for
the plain budgets (epochs only) a line fitted to seconds against epochs splits a run's
cost into a fixed part (data, set-up, scoring, counterfactual edits) and a part per
epoch.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from affect_lib.config import RunConfig, load_profile
from affect_lib.experiments.ablation import run_ablations
from affect_lib.io import write_json

VARIANTS = ["full", "no_graph"]
METRICS = ("accuracy", "driver_acc")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budgets", nargs="+", default=["2", "3", "4"])
    parser.add_argument("--reference", default="12")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="_build/ablation_budget.json")
    args = parser.parse_args()
    base = load_profile("book")
    tables = {}
    for spec in [*args.budgets, args.reference]:
        cfg = _budget(base, spec, args.seeds)
        start = time.perf_counter()
        table = run_ablations(cfg, VARIANTS, n_jobs=args.n_jobs).table()
        print(f"{spec}: {len(table)} runs in {time.perf_counter() - start:.0f} s")
        tables[spec] = table
    reference = args.reference

    def deltas(table: pd.DataFrame, metric: str) -> np.ndarray:
        wide = table.pivot(index="seed", columns="variant", values=metric)
        return (wide["full"] - wide["no_graph"]).to_numpy()

    rows = []
    for spec, table in tables.items():
        row = {
            "budget": spec,
            "epochs": _budget(base, spec, args.seeds).ablation.ablation_epochs,
            "seconds_per_run": float(table["seconds"].mean()),
        }
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
    summary = pd.DataFrame(rows).set_index("budget")
    plain = summary[[spec.isdigit() for spec in summary.index]]
    slope, intercept = (
        np.polyfit(plain["epochs"], plain["seconds_per_run"], 1)
        if len(set(plain["epochs"])) > 1
        else (np.nan, np.nan)
    )
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.round(3).T)
    print(
        f"book width: seconds per run ≈ {intercept:.1f} + {slope:.2f} × epochs (one "
        f"thread; fixed part: data, set-up, scoring and counterfactual edits)"
    )
    write_json(
        args.out,
        {
            "seeds": args.seeds,
            "reference": reference,
            "budgets": rows,
            "seconds_fixed": float(intercept),
            "seconds_per_epoch": float(slope),
            "runs": {spec: t.to_dict(orient="records") for spec, t in tables.items()},
        },
    )
    return 0


def _budget(base: RunConfig, spec: str, seeds: int) -> RunConfig:
    """The book's config for budget ``EPOCHS[,FIELD=VALUE...]`` with ``seeds`` seeds."""
    epochs, *pairs = spec.split(",")
    sections = {"model": {}, "train": {}}
    # chapter 3's batch unless the budget sets one
    ablation = {
        "ablation_epochs": int(epochs),
        "ablation_seeds": seeds,
        "ablation_batch_size": base.data.batch_size,
    }
    for pair in pairs:
        key, value = pair.split("=")
        if key == "batch_size":
            ablation["ablation_batch_size"] = int(value)
            continue
        section = next(
            (
                name
                for name in sections
                if key in {f.name for f in dataclasses.fields(getattr(base, name))}
            ),
            None,
        )
        if section is None:
            raise SystemExit(
                f"budget {spec!r}: {key!r} is no model or train field (or batch_size)"
            )
        sections[section][key] = type(getattr(getattr(base, section), key))(value)
    return dataclasses.replace(
        base,
        **{
            name: dataclasses.replace(getattr(base, name), **fields)
            for name, fields in sections.items()
        },
        ablation=dataclasses.replace(base.ablation, **ablation),
    )


if __name__ == "__main__":
    raise SystemExit(main())
