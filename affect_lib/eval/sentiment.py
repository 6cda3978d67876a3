"""Sentiment metrics of CMU-MOSI / CMU-MOSEI, and a linear sentiment probe for the
real-data readers.

Sentiment is a score in [-3, 3] (the mean of three annotators' seven-point ratings, so a
multiple of 1/3). The metrics follow MMSA's ``MetricsTop``
(``__eval_mosei_regression``), the convention behind most published MOSI/MOSEI tables,
so numbers computed here can be set next to them:

* ``acc2_has0`` / ``f1_has0``: negative (< 0) against non-negative (>= 0), every
  segment;
* ``acc2_non0`` / ``f1_non0``: negative (< 0) against positive (> 0), segments whose
  truth is 0 left out (the other Acc-2 of the literature; tables often give both as
  "has0 / non0");
* ``acc7`` (``acc5``): truth and prediction clipped to [-3, 3] ([-2, 2]) and rounded
  with ``numpy.round``, which rounds halves to even (2.5 -> 2), then compared;
* ``mae``: mean absolute error of the unclipped prediction; ``corr``: Pearson
  correlation (NaN when truth or prediction is constant, where it is undefined).

F1 is sklearn's ``average="weighted"`` on the two classes. Only the CMU-MOSEI readers
(:mod:`affect_lib.data.mosei.dataset`, :mod:`affect_lib.data.mosei.mmsa`) carry
sentiment; SynthMOSEI has none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.eval.metrics import weighted_f1
from affect_lib.eval.probes import pool_features
from affect_lib.schema import MODALITIES

__all__ = [
    "SENTIMENT_RANGE",
    "SentimentScores",
    "sentiment_metrics",
    "SentimentProbe",
    "sentiment_probe",
    "probe_sentiment_modalities",
]

SENTIMENT_RANGE = (-3.0, 3.0)
_RANGE_TOL = 1e-4  # float32 labels of exactly +-3 may carry rounding


@dataclass(frozen=True)
class SentimentScores:
    """MMSA's regression metrics on N segments (``n_nonzero`` of them with a non-zero
    truth)."""

    acc2_has0: float
    f1_has0: float
    acc2_non0: float
    f1_non0: float
    acc5: float
    acc7: float
    mae: float
    corr: float
    n: int
    n_nonzero: int

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def _check(
    truth: np.ndarray, pred: np.ndarray, where: str = "sentiment_metrics"
) -> tuple[np.ndarray, np.ndarray]:
    truth, pred = np.asarray(truth, np.float64), np.asarray(pred, np.float64)
    if truth.ndim != 1 or truth.shape != pred.shape:
        raise ValueError(
            f"{where}: truth {truth.shape} and pred {pred.shape} must be equal 1-D "
            f"shapes"
        )
    if truth.size == 0:
        raise ValueError(f"{where}: empty input")
    for name, arr in (("truth", truth), ("pred", pred)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{where}: {name}[{i}] is {arr[i]}, expected finite values"
            )
    lo, hi = SENTIMENT_RANGE
    out = (truth < lo - _RANGE_TOL) | (truth > hi + _RANGE_TOL)
    if out.any():
        i = int(np.argmax(out))
        raise ValueError(
            f"{where}: truth[{i}] is {truth[i]}, expected a sentiment in [{lo:g}, "
            f"{hi:g}]"
        )
    return truth, pred


def _class_acc(truth: np.ndarray, pred: np.ndarray, bound: float) -> float:
    return float(
        np.mean(
            np.round(np.clip(pred, -bound, bound))
            == np.round(np.clip(truth, -bound, bound))
        )
    )


def sentiment_metrics(truth: np.ndarray, pred: np.ndarray) -> SentimentScores:
    """(N,) truth in [-3, 3], (N,) finite predictions -> :class:`SentimentScores`
    (module docstring)."""
    truth, pred = _check(truth, pred)
    has0_t, has0_p = (truth >= 0).astype(np.int64), (pred >= 0).astype(np.int64)
    nz = truth != 0
    if nz.any():
        non0_t, non0_p = (
            (truth[nz] > 0).astype(np.int64),
            (pred[nz] > 0).astype(np.int64),
        )
        acc2_non0, f1_non0 = (
            float(np.mean(non0_t == non0_p)),
            weighted_f1(non0_t, non0_p, 2),
        )
    else:  # every truth is 0: the non-zero Acc-2 has nothing to score
        acc2_non0 = f1_non0 = float("nan")
    constant = np.ptp(truth) == 0 or np.ptp(pred) == 0
    corr = float("nan") if constant else float(np.corrcoef(pred, truth)[0, 1])
    return SentimentScores(
        acc2_has0=float(np.mean(has0_t == has0_p)),
        f1_has0=weighted_f1(has0_t, has0_p, 2),
        acc2_non0=acc2_non0,
        f1_non0=f1_non0,
        acc5=_class_acc(truth, pred, 2.0),
        acc7=_class_acc(truth, pred, 3.0),
        mae=float(np.mean(np.abs(pred - truth))),
        corr=corr,
        n=int(truth.size),
        n_nonzero=int(nz.sum()),
    )


@dataclass(frozen=True)
class SentimentProbe:
    """A ridge probe's chosen strength, its validation MAE per strength, and its test
    scores."""

    modality: str
    alpha: float
    val_mae: dict[float, float]
    scores: SentimentScores
    predictions: np.ndarray  # (N_test,) in [-3, 3]


def _sentiment_of(
    corpora: dict[str, MultimodalCorpus], sentiment: dict[str, np.ndarray], split: str
) -> np.ndarray:
    if split not in corpora or split not in sentiment:
        raise ValueError(
            f"sentiment probe: split {split!r} missing; corpora has {sorted(corpora)}, "
            f"sentiment has {sorted(sentiment)}"
        )
    y = np.asarray(sentiment[split], np.float64)
    if not len(corpora[split].ids):
        raise ValueError(f"sentiment probe: split {split!r} has no segments")
    if y.shape != (len(corpora[split].ids),):
        raise ValueError(
            f"sentiment probe: sentiment[{split!r}] has shape {y.shape}, expected "
            f"({len(corpora[split].ids)},) to match its corpus"
        )
    # finite, in range; names the first bad row
    _check(y, y, where=f"sentiment probe: sentiment[{split!r}]")
    return y


def sentiment_probe(
    corpora: dict[str, MultimodalCorpus],
    sentiment: dict[str, np.ndarray],
    *,
    modality: str = "concat",
    alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0),
) -> SentimentProbe:
    """Standardised ridge regression on features mean-pooled over valid steps
    (``pool_features``).

    ``corpora`` / ``sentiment``: ``train``, ``val``, ``test`` as
    :class:`~affect_lib.data.mosei.dataset.MoseiSplits` and
    :class:`~affect_lib.data.mosei.mmsa.MmsaSplits` hold them. The strength is the one
    with the lowest validation MAE (the first on ties); the probe is then scored on
    test, its predictions clipped to [-3, 3] (the truth's range, so clipping can only
    lower the MAE). Closed-form and deterministic.
    """
    if not alphas or any(not np.isfinite(a) or a <= 0 for a in alphas):
        raise ValueError(
            f"sentiment probe: alphas must be positive and finite, got {alphas}"
        )
    y = {s: _sentiment_of(corpora, sentiment, s) for s in ("train", "val", "test")}
    x = {s: pool_features(corpora[s], modality) for s in y}
    val_mae, fitted = {}, {}
    for alpha in alphas:
        model = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(
            x["train"], y["train"]
        )
        val_mae[float(alpha)] = float(
            np.mean(
                np.abs(np.clip(model.predict(x["val"]), *SENTIMENT_RANGE) - y["val"])
            )
        )
        fitted[float(alpha)] = model
    best = min(val_mae, key=val_mae.get)
    pred = np.clip(fitted[best].predict(x["test"]), *SENTIMENT_RANGE)
    return SentimentProbe(
        modality, best, val_mae, sentiment_metrics(y["test"], pred), pred
    )


def probe_sentiment_modalities(
    corpora: dict[str, MultimodalCorpus], sentiment: dict[str, np.ndarray], **kw
) -> dict[str, SentimentProbe]:
    """One probe per modality and one on their concatenation, keyed ``text, audio,
    video, concat``."""
    return {
        m: sentiment_probe(corpora, sentiment, modality=m, **kw)
        for m in (*MODALITIES, "concat")
    }
