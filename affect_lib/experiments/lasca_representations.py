"""LaScA protocol's inputs: the variants and each window set's representations of them.

Variants (LaScA's ablation; each a :class:`Variant` in :data:`VARIANT_SPECS`):
``features`` (the 73 handcrafted features x only), ``st`` (the sentence embedding s of
the affective lexicon only), ``fusion`` ([x || s], affective lexicon) and ``namelex``
([x || s] with the feature-name lexicon: the ablation's "feature-based lexicon"). Two
controls that are not in the paper, asked for by name (:data:`CONTROLS`), take the
semantic path (per-video z-scores -> Otsu mask -> text -> sentence embedding) apart:
``zfeatures``, the features z-scored within each video
(:func:`~affect_lib.lasca.saliency.normalise`), i.e. the person-relative values the
saliency mask is computed from, without the mask and the text; and ``mask``, the binary
saliency mask itself (73 values of 0 or 1), without the text. ``zfeatures`` tells how
much of what the sentence embedding adds is the person-relative view itself, ``mask``
what binarising drops (``zfeatures - mask``) and what the lexicon and the encoder add
to the mask they encode (``st - mask``).

Inputs: ``x`` is the window-mean feature vector as the window set gives it; ``s`` the
sentence embedding of the window's salient-feature mask. Each window set's masks and
embeddings are computed once (:func:`represent`) and reused by every cell of the grid
(:mod:`affect_lib.experiments.lasca_protocol`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from affect_lib.lasca.features import WindowSet
from affect_lib.lasca.names import FEATURE_NAMES, N_FEATURES
from affect_lib.lasca.saliency import normalise, salient_mask
from affect_lib.lasca.semantic import Embedder, EmbeddingCache

__all__ = [
    "Variant",
    "VARIANT_SPECS",
    "VARIANTS",
    "CONTROLS",
    "Representations",
    "represent",
]


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One input of the ablation: a block of per-window values, a lexicon's sentence
    embedding, or both side by side ([block || s])."""

    name: str
    block: str | None  # field of Representations: "x", "zx" or "masks"
    lexicon: str | None  # the lexicon whose sentence embedding s is appended
    control: bool = False  # ours, not the paper's: run only when named

    def __post_init__(self) -> None:
        if self.block not in (None, "x", "zx", "masks") or not (
            self.block or self.lexicon
        ):
            raise ValueError(
                f"variant {self.name!r}: block must be 'x', 'zx', 'masks' or None "
                f"with a lexicon, got block={self.block!r}, lexicon={self.lexicon!r}"
            )


VARIANT_SPECS: Mapping[str, Variant] = MappingProxyType(
    {
        v.name: v
        for v in (
            Variant(name="features", block="x", lexicon=None),
            Variant(name="st", block=None, lexicon="affective"),
            Variant(name="fusion", block="x", lexicon="affective"),
            Variant(name="namelex", block="x", lexicon="feature_names"),
            Variant(name="zfeatures", block="zx", lexicon=None, control=True),
            Variant(name="mask", block="masks", lexicon=None, control=True),
        )
    }
)
# the paper's ablation, then ours (module docstring)
VARIANTS = tuple(n for n, v in VARIANT_SPECS.items() if not v.control)
CONTROLS = tuple(n for n, v in VARIANT_SPECS.items() if v.control)


@dataclass(frozen=True, eq=False)
class Representations:
    """One window set's inputs: ``x`` (N, 73) features, ``zx`` (N, 73) the same z-scored
    within each video, ``masks`` (N, 73) salient features and ``semantic[(encoder,
    lexicon)]`` (N, D) sentence embeddings."""

    window_s: float
    x: np.ndarray
    zx: np.ndarray
    masks: np.ndarray
    semantic: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def inputs(self, variant: str, encoder: str | None) -> np.ndarray:
        """The representation z (N, D) of ``variant``: x, s, [x || s] or a control's zx
        or mask (0 / 1)."""
        spec = VARIANT_SPECS[variant]
        parts = [getattr(self, spec.block)] if spec.block else []
        if spec.lexicon is not None:
            parts.append(self.semantic[(str(encoder), spec.lexicon)])
        return np.hstack(parts).astype(np.float32)


def represent(
    ws: WindowSet,
    encoders: Iterable[str],
    *,
    lexicons: Iterable[str] = ("affective", "feature_names"),
    mode: str = "pooled",
    cache_dir: str | Path | None = None,
    caches: dict[tuple[str, str], Embedder] | None = None,
) -> Representations:
    """Masks (per-video z-scores, Otsu) and embeddings of every window, for every
    (encoder, lexicon).

    ``caches``: reuse embedders (:mod:`affect_lib.lasca.semantic`) across window sets
    (a dict filled on demand), so masks already seen are not encoded again;
    ``cache_dir``: their disk store.
    """
    X = np.asarray(ws.X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise ValueError(
            f"window set X must be (N, {N_FEATURES}) in FEATURE_NAMES order, got "
            f"{X.shape}"
        )
    names = tuple(getattr(ws, "feature_names", FEATURE_NAMES))
    if names != FEATURE_NAMES:
        raise ValueError(
            "window set features are not in FEATURE_NAMES order "
            "(affect_lib.lasca.names)"
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
                    f"cache for {key} is in mode {caches[key].mode!r}, asked for "
                    f"{mode!r}"
                )
            semantic[key] = caches[key].embed(masks)
    return Representations(
        window_s=float(ws.window_s), x=X, zx=zx, masks=masks, semantic=semantic
    )
