"""Test-set evaluation of a trained Affect-Diff model (plain torch, deterministic given
a seed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader

from affect_lib.affect_diff.model import AffectDiff
from affect_lib.devices import to_device
from affect_lib.eval.explanations import attribution_accuracy, influence_auroc
from affect_lib.eval.metrics import (
    accuracy,
    balanced_accuracy,
    f1_scores,
    macro_f1,
    mosei_weighted_accuracy,
    mosei_weighted_f1,
    weighted_f1,
)
from affect_lib.schema import EMOTIONS

__all__ = ["AffectDiffEval", "evaluate_affect_diff"]


@dataclass(frozen=True)
class AffectDiffEval:
    """Headline metrics (``metrics``) and the per-utterance arrays they come from."""

    metrics: dict[str, float]
    per_class_f1: dict[str, float]
    # CMU-MOSEI WA per emotion, multi-label head vs emotions > 0
    weighted_accuracy: dict[str, float]
    # CMU-MOSEI weighted F1 per emotion, same binarisation
    weighted_f1_presence: dict[str, float]
    pred_mu: np.ndarray  # (N,) argmax of the classifier on μ
    pred_denoised: np.ndarray  # (N,) argmax on the denoised latent
    label: np.ndarray
    driver: np.ndarray
    influence: np.ndarray  # (N, 3)
    adjacency: np.ndarray = field(repr=False)  # (N, 3, 3)


@torch.no_grad()
def evaluate_affect_diff(
    model: AffectDiff, loader: DataLoader, *, t_start: int, steps: int, seed: int
) -> AffectDiffEval:
    """Classify μ and the unconditionally denoised μ (DDIM, ``steps`` from ``t_start``)
    for a split."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    keys = ("logits_mu", "ml_logits_mu", "logits_denoised", "influence", "adjacency")
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in (*keys, "label", "emotions", "driver")
    }
    for batch in loader:
        batch = to_device(batch, device)
        pred = model.predict(batch, t_start=t_start, steps=steps, generator=gen)
        for k in keys:
            out[k].append(pred[k].float().cpu().numpy())
        for k in ("label", "emotions", "driver"):
            out[k].append(batch[k].cpu().numpy())
    arr = {k: np.concatenate(v) for k, v in out.items()}
    label, driver = arr["label"], arr["driver"]
    pred_mu, pred_den = arr["logits_mu"].argmax(1), arr["logits_denoised"].argmax(1)
    metrics = {
        "accuracy": accuracy(label, pred_mu),
        "balanced_accuracy": balanced_accuracy(label, pred_mu),
        "macro_f1": macro_f1(label, pred_mu, len(EMOTIONS)),
        "weighted_f1": weighted_f1(label, pred_mu, len(EMOTIONS)),
        "accuracy_denoised": accuracy(label, pred_den),
        # NaN without a driver
        "driver_recovery_acc": attribution_accuracy(arr["influence"].argmax(1), driver),
        "driver_auroc": influence_auroc(arr["influence"], driver)["mean"],
    }
    per_class = dict(
        zip(EMOTIONS, f1_scores(label, pred_mu, len(EMOTIONS)).tolist(), strict=True)
    )
    # Emotions present in some but not all utterances are scored (WA and F1 are
    # undefined otherwise).
    scored = [
        i
        for i in range(len(EMOTIONS))
        if 0 < np.sum(arr["emotions"][:, i] > 0) < len(label)
    ]
    wa = {
        EMOTIONS[i]: mosei_weighted_accuracy(
            arr["emotions"][:, i], arr["ml_logits_mu"][:, i]
        )
        for i in scored
    }
    wf1 = {
        EMOTIONS[i]: mosei_weighted_f1(arr["emotions"][:, i], arr["ml_logits_mu"][:, i])
        for i in scored
    }
    metrics["mean_weighted_accuracy"] = (
        float(np.mean(list(wa.values()))) if wa else float("nan")
    )
    metrics["mean_weighted_f1_presence"] = (
        float(np.mean(list(wf1.values()))) if wf1 else float("nan")
    )
    return AffectDiffEval(
        metrics,
        per_class,
        wa,
        wf1,
        pred_mu,
        pred_den,
        label,
        driver,
        arr["influence"],
        arr["adjacency"],
    )
