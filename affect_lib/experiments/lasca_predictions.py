"""Issue #30's pre-registered predictions, as code: the one place that says when each
held.

The predictions were fixed in the issue before any run; each is read here against the
estimates of :mod:`affect_lib.experiments.lasca_prereg` (a mean difference over data
draws and its 95 % Student-t interval, ``lo`` / ``hi``). Readings of the issue's
words, chosen before any run:

1. ``substitution``: "fusion with the affective lexicon beats features-only by >= 3
   points on the target the substituted cues carry": the mean of fusion - features is
   >= :data:`MIN_GAIN` (0.03) *and* its interval lies above 0 (the book claims no
   difference whose interval contains 0).
2. ``shuffled``: "under (1), shuffled ~ features-only (interval contains 0)": the
   interval of shuffled - features contains 0.
3. ``curve``: "fusion - features is larger at 2-4 subjects than at 12": per target, the
   mean gap at the small sizes (<= :data:`SMALL_CURVE`, i.e. 2 and 4) minus the gap at
   the largest size has an interval above 0, on every target run.
4. ``missing``: "fusion degrades less than features-only": per target and missing
   share, (fusion - features with channels missing) - (fusion - features clean) has an
   interval above 0, on every target and share run.

Each rule reads the estimates by variant name; a missing or NaN estimate makes the
prediction not held (nothing to support it), never an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["MIN_GAIN", "SMALL_CURVE", "Interval", "Prediction", "PREDICTIONS"]

MIN_GAIN = 0.03  # prediction 1: "by >= 3 points" (accuracy is a share)
SMALL_CURVE = 4  # prediction 3: "at 2-4 subjects"


@dataclass(frozen=True)
class Interval:
    """A mean difference over draws and its 95 % interval."""

    mean: float
    lo: float
    hi: float

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (self.mean, self.lo, self.hi))

    @property
    def above_zero(self) -> bool:
        return self.finite and self.lo > 0

    @property
    def contains_zero(self) -> bool:
        return self.finite and self.lo <= 0 <= self.hi


def _gain(est: Mapping[str, Interval]) -> bool:
    gap = est.get("fusion_minus_features")
    return gap is not None and gap.above_zero and gap.mean >= MIN_GAIN


def _shuffled(est: Mapping[str, Interval]) -> bool:
    gap = est.get("shuffled_minus_features")
    return gap is not None and gap.contains_zero


def _all_above(suffix: str) -> Callable[[Mapping[str, Interval]], bool]:
    def rule(est: Mapping[str, Interval]) -> bool:
        parts = [v for k, v in est.items() if k.endswith(suffix)]
        return bool(parts) and all(p.above_zero for p in parts)

    return rule


@dataclass(frozen=True)
class Prediction:
    """One pre-registered prediction: the issue's words and the rule that reads the
    experiment's estimates (``{variant: Interval}``) into held / not held."""

    experiment: str
    statement: str
    rule: Callable[[Mapping[str, Interval]], bool]

    def held(self, estimates: Mapping[str, Interval]) -> bool:
        return bool(self.rule(estimates))


PREDICTIONS: Mapping[str, Prediction] = MappingProxyType(
    {
        p.experiment: p
        for p in (
            Prediction(
                "substitution",
                "fusion with the affective lexicon beats features-only by >= 3 points "
                "on the target the substituted cues carry",
                _gain,
            ),
            Prediction(
                "shuffled",
                "under cue substitution, shuffled lexicon ~ features-only (interval "
                "contains 0)",
                _shuffled,
            ),
            Prediction(
                "curve",
                "fusion - features is larger at 2-4 training subjects than at 12",
                _all_above("_small_minus_largest"),
            ),
            Prediction(
                "missing",
                "with feature channels missing at test time, fusion degrades less "
                "than features-only",
                _all_above("_degrades_less"),
            ),
        )
    }
)
