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

Two hooks let a study change the protocol's split and test conditions without copying
it (issue #30's pre-registered experiments, :mod:`affect_lib.experiments.lasca_prereg`):
``split`` chooses each seed's training and test subjects (a :class:`SubjectSplit`;
default :func:`protocol_split`, the split above; subjects in neither part are left
out), and ``test_view`` gives the representations the test windows are seen through
(e.g. with feature channels missing), while training windows keep the clean ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect_lib.config import LascaConfig
from affect_lib.experiments.lasca_cells import (
    MIN_TRAIN_PAIRS,
    Cell,
    Fit,
    Score,
    fit_cell,
)
from affect_lib.experiments.lasca_representations import (
    VARIANT_SPECS,
    VARIANTS,
    Representations,
    represent,
)
from affect_lib.experiments.lasca_splits import (
    SplitFn,
    SubjectSplit,
    checked_split,
    protocol_split,
    subject_split,
)
from affect_lib.lasca.features import WindowSet
from affect_lib.lasca.pairs import pair_deltas, preference_pairs
from affect_lib.lasca.semantic import Embedder

__all__ = [
    "TARGETS",
    "MIN_TRAIN_PAIRS",
    "subject_split",
    "SubjectSplit",
    "SplitFn",
    "TestView",
    "protocol_split",
    "Cell",
    "Score",
    "ProtocolResult",
    "run_protocol",
    "summarise",
]

TARGETS: tuple[str, ...] = ("arousal", "valence")
# (window set, its clean representations, train rows (N,) bool, test rows (N,) bool) ->
# the representations the test rows are seen through (other rows unused)
TestView = Callable[
    [WindowSet, Representations, np.ndarray, np.ndarray], Representations
]


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
    split: SplitFn | None = None,
    test_view: TestView | None = None,
) -> ProtocolResult:
    """Run the grid (module docstring) on ``window_sets`` (one per window size) and
    return the tables.

    ``mode``: the semantic embedding mode ("pooled" or "template",
    :mod:`affect_lib.lasca.semantic`); ``taus`` / ``encoders`` default to ``cfg.taus`` /
    ``cfg.encoders``; seeds are ``seed ... seed + cfg.n_seeds - 1``. ``n_jobs``: fits
    run in that many processes (joblib; results do not depend on it). ``progress``:
    print one line per window set. ``split`` / ``test_view``: the hooks of the module
    docstring (default: the protocol's split, clean test windows).
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
    fits: list[Fit] = []
    timings = {"represent_s": 0.0, "fit_s": 0.0}
    # one split per seed for every window set, drawn from all their subjects: a subject
    # without windows of one length (a short video) must not change which subjects the
    # other length tests on
    everyone = np.unique(
        np.concatenate([np.asarray(ws.subject).astype(str) for ws in sets])
    )
    split = protocol_split(cfg.test_subjects) if split is None else split
    roles = {s: checked_split(split(everyone, s), everyone, s) for s in seeds}
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
        rows = {
            s: (np.isin(subjects, roles[s].train), np.isin(subjects, roles[s].test))
            for s in seeds
        }
        keys = [
            (v, e) for v in specs for e in ((None,) if v.lexicon is None else encoders)
        ]
        inputs = {(v, e): rep.inputs(v.name, e) for v, e in keys}
        seen = {}  # per seed: the test windows' inputs under test_view
        if test_view is not None:
            for s in seeds:
                view = test_view(ws, rep, *rows[s])
                seen[s] = {(v, e): view.inputs(v.name, e) for v, e in keys}
        for target in targets:
            y = np.asarray(getattr(ws, target))
            for tau in taus:
                pairs = preference_pairs(y, ws.video, ws.index, tau)
                deltas = {key: pair_deltas(z, pairs) for key, z in inputs.items()}
                for s in seeds:
                    train, test = (r[pairs.first] for r in rows[s])
                    for (variant, encoder), dZ in deltas.items():
                        if s in seen:  # a pair lies in one video: both windows test
                            dZ = np.where(
                                test[:, None],
                                pair_deltas(seen[s][(variant, encoder)], pairs),
                                dZ,
                            )
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
                        fits.append(Fit(cell, dZ, pairs.label, train, test))
    start = time.perf_counter()
    if n_jobs == 1:
        results = [fit_cell(fit, hyper) for fit in fits]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(fit_cell)(fit, hyper) for fit in fits)
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
