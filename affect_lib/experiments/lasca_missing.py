"""The protocol's test windows with feature channels missing (issue #30, experiment
4): a ``test_view`` for :func:`~affect_lib.experiments.lasca_protocol.run_protocol`.

Each test video loses ``fraction`` of its 73 channels
(:func:`~affect_lib.lasca.missing.missing_channels`). Test windows are then represented
as the chapter's pipeline would see them: the semantic path recomputes per-video
z-scores and Otsu masks from the channels present (NaN ignored) and embeds the new
masks; the raw-feature path imputes a missing value with the channel's mean over the
split's training windows (:mod:`affect_lib.lasca.missing`); the ``zfeatures`` control
gets 0, its video's mean in z units. Training windows keep their clean representations.
Nothing non-finite leaves the view: a NaN never reaches a learner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from affect_lib.experiments.lasca_representations import Representations
from affect_lib.lasca.features import WindowSet
from affect_lib.lasca.missing import channel_means, impute, missing_channels
from affect_lib.lasca.saliency import normalise, salient_mask
from affect_lib.lasca.semantic import Embedder

__all__ = ["MissingChannels"]


@dataclass(frozen=True, eq=False)
class MissingChannels:
    """A ``test_view``: ``fraction`` of the channels missing per test video, drawn with
    ``seed``; ``caches``: the protocol's embedders (the dict passed to
    ``run_protocol``), which encode the test windows' new masks."""

    fraction: float
    seed: int
    caches: dict[tuple[str, str], Embedder]

    def __post_init__(self) -> None:
        missing_channels(np.array(["check"]), self.fraction, self.seed)  # validates

    def __call__(
        self,
        ws: WindowSet,
        rep: Representations,
        train_rows: np.ndarray,
        test_rows: np.ndarray,
    ) -> Representations:
        """Representations (N, .) of ``ws`` with the test rows degraded; other rows
        as in ``rep``."""
        test = np.asarray(test_rows, dtype=bool)
        missing = missing_channels(ws.video, self.fraction, self.seed) & test[:, None]
        z = normalise(
            np.where(missing, np.nan, rep.x)[test], np.asarray(ws.video)[test]
        )
        masks, zx = rep.masks.copy(), rep.zx.copy()
        masks[test] = salient_mask(z)  # Otsu over the channels present
        zx[test] = np.nan_to_num(z, nan=0.0)
        x = impute(rep.x, missing, channel_means(rep.x, train_rows))
        semantic = {}
        for key, emb in rep.semantic.items():
            semantic[key] = emb.copy()
            semantic[key][test] = self.caches[key].embed(masks[test])
        out = replace(rep, x=x, zx=zx, masks=masks, semantic=semantic)
        for name, values in (("x", x), ("zx", zx), *semantic.items()):
            if not np.isfinite(values).all():
                raise ValueError(f"MissingChannels: non-finite {name} after imputation")
        return out
