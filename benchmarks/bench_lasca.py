"""LaScA featurisation and inference on CPU (budgets: warm cache >= 100x faster, < 1 ms
per window).

    .venv/bin/python benchmarks/bench_lasca.py [--repeats 3] [--sample 32] \\
        [--encoders minilm,mpnet] [--out _build/bench/lasca.json]

(a) Featurising a window set (per-video z-scores -> Otsu masks -> sentence embeddings),
    side by side: encoding every window's template text (the cost without a cache, timed
    on ``--sample`` windows and reported per window), the warm embedding cache (memory,
    and a fresh cache object reading its disk store), and the pooled mode from cold.
    Also the encoders' sentences/s on template texts.
(b) Per-window inference latency: raw features of one window -> z-scores with its
    video's statistics -> Otsu mask -> cached embedding -> fused delta to the previous
    window -> P(increase), with the numpy forward pass (:class:`PairScorer`) and with
    scikit-learn's ``predict_proba``.

Windows: SynthAffWild at the ``book`` profile (3 s windows) from
``affect_lib.lasca.folders`` when importable, otherwise a WindowSet-shaped toy of the
same size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, report  # noqa: E402

from affect_lib.config import load_profile  # noqa: E402
from affect_lib.experiments.lasca_toy import toy_window_set  # noqa: E402
from affect_lib.lasca.encoders import load_encoder  # noqa: E402
from affect_lib.lasca.pairs import pair_deltas, preference_pairs  # noqa: E402
from affect_lib.lasca.preference import (  # noqa: E402
    PairScorer,
    fit_preference,
    trainable_parameters,
)
from affect_lib.lasca.saliency import normalise, salient_mask, standardise, video_stats  # noqa: E402
from affect_lib.lasca.semantic import Embedder, EmbeddingCache  # noqa: E402
from affect_lib.lasca.template import describe_many  # noqa: E402
from affect_lib.paths import project_root  # noqa: E402

SPEEDUP_BUDGET = 100.0
LATENCY_BUDGET_MS = 1.0


def window_set(window_s: float):
    cfg = load_profile("book").lasca
    try:
        from affect_lib.lasca.folders import synth_affwild_windows
    except ImportError:
        return toy_window_set(
            n_subjects=cfg.n_subjects,
            videos_per_subject=cfg.videos_per_subject,
            windows_per_video=int(cfg.video_seconds // window_s),
            window_s=window_s,
        ), "toy"
    cache = project_root() / "_build" / "bench" / "lasca_data"
    return synth_affwild_windows(cfg, 0, window_s, cache), "SynthAffWild (book profile)"


def featurise(ws, cache: Embedder) -> np.ndarray:
    return cache.embed(salient_mask(normalise(ws.X, ws.video)))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--sample", type=int, default=32, help="windows encoded cold per encoder"
    )
    parser.add_argument("--encoders", default="minilm,mpnet")
    parser.add_argument("--out", default="_build/bench/lasca.json")
    args = parser.parse_args()
    encoders = [e for e in args.encoders.split(",") if e]
    ws, source = window_set(3.0)
    n = len(ws.X)
    masks = salient_mask(normalise(ws.X, ws.video))
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, size=min(args.sample, n), replace=False))
    rows, extra = (
        [],
        {
            "windows": n,
            "source": source,
            "mean_salient_features": float(masks.sum(1).mean()),
            "encoder_sentences_per_s": {},
        },
    )
    store = Path(tempfile.mkdtemp(prefix="lasca-bench-"))
    per_window = {}
    for enc in encoders:
        model = load_encoder(enc)
        texts = describe_many(
            masks[sample], EmbeddingCache(encoder=enc, model=model).lexicon
        )
        model.encode(texts[:4], batch_size=32, normalize_embeddings=True)  # warm-up
        t_cold, _ = best_time(
            lambda m=model, t=texts: m.encode(
                t, batch_size=32, normalize_embeddings=True
            ),
            1,
        )
        per_window[enc] = t_cold / len(texts)
        rows.append(
            {
                "contender": f"{enc}: encode every window",
                "ms_per_window": 1e3 * per_window[enc],
                "windows_per_s": 1 / per_window[enc],
                "speedup": 1.0,
            }
        )
        # warm memory cache: every mask present (filled once, outside the timing)
        cache = EmbeddingCache(encoder=enc, model=model, cache_dir=store / enc)
        cache.embed(masks)
        t_warm, _ = best_time(lambda c=cache: featurise(ws, c), args.repeats)
        rows.append(
            {
                "contender": f"{enc}: warm cache (memory)",
                "ms_per_window": 1e3 * t_warm / n,
                "windows_per_s": n / t_warm,
                "speedup": per_window[enc] / (t_warm / n),
            }
        )
        t_disk, _ = best_time(
            lambda e=enc, m=model: featurise(
                ws, EmbeddingCache(encoder=e, model=m, cache_dir=store / e)
            ),
            args.repeats,
        )
        rows.append(
            {
                "contender": f"{enc}: warm cache (disk)",
                "ms_per_window": 1e3 * t_disk / n,
                "windows_per_s": n / t_disk,
                "speedup": per_window[enc] / (t_disk / n),
            }
        )
        # cold: encodes the 73 one-cue texts + the no-cue text
        t_pool, _ = best_time(
            lambda e=enc, m=model: featurise(
                ws, EmbeddingCache(encoder=e, mode="pooled", model=m)
            ),
            1,
        )
        extra["encoder_sentences_per_s"][enc] = {
            "template_texts_128_tokens": len(texts) / t_cold,
            "one_cue_texts": 74 / t_pool,
        }
        rows.append(
            {
                "contender": f"{enc}: pooled, cold",
                "ms_per_window": 1e3 * t_pool / n,
                "windows_per_s": n / t_pool,
                "speedup": per_window[enc] / (t_pool / n),
            }
        )
        extra[f"template_mode_cold_estimate_s_{enc}"] = per_window[enc] * len(
            {m.tobytes() for m in masks}
        )
        if enc == encoders[0]:
            extra["speedup_memory"], extra["speedup_disk"] = (
                per_window[enc] / (t_warm / n),
                per_window[enc] / (t_disk / n),
            )

    # (b) single-window inference with the first encoder, fusion variant, arousal, tau
    #     0.1
    enc = encoders[0]
    cache = EmbeddingCache(encoder=enc, model=load_encoder(enc), cache_dir=store / enc)
    S = cache.embed(masks)
    Z = np.hstack([ws.X, S])
    cfg = load_profile("book").lasca
    pairs = preference_pairs(ws.arousal, ws.video, ws.index, 0.1)
    model = fit_preference(
        pair_deltas(Z, pairs),
        pairs.label,
        hidden=cfg.hidden,
        alpha=cfg.alpha,
        max_iter=cfg.max_iter,
        n_iter_no_change=cfg.n_iter_no_change,
        batch_size=cfg.mlp_batch_size,
        seed=0,
    )
    scorer = PairScorer(model)
    extra["mlp_parameters_fusion"] = trainable_parameters(model)
    stats = video_stats(ws.X, ws.video)
    j = int(pairs.second[0])
    mean, std = stats[str(ws.video[j])]
    z_prev = Z[int(pairs.first[0])]
    x = ws.X[j]

    def infer_fast() -> float:
        mask = salient_mask(standardise(x, mean, std))
        z = np.concatenate([x, cache.lookup(mask)])
        return scorer.proba(z - z_prev)

    def infer_sklearn() -> float:
        mask = salient_mask(standardise(x, mean, std))
        z = np.concatenate([x, cache.lookup(mask)])
        return float(model.predict_proba((z - z_prev)[None].astype(np.float32))[0, 1])

    assert abs(infer_fast() - infer_sklearn()) < 1e-5
    reps = 2000
    for name, fn in (
        ("numpy forward", infer_fast),
        ("sklearn predict_proba", infer_sklearn),
    ):
        t, _ = best_time(lambda f=fn: [f() for _ in range(reps)], args.repeats)
        rows.append(
            {
                "contender": f"inference: {name}",
                "ms_per_window": 1e3 * t / reps,
                "windows_per_s": reps / t,
                "speedup": float("nan"),
            }
        )
        extra[f"latency_ms_{name.split()[0]}"] = 1e3 * t / reps
    shutil.rmtree(store, ignore_errors=True)
    checks = {
        f"warm-cache featurisation speed-up vs encoding every window ({encoders[0]})": (
            extra["speedup_disk"],
            ">=",
            SPEEDUP_BUDGET,
        ),
        "per-window inference latency ms (features -> mask -> cached embedding -> "
        "MLP)": (
            extra["latency_ms_numpy"],
            "<=",
            LATENCY_BUDGET_MS,
        ),
    }
    extra["cpu_count"] = os.cpu_count()
    extra["note"] = (
        "encoding rates are timed on --sample windows; warm-cache rates on the whole "
        "window set"
    )
    print(
        f"{n} windows from {source}; {extra['mean_salient_features']:.1f} salient "
        f"features per window"
    )
    for enc, r in extra["encoder_sentences_per_s"].items():
        print(
            f"{enc}: {r['template_texts_128_tokens']:.1f} template texts/s, "
            f"{r['one_cue_texts']:.1f} one-cue texts/s"
        )
    return report("lasca_featurisation_inference", args.out, rows, checks, extra=extra)


if __name__ == "__main__":
    raise SystemExit(main())
