"""Linear probes: how much each modality alone (and all together) tells about the
emotion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.eval.metrics import accuracy, balanced_accuracy, macro_f1
from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = ["ProbeResult", "pool_features", "linear_probe", "probe_modalities"]


def pool_features(corpus: MultimodalCorpus, modality: str) -> np.ndarray:
    """(N, D) mean over valid steps; ``modality`` is one of MODALITIES or
    ``"concat"``."""
    if modality == "concat":
        return np.concatenate([pool_features(corpus, m) for m in MODALITIES], axis=1)
    if modality not in MODALITIES:
        raise ValueError(
            f"unknown modality {modality!r}; valid: {', '.join(MODALITIES)}, concat"
        )
    x = getattr(corpus, modality)
    counts = corpus.mask.sum(axis=1, keepdims=True)
    if np.any(counts == 0):
        raise ValueError(f"{modality}: utterance with no valid step (mask all False)")
    # padding rows are zero, so the sum covers valid steps only
    return x.sum(axis=1) / counts


@dataclass(frozen=True)
class ProbeResult:
    """Test-set scores and predictions of one probe."""

    modality: str
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    predictions: np.ndarray


def linear_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    modality: str = "features",
    C: float = 1.0,
) -> ProbeResult:
    """Standardise, fit multinomial logistic regression (L2, lbfgs: deterministic),
    score on test."""
    for name, arr in (("x_train", x_train), ("x_test", x_test)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"linear_probe({modality}): {name} contains NaN or inf")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    model.fit(x_train, y_train)
    pred = model.predict(x_test)
    return ProbeResult(
        modality,
        accuracy(y_test, pred),
        balanced_accuracy(y_test, pred),
        macro_f1(y_test, pred, len(EMOTIONS)),
        pred,
    )


def probe_modalities(
    train: MultimodalCorpus, test: MultimodalCorpus, *, C: float = 1.0
) -> dict[str, ProbeResult]:
    """One probe per modality and one on the concatenation, keyed ``text, audio, video,
    concat``."""
    return {
        m: linear_probe(
            pool_features(train, m),
            train.label,
            pool_features(test, m),
            test.label,
            modality=m,
            C=C,
        )
        for m in (*MODALITIES, "concat")
    }
