"""LaScA's evaluation protocol: every (window, tau, target, variant, encoder) cell over
seeds.

Cells (LaScA's ablation grid, sizes from :class:`~affect_lib.config.LascaConfig`):

- window sizes ``cfg.windows_s`` (3 s, 5 s) x relative-change thresholds ``cfg.taus``
  (10 %, 20 %) x targets (arousal, valence);
- variants (:mod:`affect_lib.experiments.lasca_representations`): ``features``, ``st``,
  ``fusion`` and ``namelex``, and the two controls ``zfeatures`` and ``mask`` when asked
  for by name;
- encoders ``cfg.encoders`` for the three variants that embed text (``features`` has
  none: its rows say encoder "none");
- seeds ``seed, seed + 1, ...`` (``cfg.n_seeds``): each seed draws its own
  subject-independent split, a share ``cfg.test_subjects`` of the subjects (of all
  window sets together) held out for testing; within a seed all cells, of every window
  length, share the split, so variants and window lengths are compared on the same test
  subjects.

Each pair-delta dimension is standardised on the training pairs. Each window set's masks
and embeddings are computed once
(:func:`~affect_lib.experiments.lasca_representations.represent`) and reused by every
cell. The default embedding mode is ``"pooled"`` (:mod:`affect_lib.lasca.semantic`):
with the paper's ``"template"`` mode the grid's ~1,000 windows x 2 lexicons x 2 encoders
cost minutes of CPU encoding (MPNet reads ~3-6 template texts/s on 2 cores), with the
pooled mode seconds; pass ``mode="template"`` for the paper's encoding. Per cell and
seed: preference pairs of the train / test subjects
(:func:`~affect_lib.lasca.pairs.preference_pairs`), the MLP trained on the train pairs
with ``random_state = seed``, pairwise accuracy on the test pairs. Everything is
deterministic given the seed. A cell with fewer than :data:`MIN_TRAIN_PAIRS` training
pairs or no test pair is not fitted: its accuracy is NaN and ``note`` says why (tiny
smoke-profile data).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from affect_lib.config import LascaConfig
from affect_lib.experiments.lasca_representations import (
    VARIANT_SPECS,
    VARIANTS,
    represent,
)
from affect_lib.lasca.features import WindowSet
from affect_lib.lasca.pairs import pair_deltas, preference_pairs
from affect_lib.lasca.preference import (
    fit_preference,
    pairwise_accuracy,
    trainable_parameters,
)
from affect_lib.lasca.semantic import Embedder

__all__ = [
    "TARGETS",
    "MIN_TRAIN_PAIRS",
    "subject_split",
    "Cell",
    "Score",
    "ProtocolResult",
    "run_protocol",
    "summarise",
]

TARGETS: tuple[str, ...] = ("arousal", "valence")
# 20 rows once symmetrised: early stopping's 10 % split still holds both classes
MIN_TRAIN_PAIRS = 10


def subject_split(subjects: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Test subjects of ``seed``: ``max(1, round(share * n))`` of the sorted distinct
    subjects, drawn with ``numpy.random.default_rng(seed)``; at least one subject stays
    for training."""
    distinct = np.unique(np.asarray(subjects).astype(str))
    if len(distinct) < 2:
        raise ValueError(
            f"a subject-independent split needs >= 2 subjects, got {len(distinct)}"
        )
    n_test = min(max(1, int(round(share * len(distinct)))), len(distinct) - 1)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(distinct, size=n_test, replace=False))


@dataclass(frozen=True, eq=False)
class ProtocolResult:
    """``table``: one row per cell and seed; ``summary``: mean / std per cell
    (:func:`summarise`); ``timings``: seconds spent representing and fitting (not
    deterministic, kept out of the tables); ``parameters``: trainable MLP parameters per
    (variant, encoder)."""

    table: pd.DataFrame
    summary: pd.DataFrame
    timings: dict[str, float]
    parameters: dict[str, int]


class Cell(NamedTuple):
    """One cell of the grid for one seed: the key columns of the protocol's table."""

    window_s: float
    tau: float
    target: str
    variant: str
    encoder: str  # "none" for a variant without text, as lexicon and mode
    lexicon: str
    mode: str
    seed: int


class Score(NamedTuple):
    """A cell's result: the table's other columns."""

    n_train_pairs: int
    n_test_pairs: int
    accuracy: float  # NaN when not fitted
    n_iter: int
    note: str  # why the cell was not fitted; "" when it was


@dataclass(frozen=True, eq=False)
class _Fit:
    """One fit to run: its cell, pair deltas (P, D), labels (P,) 0/1 and training
    pairs (P,) bool (the others are its test pairs)."""

    cell: Cell
    deltas: np.ndarray
    labels: np.ndarray
    train: np.ndarray


def _fit_cell(fit: _Fit, hyper: Mapping[str, Any]) -> tuple[Score, int | None]:
    """Fit on the train pairs, score on the others -> (score, trainable parameters;
    None when not fitted)."""
    train = fit.train
    n_train, n_test = int(train.sum()), int((~train).sum())
    if n_train < MIN_TRAIN_PAIRS or n_test == 0:
        note = (
            f"not fitted: {n_train} train / {n_test} test pairs (needs >= "
            f"{MIN_TRAIN_PAIRS} / 1)"
        )
        return Score(n_train, n_test, float("nan"), 0, note), None
    model = fit_preference(
        fit.deltas[train], fit.labels[train], seed=fit.cell.seed, **hyper
    )
    accuracy = pairwise_accuracy(model, fit.deltas[~train], fit.labels[~train])
    n_iter = int(model.named_steps["mlp"].n_iter_)
    return Score(n_train, n_test, accuracy, n_iter, ""), trainable_parameters(model)


def run_protocol(
    window_sets: Sequence[WindowSet] | Mapping[Any, WindowSet],
    cfg: LascaConfig,
    *,
    seed: int = 0,
    mode: str = "pooled",
    cache_dir: str | Path | None = None,
    variants: Sequence[str] = VARIANTS,
    targets: Sequence[str] = TARGETS,
    taus: Sequence[float] | None = None,
    encoders: Sequence[str] | None = None,
    caches: dict[tuple[str, str], Embedder] | None = None,
    n_jobs: int = 1,
    progress: bool = False,
) -> ProtocolResult:
    """Run the grid (module docstring) on ``window_sets`` (one per window size) and
    return the tables.

    ``mode``: the semantic embedding mode ("pooled" or "template",
    :mod:`affect_lib.lasca.semantic`); ``taus`` / ``encoders`` default to ``cfg.taus`` /
    ``cfg.encoders``; seeds are ``seed ... seed + cfg.n_seeds - 1``. ``n_jobs``: fits
    run in that many processes (joblib; results do not depend on it). ``progress``:
    print one line per window set.
    """
    sets = (
        list(window_sets.values())
        if isinstance(window_sets, Mapping)
        else list(window_sets)
    )
    taus = tuple(cfg.taus if taus is None else taus)
    encoders = tuple(cfg.encoders if encoders is None else encoders)
    unknown = (set(variants) - set(VARIANT_SPECS)) | (set(targets) - set(TARGETS))
    if unknown or not sets:
        raise ValueError(
            f"run_protocol: unknown variants/targets {sorted(unknown)} or no window "
            f"set; variants: {', '.join(VARIANT_SPECS)}; targets: {', '.join(TARGETS)}"
        )
    specs = [VARIANT_SPECS[v] for v in variants]
    lexicons = sorted({v.lexicon for v in specs} - {None})
    seeds = [seed + k for k in range(cfg.n_seeds)]
    hyper = {
        "hidden": cfg.hidden,
        "alpha": cfg.alpha,
        "max_iter": cfg.max_iter,
        "n_iter_no_change": cfg.n_iter_no_change,
        "batch_size": cfg.mlp_batch_size,
    }
    caches = {} if caches is None else caches
    fits: list[_Fit] = []
    timings = {"represent_s": 0.0, "fit_s": 0.0}
    # one split per seed for every window set, drawn from all their subjects: a subject
    # without windows of one length (a short video) must not change which subjects the
    # other length tests on
    everyone = np.unique(
        np.concatenate([np.asarray(ws.subject).astype(str) for ws in sets])
    )
    held_out = {s: subject_split(everyone, cfg.test_subjects, s) for s in seeds}
    for ws in sets:
        start = time.perf_counter()
        rep = represent(
            ws,
            encoders if lexicons else (),
            lexicons=lexicons,
            mode=mode,
            cache_dir=cache_dir,
            caches=caches,
        )
        timings["represent_s"] += time.perf_counter() - start
        if progress:
            print(
                f"LaScA protocol: {rep.window_s:g} s windows represented "
                f"({len(rep.x)} windows)"
            )
        subjects = np.asarray(ws.subject).astype(str)
        test_rows = {s: np.isin(subjects, held_out[s]) for s in seeds}
        inputs = {
            (v, e): rep.inputs(v.name, e)
            for v in specs
            for e in ((None,) if v.lexicon is None else encoders)
        }
        for target in targets:
            y = np.asarray(getattr(ws, target))
            for tau in taus:
                pairs = preference_pairs(y, ws.video, ws.index, tau)
                deltas = {key: pair_deltas(z, pairs) for key, z in inputs.items()}
                for s in seeds:
                    train = ~test_rows[s][pairs.first]
                    for (variant, encoder), dZ in deltas.items():
                        cell = Cell(
                            window_s=rep.window_s,
                            tau=float(tau),
                            target=target,
                            variant=variant.name,
                            encoder=encoder or "none",
                            lexicon=variant.lexicon or "none",
                            mode=mode if variant.lexicon else "none",
                            seed=s,
                        )
                        fits.append(_Fit(cell, dZ, pairs.label, train))
    start = time.perf_counter()
    if n_jobs == 1:
        results = [_fit_cell(fit, hyper) for fit in fits]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(
            delayed(_fit_cell)(fit, hyper) for fit in fits
        )
    timings["fit_s"] = time.perf_counter() - start
    params = {
        f"{fit.cell.variant}/{fit.cell.encoder}": n
        for fit, (_, n) in zip(fits, results, strict=True)
        if n is not None
    }
    table = pd.DataFrame(
        [
            {**fit.cell._asdict(), **score._asdict()}
            for fit, (score, _) in zip(fits, results, strict=True)
        ]
    )
    return ProtocolResult(
        table=table, summary=summarise(table), timings=timings, parameters=params
    )


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof 1; 0 with one seed) of the accuracy per cell, the number of
    seeds that were fitted and the mean number of test pairs, in grid order."""
    keys = ["window_s", "tau", "target", "variant", "encoder"]
    g = table.groupby(keys, sort=False)
    out = g["accuracy"].agg(
        mean="mean",
        std=lambda a: float(np.std(a.dropna(), ddof=1)) if a.notna().sum() > 1 else 0.0,
        n_seeds="count",
    )
    out["test_pairs"] = g["n_test_pairs"].mean()
    return out.reset_index()
