"""The results of issue #30's pre-registered experiments
(:mod:`affect_lib.experiments.lasca_prereg`): estimates over draws and the verdicts.

:func:`estimates_from_draws` turns the runner's draws table (one row per data seed,
experiment, target and setting, with each variant's mean accuracy) into
:class:`Estimate` records (mean difference over draws, 95 % Student-t interval);
:func:`verdicts` reads them with the coded predictions
(:data:`~affect_lib.experiments.lasca_predictions.PREDICTIONS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from affect_lib.experiments.lasca_draws import mean_interval
from affect_lib.experiments.lasca_predictions import (
    PREDICTIONS,
    SMALL_CURVE,
    Interval,
)

__all__ = ["Estimate", "PreregResult", "estimates_from_draws", "verdicts"]


@dataclass(frozen=True)
class Estimate:
    """One experiment's estimate: a mean difference over ``draws`` draws and its 95 %
    interval; ``key`` is its glue name (``lasca_prereg_<experiment>_<variant>``)."""

    experiment: str
    variant: str
    mean: float
    lo: float
    hi: float
    draws: int

    @property
    def key(self) -> str:
        return f"lasca_prereg_{self.experiment}_{self.variant}"


@dataclass(frozen=True, eq=False)
class PreregResult:
    """``estimates``; ``held`` per experiment (its prediction, read by
    :data:`PREDICTIONS`); ``draws``: one row per data seed, experiment, target and
    setting with the mean accuracy of each variant; ``timings``: seconds per
    experiment (not deterministic)."""

    estimates: tuple[Estimate, ...]
    held: dict[str, bool]
    draws: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The estimates, one row each, with their glue key."""
        return pd.DataFrame(
            [{"key": e.key, **e.__dict__} for e in self.estimates]
        ).set_index("key")

    def glue_values(self) -> dict[str, float | bool]:
        """``{key: mean, key_lo: lo, key_hi: hi}`` per estimate and
        ``lasca_prereg_<experiment>_held`` per experiment."""
        out: dict[str, float | bool] = {}
        for e in self.estimates:
            out.update({e.key: e.mean, f"{e.key}_lo": e.lo, f"{e.key}_hi": e.hi})
        out.update({f"lasca_prereg_{x}_held": h for x, h in self.held.items()})
        return out


def _interval(values: np.ndarray) -> tuple[float, float, float, int]:
    mean, half = mean_interval(values)
    return mean, mean - half, mean + half, int(np.isfinite(values).sum())


def estimates_from_draws(draws: pd.DataFrame) -> list[Estimate]:
    """The estimates of :mod:`~affect_lib.experiments.lasca_prereg` from its draws
    table: per experiment and variant, a per-draw difference's mean and interval."""
    out: list[Estimate] = []

    def add(experiment: str, variant: str, per_draw: pd.Series) -> None:
        out.append(Estimate(experiment, variant, *_interval(per_draw.to_numpy(float))))

    gap = (draws["fusion"] - draws["features"]).rename("gap")
    table = draws.assign(gap=gap).set_index(["experiment", "target", "setting"])
    if "substitution" in set(draws["experiment"]):
        sub = table.loc["substitution"].reset_index(drop=True)
        add("substitution", "fusion_minus_features", sub["gap"])
        add("shuffled", "shuffled_minus_features", sub["shuffled"] - sub["features"])
        add("shuffled", "fusion_minus_shuffled", sub["fusion"] - sub["shuffled"])
    for experiment in ("curve", "missing"):
        if experiment not in set(draws["experiment"]):
            continue
        part = draws.assign(gap=gap)[draws["experiment"] == experiment]
        wide = part.pivot_table(
            index="data_seed", columns=["target", "setting"], values="gap", dropna=False
        )
        for target in dict.fromkeys(part["target"]):
            settings = list(dict.fromkeys(part[part["target"] == target]["setting"]))
            for s in settings:
                add(experiment, f"{target}_{s}", wide[(target, s)])
            if experiment == "curve":
                small = [s for s in settings if int(s) <= SMALL_CURVE]
                small_gap = wide[[(target, s) for s in small]].mean(axis=1)
                add(
                    "curve",
                    f"{target}_small_minus_largest",
                    small_gap - wide[(target, settings[-1])],
                )
            else:
                for s in settings[1:]:
                    add(
                        "missing",
                        f"{target}_{s}_degrades_less",
                        wide[(target, s)] - wide[(target, "clean")],
                    )
    return out


def verdicts(estimates: list[Estimate]) -> dict[str, bool]:
    """``{experiment: held}``: each experiment's estimates read by its prediction."""
    by_experiment: dict[str, dict[str, Interval]] = {}
    for e in estimates:
        by_experiment.setdefault(e.experiment, {})[e.variant] = Interval(
            e.mean, e.lo, e.hi
        )
    return {x: PREDICTIONS[x].held(est) for x, est in by_experiment.items()}
