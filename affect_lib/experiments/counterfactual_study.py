"""The experiments of chapter 4, as functions: target choice, CFG-scale sweep, sampler
race, and the source→target validity matrix. Each edits one fixed batch so every number
is comparable.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch

from affect_lib.affect_diff.counterfactual import Counterfactual, counterfactual
from affect_lib.affect_diff.model import AffectDiff
from affect_lib.eval.explanations import proximity, sparsity, validity
from affect_lib.schema import EMOTIONS

__all__ = [
    "other_emotion",
    "summarise",
    "scale_sweep",
    "sampler_race",
    "validity_matrix",
]


def other_emotion(label: torch.Tensor, *, seed: int) -> torch.Tensor:
    """(B,) a uniformly drawn emotion different from each utterance's own label
    (seeded)."""
    shift = np.random.default_rng(seed).integers(1, len(EMOTIONS), len(label))
    return torch.as_tensor(
        (label.cpu().numpy() + shift) % len(EMOTIONS), dtype=torch.long
    )


def summarise(cf: Counterfactual) -> dict[str, float]:
    """Validity, mean proximity and mean sparsity of a batch of counterfactuals."""
    return {
        "validity": validity(cf.pred_after.cpu().numpy(), cf.target.cpu().numpy()),
        "proximity": float(proximity(cf.z, cf.z_cf, cf.mask).mean()),
        "sparsity": float(sparsity(cf.z, cf.z_cf, cf.mask).mean()),
    }


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def scale_sweep(
    model: AffectDiff,
    batch: dict,
    target: torch.Tensor,
    cfg_scales: Iterable[float],
    *,
    seed: int,
    **edit,
) -> pd.DataFrame:
    """One row per CFG scale: validity, proximity, sparsity (same noise for every
    scale)."""
    rows = []
    for s in cfg_scales:
        cf = counterfactual(
            model, batch, target, cfg_scale=float(s), generator=_seeded(seed), **edit
        )
        rows.append({"cfg_scale": float(s), **summarise(cf)})
    return pd.DataFrame(rows)


def sampler_race(
    model: AffectDiff,
    batch: dict,
    target: torch.Tensor,
    *,
    ddim_steps: Iterable[int],
    seed: int,
    repeats: int = 1,
    **edit,
) -> tuple[pd.DataFrame, dict[str, Counterfactual]]:
    """DDIM at each step count and full DDPM on the same batch, targets and noise:
    seconds (best of ``repeats``), network evaluations, validity. Returns the table and
    the counterfactuals by row name."""
    runs = [(f"DDIM {n}", "ddim", int(n)) for n in ddim_steps] + [
        ("DDPM", "ddpm", edit["t_start"] + 1)
    ]
    rows, cfs = [], {}
    for name, sampler, steps in runs:
        best = float("inf")
        for _ in range(repeats if sampler == "ddim" else 1):
            start = time.perf_counter()
            cf = counterfactual(
                model,
                batch,
                target,
                sampler=sampler,
                steps=steps,
                generator=_seeded(seed),
                **{k: v for k, v in edit.items() if k != "steps"},
            )
            best = min(best, time.perf_counter() - start)
        cfs[name] = cf
        rows.append({"sampler": name, "steps": steps, "seconds": best, **summarise(cf)})
    table = pd.DataFrame(rows).set_index("sampler")
    table["speedup_vs_ddpm"] = table.loc["DDPM", "seconds"] / table["seconds"]
    return table, cfs


def validity_matrix(model: AffectDiff, batch: dict, *, seed: int, **edit) -> np.ndarray:
    """(6, 6) share of utterances of source emotion i (their label) classified as j
    after an edit toward j; every utterance is edited toward all six emotions (the
    diagonal: toward its own)."""
    n, k = len(batch["label"]), len(EMOTIONS)
    tiled = {
        key: (
            v.repeat_interleave(k, dim=0)
            if isinstance(v, torch.Tensor)
            else [x for x in v for _ in range(k)]
        )
        for key, v in batch.items()
    }
    target = torch.arange(k).repeat(n)
    cf = counterfactual(model, tiled, target, generator=_seeded(seed), **edit)
    hit = (cf.pred_after.cpu() == target).numpy().reshape(n, k)
    source = batch["label"].cpu().numpy()
    return np.array(
        [
            hit[source == i].mean(axis=0) if np.any(source == i) else np.full(k, np.nan)
            for i in range(k)
        ]
    )
