"""How large is one variant's gain over another, across draws of SynthAffWild?

Chapter 5's ablation reports one draw of SynthAffWild (the ``seed`` parameter): about 40
test pairs per split and five splits. On one draw a difference of two points between
variants is within the noise; measured on the book's size, the fusion - features gap
moves by several points from one draw to the next. This module reruns protocol cells
(one window and tau, one or both targets) on several draws. Data seed ``d`` generates
the corpus, and the split and learner seeds are ``d, ..., d + n_seeds - 1``, as the
chapter does for its own seed. So the draw ``d = seed`` reproduces the chapter's cells
exactly (tested). It returns each draw's accuracies and, over the draws, the mean gap
with a Student-t interval: the draws are independent corpora, so their gaps are
independent samples of the gap on SynthAffWild.

Only the small window caches are kept (``cache_dir``); each draw's generated files
(video features and audio, ~80 MB at the book's size) go to a temporary folder and are
removed once windowed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from affect_lib.config import LascaConfig
from affect_lib.data.synthetic.affwild_spec import SynthAffWildParams
from affect_lib.experiments.lasca_protocol import (
    TARGETS,
    SplitFn,
    TestView,
    run_protocol,
)
from affect_lib.experiments.lasca_representations import VARIANT_SPECS
from affect_lib.lasca.folders import synth_affwild_windows
from affect_lib.lasca.semantic import Embedder

__all__ = ["cell_over_draws", "gap_summary", "mean_interval"]


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and Student-t half-width at ``level`` of ``values`` (NaNs dropped): (mean,
    half-width); the mean is NaN without values, the half-width NaN below two."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return (float(v.mean()) if len(v) else float("nan")), float("nan")
    return float(v.mean()), float(
        stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    )


def cell_over_draws(
    cfg: LascaConfig,
    data_seeds: Sequence[int],
    cache_dir: str | os.PathLike[str],
    *,
    targets: Sequence[str] = ("arousal",),
    window_s: float = 5.0,
    tau: float = 0.2,
    encoder: str | None = None,
    variants: Sequence[str] = ("features", "st", "fusion"),
    mode: str = "pooled",
    params: SynthAffWildParams | None = None,
    embedding_dir: str | os.PathLike[str] | None = None,
    caches: dict[tuple[str, str], Embedder] | None = None,
    n_jobs: int = 1,
    split: SplitFn | None = None,
    test_view: TestView | None = None,
) -> pd.DataFrame:
    """The cells (``targets`` x ``window_s``, ``tau``, ``encoder``; default
    ``cfg.encoder``) on every draw.

    Returns one row per data seed and target: ``data_seed``, ``target``, the mean
    accuracy over split seeds of every variant (NaN where the cell could not be fitted)
    and ``test_pairs`` (mean per split). ``params``: the generator's knobs;
    ``embedding_dir`` / ``caches``: the embedding store and caches, as in
    :func:`~affect_lib.experiments.lasca_protocol.run_protocol`, as are its hooks
    ``split`` and ``test_view``.
    """
    unknown = (set(variants) - set(VARIANT_SPECS)) | (set(targets) - set(TARGETS))
    if unknown or not variants or not targets or not data_seeds:
        raise ValueError(
            f"cell_over_draws: unknown variants/targets {sorted(unknown)} or nothing "
            f"to run; variants: {', '.join(VARIANT_SPECS)}; targets: "
            f"{', '.join(TARGETS)}"
        )
    if float(window_s) not in map(float, cfg.windows_s):
        raise ValueError(
            f"cell_over_draws: window_s {window_s:g} is not one of windows_s "
            f"{cfg.windows_s}"
        )
    encoder = cfg.encoder if encoder is None else encoder
    caches = {} if caches is None else caches
    rows = []
    for d in data_seeds:
        with tempfile.TemporaryDirectory(
            prefix="synth_affwild_"
        ) as files:  # only read on a cache miss
            ws = synth_affwild_windows(
                cfg, int(d), window_s, Path(cache_dir), params=params, files_dir=files
            )
        summary = run_protocol(
            {window_s: ws},
            cfg,
            seed=int(d),
            mode=mode,
            cache_dir=embedding_dir,
            variants=variants,
            targets=targets,
            taus=(tau,),
            encoders=(encoder,),
            caches=caches,
            n_jobs=n_jobs,
            split=split,
            test_view=test_view,
        ).summary
        for target in targets:
            cell = summary[summary["target"] == target]
            acc = cell.set_index("variant")["mean"]
            rows.append(
                {
                    "data_seed": int(d),
                    "target": target,
                    **{v: float(acc[v]) for v in variants},
                    "test_pairs": float(cell["test_pairs"].mean()),
                }
            )
    return pd.DataFrame(rows)


def gap_summary(
    draws: pd.DataFrame,
    *,
    of: str = "fusion",
    over: Sequence[str] = ("features", "st"),
    level: float = 0.95,
) -> pd.DataFrame:
    """The gap ``of - b`` for every ``b`` in ``over``, per target, across the draws of
    :func:`cell_over_draws`.

    One row per target and gap (index ``("arousal", "fusion - features")``, ...):
    ``mean``, ``std`` (ddof 1), the ``level`` Student-t interval ``ci_low`` /
    ``ci_high`` of the mean, ``draws`` (draws with both accuracies) and ``positive``
    (the share of those draws where the gap is > 0). Fewer than two draws: NaN spread.
    """
    if not 0 < level < 1:
        raise ValueError(f"gap_summary: level must be in (0, 1), got {level}")
    missing = {"target", of, *over} - set(draws.columns)
    if missing:
        raise ValueError(
            f"gap_summary: no column {sorted(missing)} in the draws table (columns: "
            f"{list(draws.columns)})"
        )
    rows = {}
    for target, part in draws.groupby("target", sort=False):
        for b in over:
            gap = (part[of] - part[b]).dropna().to_numpy(dtype=np.float64)
            n = len(gap)
            mean, half = mean_interval(gap, level)
            std = float(gap.std(ddof=1)) if n > 1 else float("nan")
            rows[(target, f"{of} - {b}")] = {
                "mean": mean,
                "std": std,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "draws": n,
                "positive": float(np.mean(gap > 0)) if n else float("nan"),
            }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["target", "gap"])
    return out
