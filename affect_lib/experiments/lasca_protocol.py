"""LaScA's evaluation protocol: every (window, tau, target, variant, encoder) cell over seeds.

Cells (LaScA's ablation grid, sizes from :class:`~affect_lib.config.LascaConfig`):

- window sizes ``cfg.windows_s`` (3 s, 5 s) x relative-change thresholds ``cfg.taus`` (10 %, 20 %)
  x targets (arousal, valence);
- variants: ``features`` (the 73 handcrafted features x only), ``st`` (the sentence embedding s of
  the affective lexicon only), ``fusion`` ([x || s], affective lexicon) and ``namelex`` ([x || s]
  with the feature-name lexicon: the ablation's "feature-based lexicon");
- encoders ``cfg.encoders`` for the three variants that embed text (``features`` has none: its
  rows say encoder "none");
- two controls that are not in the paper, asked for by name (:data:`CONTROLS`). They take the
  semantic path (per-video z-scores -> Otsu mask -> text -> sentence embedding) apart:
  ``zfeatures``, the features z-scored within each video (:func:`~affect_lib.lasca.saliency.normalise`),
  i.e. the person-relative values the saliency mask is computed from, without the mask and the text;
  and ``mask``, the binary saliency mask itself (73 values of 0 or 1), without the text. ``zfeatures``
  tells how much of what the sentence embedding adds is the person-relative view itself, ``mask``
  what binarising drops (``zfeatures - mask``) and what the lexicon and the encoder add to the mask
  they encode (``st - mask``);
- seeds ``seed, seed + 1, ...`` (``cfg.n_seeds``): each seed draws its own subject-independent split,
  a share ``cfg.test_subjects`` of the subjects (of all window sets together) held out for testing;
  within a seed all cells, of every window length, share the split, so variants and window lengths
  are compared on the same test subjects.

Inputs: ``x`` is the window-mean feature vector as the window set gives it (each pair-delta
dimension is then standardised on the training pairs); ``s`` the sentence embedding of the window's
salient-feature mask. Each window set's masks and embeddings are computed once (:func:`represent`)
and reused by every cell. The default embedding mode is ``"pooled"``
(:mod:`affect_lib.lasca.semantic`): with the paper's ``"template"`` mode the grid's ~1,000 windows x
2 lexicons x 2 encoders cost minutes of CPU encoding (MPNet reads ~3-6 template texts/s on 2 cores),
with the pooled mode seconds; pass ``mode="template"`` for the paper's encoding. Per cell and seed: preference pairs of the train / test subjects
(:func:`~affect_lib.lasca.preference.preference_pairs`), the MLP trained on the train pairs with
``random_state = seed``, pairwise accuracy on the test pairs. Everything is deterministic given the
seed. A cell with fewer than :data:`MIN_TRAIN_PAIRS` training pairs or no test pair is not fitted:
its accuracy is NaN and ``note`` says why (tiny smoke-profile data).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect_lib.config import LascaConfig
from affect_lib.lasca.features import WindowSet
from affect_lib.lasca.names import FEATURE_NAMES, N_FEATURES
from affect_lib.lasca.preference import (
    fit_preference,
    pair_deltas,
    pairwise_accuracy,
    preference_pairs,
    trainable_parameters,
)
from affect_lib.lasca.saliency import normalise, salient_mask
from affect_lib.lasca.semantic import EmbeddingCache

__all__ = [
    "VARIANTS",
    "CONTROLS",
    "TARGETS",
    "VARIANT_LEXICON",
    "MIN_TRAIN_PAIRS",
    "Representations",
    "represent",
    "subject_split",
    "ProtocolResult",
    "run_protocol",
    "summarise",
    "toy_window_set",
]

VARIANTS: tuple[str, ...] = (
    "features",
    "st",
    "fusion",
    "namelex",
)  # the paper's ablation
CONTROLS: tuple[str, ...] = (
    "zfeatures",
    "mask",
)  # ours (module docstring); run only when named
TARGETS: tuple[str, ...] = ("arousal", "valence")
VARIANT_LEXICON: dict[str, str | None] = {
    "features": None,
    "st": "affective",
    "fusion": "affective",
    "namelex": "feature_names",
    "zfeatures": None,
    "mask": None,
}
_FEATURES = {
    "features": "x",
    "st": None,
    "fusion": "x",
    "namelex": "x",
    "zfeatures": "zx",
    "mask": "masks",
}  # which feature block
MIN_TRAIN_PAIRS = (
    10  # 20 rows once symmetrised: early stopping's 10 % split still holds both classes
)


@dataclass(frozen=True, eq=False)
class Representations:
    """One window set's inputs: ``x`` (N, 73) features, ``zx`` (N, 73) the same z-scored within each
    video, ``masks`` (N, 73) salient features and ``semantic[(encoder, lexicon)]`` (N, D) sentence
    embeddings."""

    window_s: float
    x: np.ndarray
    zx: np.ndarray
    masks: np.ndarray
    semantic: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def inputs(self, variant: str, encoder: str | None) -> np.ndarray:
        """The representation z (N, D) of ``variant``: x, s, [x || s] or a control's zx or mask (0 / 1)."""
        lexicon = VARIANT_LEXICON[variant]
        block = _FEATURES[variant]
        parts = [getattr(self, block)] if block else []
        if lexicon is not None:
            parts.append(self.semantic[(str(encoder), lexicon)])
        return np.hstack(parts).astype(np.float32)


def represent(
    ws: WindowSet,
    encoders: Iterable[str],
    *,
    lexicons: Iterable[str] = ("affective", "feature_names"),
    mode: str = "pooled",
    cache_dir: str | Path | None = None,
    caches: dict[tuple[str, str], EmbeddingCache] | None = None,
) -> Representations:
    """Masks (per-video z-scores, Otsu) and embeddings of every window, for every (encoder, lexicon).

    ``caches``: reuse :class:`EmbeddingCache` objects across window sets (a dict filled on demand),
    so masks already seen are not encoded again; ``cache_dir``: their disk store.
    """
    X = np.asarray(ws.X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise ValueError(
            f"window set X must be (N, {N_FEATURES}) in FEATURE_NAMES order, got {X.shape}"
        )
    names = tuple(getattr(ws, "feature_names", FEATURE_NAMES))
    if names != FEATURE_NAMES:
        raise ValueError(
            "window set features are not in FEATURE_NAMES order (affect_lib.lasca.names)"
        )
    zx = normalise(X, ws.video)
    masks = salient_mask(zx)
    caches = {} if caches is None else caches
    semantic = {}
    for encoder in encoders:
        for lexicon in lexicons:
            key = (encoder, lexicon)
            if key not in caches:
                caches[key] = EmbeddingCache(
                    encoder=encoder, lexicon=lexicon, mode=mode, cache_dir=cache_dir
                )
            elif caches[key].mode != mode:
                raise ValueError(
                    f"cache for {key} is in mode {caches[key].mode!r}, asked for {mode!r}"
                )
            semantic[key] = caches[key].embed(masks)
    return Representations(
        window_s=float(ws.window_s), x=X, zx=zx, masks=masks, semantic=semantic
    )


def subject_split(subjects: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Test subjects of ``seed``: ``max(1, round(share * n))`` of the sorted distinct subjects, drawn
    with ``numpy.random.default_rng(seed)``; at least one subject stays for training."""
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
    """``table``: one row per cell and seed; ``summary``: mean / std per cell (:func:`summarise`);
    ``timings``: seconds spent representing and fitting (not deterministic, kept out of the tables);
    ``parameters``: trainable MLP parameters per (variant, encoder)."""

    table: pd.DataFrame
    summary: pd.DataFrame
    timings: dict[str, float]
    parameters: dict[str, int]


def _fit_cell(
    base: dict[str, Any],
    dZ: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    hyper: dict[str, Any],
    seed: int,
) -> tuple[dict[str, Any], int | None]:
    """One cell and seed: fit on the train pairs, score on the others -> (table row, parameter count)."""
    n_train, n_test = int(train.sum()), int((~train).sum())
    row = dict(
        base,
        n_train_pairs=n_train,
        n_test_pairs=n_test,
        accuracy=float("nan"),
        n_iter=0,
        note="",
    )
    if n_train < MIN_TRAIN_PAIRS or n_test == 0:
        row["note"] = (
            f"not fitted: {n_train} train / {n_test} test pairs (needs >= {MIN_TRAIN_PAIRS} / 1)"
        )
        return row, None
    model = fit_preference(dZ[train], labels[train], seed=seed, **hyper)
    row["accuracy"] = pairwise_accuracy(model, dZ[~train], labels[~train])
    row["n_iter"] = int(model.named_steps["mlp"].n_iter_)
    return row, trainable_parameters(model)


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
    caches: dict[tuple[str, str], EmbeddingCache] | None = None,
    n_jobs: int = 1,
    progress: bool = False,
) -> ProtocolResult:
    """Run the grid (module docstring) on ``window_sets`` (one per window size) and return the tables.

    ``mode``: the semantic embedding mode ("pooled" or "template", :mod:`affect_lib.lasca.semantic`);
    ``taus`` / ``encoders`` default to ``cfg.taus`` / ``cfg.encoders``; seeds are ``seed ... seed +
    cfg.n_seeds - 1``. ``n_jobs``: fits run in that many processes (joblib; results do not depend on
    it). ``progress``: print one line per window set.
    """
    sets = (
        list(window_sets.values())
        if isinstance(window_sets, Mapping)
        else list(window_sets)
    )
    taus = tuple(cfg.taus if taus is None else taus)
    encoders = tuple(cfg.encoders if encoders is None else encoders)
    unknown = (set(variants) - set(VARIANTS + CONTROLS)) | (set(targets) - set(TARGETS))
    if unknown or not sets:
        raise ValueError(
            f"run_protocol: unknown variants/targets {sorted(unknown)} or no window set; "
            f"variants: {', '.join(VARIANTS + CONTROLS)}; targets: {', '.join(TARGETS)}"
        )
    lexicons = sorted({VARIANT_LEXICON[v] for v in variants} - {None})
    seeds = [seed + k for k in range(cfg.n_seeds)]
    hyper = {
        "hidden": cfg.hidden,
        "alpha": cfg.alpha,
        "max_iter": cfg.max_iter,
        "n_iter_no_change": cfg.n_iter_no_change,
        "batch_size": cfg.mlp_batch_size,
    }
    caches = {} if caches is None else caches
    tasks: list[
        tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, dict[str, Any], int]
    ] = []
    timings = {"represent_s": 0.0, "fit_s": 0.0}
    # one split per seed for every window set, drawn from all their subjects: a subject without windows
    # of one length (a short video) must not change which subjects the other length tests on
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
                f"LaScA protocol: {rep.window_s:g} s windows represented ({len(rep.x)} windows)"
            )
        subjects = np.asarray(ws.subject).astype(str)
        test_rows = {s: np.isin(subjects, held_out[s]) for s in seeds}
        inputs = {
            (v, e): rep.inputs(v, e)
            for v in variants
            for e in ((None,) if VARIANT_LEXICON[v] is None else encoders)
        }
        for target in targets:
            y = np.asarray(getattr(ws, target))
            for tau in taus:
                pairs = preference_pairs(y, ws.video, ws.index, tau)
                deltas = {key: pair_deltas(z, pairs) for key, z in inputs.items()}
                for s in seeds:
                    train = ~test_rows[s][pairs.first]
                    for (variant, encoder), dZ in deltas.items():
                        base = {
                            "window_s": rep.window_s,
                            "tau": float(tau),
                            "target": target,
                            "variant": variant,
                            "encoder": encoder or "none",
                            "lexicon": VARIANT_LEXICON[variant] or "none",
                            "mode": mode if VARIANT_LEXICON[variant] else "none",
                            "seed": s,
                        }
                        tasks.append((base, dZ, pairs.label, train, hyper, s))
    start = time.perf_counter()
    if n_jobs == 1:
        results = [_fit_cell(*task) for task in tasks]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(_fit_cell)(*task) for task in tasks)
    timings["fit_s"] = time.perf_counter() - start
    params = {
        f"{row['variant']}/{row['encoder']}": n for row, n in results if n is not None
    }
    table = pd.DataFrame([row for row, _ in results])
    return ProtocolResult(
        table=table, summary=summarise(table), timings=timings, parameters=params
    )


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof 1; 0 with one seed) of the accuracy per cell, the number of seeds that
    were fitted and the mean number of test pairs, in grid order."""
    keys = ["window_s", "tau", "target", "variant", "encoder"]
    g = table.groupby(keys, sort=False)
    out = g["accuracy"].agg(
        mean="mean",
        std=lambda a: float(np.std(a.dropna(), ddof=1)) if a.notna().sum() > 1 else 0.0,
        n_seeds="count",
    )
    out["test_pairs"] = g["n_test_pairs"].mean()
    return out.reset_index()


# ------------------------------------------------------------------------------------ toy window set
_TOY_CUES = {
    "mouthSmileLeft": (1.0, 0.3),
    "mouthSmileRight": (1.0, 0.3),
    "cheekSquintLeft": (0.7, 0.2),
    "cheekSquintRight": (0.7, 0.2),
    "mouthFrownLeft": (-0.8, -0.2),
    "mouthFrownRight": (-0.8, -0.2),
    "browDownLeft": (-0.6, 0.3),
    "browDownRight": (-0.6, 0.3),
    "noseSneerLeft": (-0.6, 0.2),
    "noseSneerRight": (-0.6, 0.2),
    "eyeWideLeft": (0.0, 0.9),
    "eyeWideRight": (0.0, 0.9),
    "jawOpen": (0.2, 0.8),
    "browOuterUpLeft": (0.1, 0.6),
    "browOuterUpRight": (0.1, 0.6),
    "_neutral": (0.0, -0.7),
    "mfcc_1": (0.1, 1.0),
    "mfcc_2": (0.0, 0.6),
    "tz": (0.0, 0.4),
}


def toy_window_set(
    *,
    n_subjects: int = 8,
    videos_per_subject: int = 2,
    windows_per_video: int = 20,
    window_s: float = 3.0,
    seed: int = 0,
) -> WindowSet:
    """Random windows with planted affect cues (smiles up with valence, eye widening with arousal, ...).

    Valence and arousal are AR(1) walks over a video's windows in [-1, 1]; every feature is a
    subject baseline + subject gain x (planted loadings . [v, a]) + noise. Not a data set for
    results: a stand-in of the right shape and behaviour where the real SynthAffWild is not needed.
    """
    rng = np.random.default_rng(seed)
    load = np.zeros((N_FEATURES, 2))
    for name, (lv, la) in _TOY_CUES.items():
        load[FEATURE_NAMES.index(name)] = (lv, la)
    Xs, vs, as_, subj, vid, idx = [], [], [], [], [], []
    for s in range(n_subjects):
        base = rng.normal(0, 1, N_FEATURES)
        gain = rng.lognormal(0, 0.3, N_FEATURES)
        for k in range(videos_per_subject):
            va = np.zeros((windows_per_video, 2))
            state = rng.normal(0, 0.4, 2)
            for t in range(windows_per_video):
                state = 0.7 * state + rng.normal(0, 0.35, 2)
                va[t] = np.tanh(state)
            X = (
                base
                + gain * (va @ load.T)
                + rng.normal(0, 0.3, (windows_per_video, N_FEATURES))
            )
            Xs.append(X)
            vs.append(va[:, 0])
            as_.append(va[:, 1])
            subj += [f"s{s:02d}"] * windows_per_video
            vid += [f"s{s:02d}_v{k}"] * windows_per_video
            idx.append(np.arange(windows_per_video))
    return WindowSet(
        X=np.vstack(Xs).astype(np.float32),
        valence=np.concatenate(vs).astype(np.float32),
        arousal=np.concatenate(as_).astype(np.float32),
        subject=np.array(subj),
        video=np.array(vid),
        index=np.concatenate(idx).astype(np.int64),
        window_s=float(window_s),
    )
