"""Torch views of a :class:`MultimodalCorpus` and the LightningDataModule of the book.

Batch contract (DESIGN.md): ``text`` (B,T,Dt), ``audio`` (B,T,Da), ``video`` (B,T,Dv)
float32; ``mask`` (B,T) bool; ``label`` (B,) int64; ``emotions`` (B,6) float32;
``driver`` (B,) int64 (-1 unknown); ``id`` list of str.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from affect_lib.config import RunConfig
from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.data.synthetic.mosei import SPLITS, generate_synth_mosei
from affect_lib.schema import MODALITIES

__all__ = [
    "CorpusDataset",
    "EpochShuffleSampler",
    "AffectDataModule",
    "build_datamodule",
]

Batch = dict[str, Any]


class CorpusDataset(Dataset):
    """Map-style dataset over a corpus; ``__getitems__`` gathers a whole batch in one
    indexing op."""

    def __init__(self, corpus: MultimodalCorpus) -> None:
        self.corpus = corpus
        self._tensors = {
            name: torch.from_numpy(np.ascontiguousarray(getattr(corpus, name)))
            for name in (*MODALITIES, "mask", "label", "emotions", "driver")
        }

    def __len__(self) -> int:
        return len(self.corpus)

    def __getitem__(self, index: int) -> Batch:
        return {k: v[index] for k, v in self._tensors.items()} | {
            "id": self.corpus.ids[index]
        }

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {k: v[idx] for k, v in self._tensors.items()} | {
            "id": [self.corpus.ids[i] for i in indices]
        }


class EpochShuffleSampler(Sampler[int]):
    """A random permutation that depends only on (seed, epoch): a run resumed at epoch k
    sees the same order as an uninterrupted one. Trainers call :meth:`set_epoch`
    (Lightning does it itself)."""

    def __init__(self, n: int, *, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=gen).tolist())


def _identity(batch: Batch) -> Batch:
    return batch  # __getitems__ already built the batch


class AffectDataModule(L.LightningDataModule):
    """Train/val/test loaders over given corpora; shuffling is seeded, so epochs are
    reproducible."""

    def __init__(
        self,
        corpora: dict[str, MultimodalCorpus],
        *,
        batch_size: int,
        seed: int,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        missing = [s for s in SPLITS if s not in corpora]
        if missing:
            raise ValueError(
                f"AffectDataModule: missing split(s) {missing}; expected {list(SPLITS)}"
            )
        self.corpora = corpora
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.datasets = {s: CorpusDataset(c) for s, c in corpora.items()}

    @property
    def dims(self) -> dict[str, int]:
        return self.corpora["train"].dims

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        sampler = (
            EpochShuffleSampler(len(self.datasets[split]), seed=self.seed)
            if shuffle
            else None
        )
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            sampler=sampler,
            collate_fn=_identity,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


def build_datamodule(cfg: RunConfig) -> AffectDataModule:
    """The data of a run: SynthMOSEI by default, or CMU-MOSEI's released ``.csd`` files
    from ``data_dir`` (aligned to the labelled segments, standard folds; see
    ``data_cards/cmu_mosei.md``)."""
    if cfg.data_source == "cmu_mosei":
        from affect_lib.data.mosei.dataset import load_mosei

        # optional: overrides CMU-MOSEI's standard folds
        folds = Path(cfg.data_dir) / "folds.json"
        corpora = load_mosei(
            cfg.data_dir,
            seq_len=cfg.data.seq_len,
            folds=folds if folds.is_file() else None,
        )
    elif cfg.data_source == "synthetic":
        corpora = generate_synth_mosei(cfg.data, cfg.seed)
    else:  # load_profile only admits the sources above
        raise ValueError(
            f"data_source {cfg.data_source!r} is not available; valid: synthetic, "
            f"cmu_mosei"
        )
    return AffectDataModule(
        corpora,
        batch_size=cfg.data.batch_size,
        seed=cfg.seed,
        num_workers=cfg.data.num_workers,
    )
