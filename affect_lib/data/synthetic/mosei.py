"""SynthMOSEI: a synthetic stand-in for CMU-MOSEI with a known causal driver modality
per utterance.

Generative process (also in ``data_cards/synth_mosei.md`` and notebook 01), per
utterance i:

1. dominant emotion ``y ~ Cat(class_probs)`` with intensity in {1, 4/3, ..., 3}; every
   other emotion is also present with probability ``co_occurrence`` at a lower intensity
   (multiples of 1/3, as CMU-MOSEI's annotator averages are);
2. driver modality ``d ~ Cat(driver_mix)``; valid length ``L ~ U{min_len..seq_len}``
   (left-padded); an evidence window of ``round(window_frac·L)`` steps at a uniform
   position;
3. each modality m has orthonormal class prototypes ``P_m`` (6, k) in a k-dim affect
   subspace that a fixed orthonormal map ``W_m`` (k, D_m) embeds in its feature space.
   Per step t: ``x_m[t] = s_m · ((a_m[t] · P_m[c_m] + b_m[speaker] + u_m[t]) W_m +
   ε_m[t])`` with
   - the driver: ``c = y`` and ``a = driver_strength·g`` inside the window, 0 outside,
     plus a class-agnostic salience burst (norm ``burst_strength``, its own direction)
     in the window: the moment a face, voice or word visibly carries the emotion,
     whichever emotion it is;
   - the others: ``a = weak_strength·g`` at every valid step, where ``c = y`` or, with
     probability ``conflict_prob``, another emotion (sarcasm-like disagreement);
   - ``g = 0.5 + intensity/3`` (stronger emotions show more), ``b`` a speaker offset
     (N(0, speaker_std²), speaker-disjoint splits), ``u`` AR(1) noise (ρ = 0.8, std
     ``latent_noise``), ``ε`` i.i.d. N(0, noise_std²) and ``s_m`` the modality's raw
     scale.

Deterministic by seed: the structure (prototypes, maps, speakers) and each fixed-size
chunk of utterances draw from their own ``SeedSequence([seed, ...])`` stream, so the
result does not depend on how many threads fill the chunks.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from affect_lib.config import DataConfig
from affect_lib.data.corpus import MultimodalCorpus
from affect_lib.schema import EMOTIONS, MODALITIES

__all__ = ["SPLITS", "generate_synth_mosei"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
# utterances per random stream; part of the definition of the data: never change it
_CHUNK = 256
_AR_RHO = 0.8


def _orthonormal_rows(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) with orthonormal rows (rows <= cols)."""
    q, r = np.linalg.qr(rng.standard_normal((cols, rows)))
    return (q * np.sign(np.diag(r))).T  # sign fix makes QR unique, hence reproducible


class _Structure:
    """Fixed parts of the generative process: prototypes, maps, speakers and their
    splits."""

    def __init__(self, cfg: DataConfig, seed: int) -> None:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
        k = cfg.latent_rank
        # 6 class prototypes + 1 class-agnostic "salience burst" direction, all
        # orthonormal
        basis = [
            _orthonormal_rows(rng, len(EMOTIONS) + 1, k).astype(np.float32)
            for _ in MODALITIES
        ]
        self.prototypes = [b[:-1] for b in basis]
        self.bursts = [b[-1] for b in basis]
        self.maps = [
            _orthonormal_rows(rng, k, cfg.dims[m]).astype(np.float32)
            for m in MODALITIES
        ]
        self.speaker_offsets = (
            rng.standard_normal((cfg.n_speakers, len(MODALITIES), k)) * cfg.speaker_std
        ).astype(np.float32)
        sizes = np.array([cfg.n_train, cfg.n_val, cfg.n_test], dtype=float)
        counts = np.maximum(
            1, np.round(cfg.n_speakers * sizes / sizes.sum()).astype(int)
        )
        counts[0] = cfg.n_speakers - counts[1:].sum()
        if counts[0] < 1:
            raise ValueError(
                f"n_speakers={cfg.n_speakers} is too small for three speaker-disjoint "
                f"splits"
            )
        order = rng.permutation(cfg.n_speakers)
        bounds = np.cumsum(counts)[:-1]
        self.split_speakers = dict(zip(SPLITS, np.split(order, bounds), strict=True))


def _fill_chunk(
    cfg: DataConfig,
    st: _Structure,
    seed: int,
    chunk: int,
    speaker: np.ndarray,
    out: dict[str, np.ndarray],
) -> None:
    """Generate utterances [chunk*_CHUNK, ...) in place into ``out``."""
    lo = chunk * _CHUNK
    hi = min(lo + _CHUNK, speaker.shape[0])
    n, T, k = hi - lo, cfg.seq_len, cfg.latent_rank
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, chunk]))
    rows = np.arange(n)

    y = rng.choice(len(EMOTIONS), size=n, p=cfg.class_probs)
    dom_thirds = rng.integers(3, 10, size=n)  # dominant intensity 1..3 in thirds
    present = rng.random((n, len(EMOTIONS))) < cfg.co_occurrence
    # strictly below dominant
    sec_thirds = rng.integers(1, dom_thirds[:, None], size=(n, len(EMOTIONS)))
    emotions = np.where(present, sec_thirds, 0).astype(np.float32) / 3
    emotions[rows, y] = dom_thirds / 3
    driver = rng.choice(len(MODALITIES), size=n, p=cfg.driver_mix)
    length = rng.integers(cfg.min_len, T + 1, size=n)
    first_valid = T - length
    width = np.clip(np.round(cfg.window_frac * length).astype(int), 2, length)
    win_start = first_valid + np.floor(rng.random(n) * (length - width + 1)).astype(int)
    conflict = rng.random((n, len(MODALITIES))) < cfg.conflict_prob
    conflict[rows, driver] = False
    other = (
        y[:, None] + rng.integers(1, len(EMOTIONS), size=(n, len(MODALITIES)))
    ) % len(EMOTIONS)
    cue_class = np.where(conflict, other, y[:, None])
    gain = (0.5 + emotions[rows, y] / 3).astype(np.float32)

    t = np.arange(T)
    valid = t[None, :] >= first_valid[:, None]
    in_window = (t[None, :] >= win_start[:, None]) & (
        t[None, :] < (win_start + width)[:, None]
    )
    spk = speaker[lo:hi]
    for m, name in enumerate(MODALITIES):
        is_driver = (driver == m)[:, None]
        amp = (
            np.where(
                is_driver, cfg.driver_strength * in_window, cfg.weak_strength * valid
            )
            * gain[:, None]
        )
        latent = (
            amp[:, :, None].astype(np.float32)
            * st.prototypes[m][cue_class[:, m]][:, None, :]
        )
        burst = (cfg.burst_strength * (is_driver & in_window)).astype(np.float32)
        latent += burst[:, :, None] * st.bursts[m]
        latent += st.speaker_offsets[spk, m][:, None, :]
        ar = rng.standard_normal((n, k), dtype=np.float32) * cfg.latent_noise
        innovation = np.float32(np.sqrt(1 - _AR_RHO**2) * cfg.latent_noise)
        for step in range(T):
            if step:
                ar = _AR_RHO * ar + innovation * rng.standard_normal(
                    (n, k), dtype=np.float32
                )
            latent[:, step] += ar
        x = latent @ st.maps[m]
        x += np.float32(cfg.noise_std) * rng.standard_normal(x.shape, dtype=np.float32)
        x *= np.float32(cfg.modality_scale[m])
        x[~valid] = 0.0
        out[name][lo:hi] = x

    out["mask"][lo:hi] = valid
    out["label"][lo:hi] = y
    out["emotions"][lo:hi] = emotions
    out["driver"][lo:hi] = driver
    out["window"][lo:hi] = np.stack([win_start, win_start + width], axis=1)
    out["conflict"][lo:hi] = conflict


def generate_synth_mosei(
    cfg: DataConfig, seed: int, *, workers: int | None = None
) -> dict[str, MultimodalCorpus]:
    """Generate the ``train``/``val``/``test`` SynthMOSEI corpora (speaker-disjoint).

    ``workers`` threads fill fixed-size chunks (default: all cores); the output is
    identical for any number of workers.
    """
    st = _Structure(cfg, seed)
    sizes = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    n, T = sum(sizes.values()), cfg.seq_len
    assign = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    speaker = np.concatenate(
        [assign.choice(st.split_speakers[s], size=sizes[s]) for s in SPLITS]
    )
    out = {m: np.empty((n, T, d), dtype=np.float32) for m, d in cfg.dims.items()}
    out |= {
        "mask": np.empty((n, T), bool),
        "label": np.empty(n, np.int64),
        "emotions": np.empty((n, len(EMOTIONS)), np.float32),
        "driver": np.empty(n, np.int64),
        "window": np.empty((n, 2), np.int64),
        "conflict": np.empty((n, len(MODALITIES)), bool),
    }
    n_chunks = -(-n // _CHUNK)
    workers = workers or min(os.cpu_count() or 1, 8)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(
            pool.map(
                lambda c: _fill_chunk(cfg, st, seed, c, speaker, out), range(n_chunks)
            )
        )

    ids = tuple(f"synth_s{s:04d}_u{i:06d}" for i, s in enumerate(speaker))
    corpora, lo = {}, 0
    for split in SPLITS:
        sl = slice(lo, lo + sizes[split])
        corpora[split] = MultimodalCorpus(
            **{k: v[sl] for k, v in out.items()},
            speaker=speaker[sl].astype(np.int64),
            ids=ids[sl],
        )
        lo += sizes[split]
    return corpora
