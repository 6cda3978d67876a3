"""How much sentiment does each modality of a real CMU-MOSEI copy carry? A linear
baseline.

SynthMOSEI has no sentiment, so no chapter scores it; this script does, on your own copy
of CMU-MOSEI, read either from the CMU-MultimodalSDK computational sequences or from an
MMSA pickle. It fits one standardised ridge probe per modality (and one on all three) on
features mean-pooled over each segment's valid steps, picks the strength on the
validation split, and prints MMSA's metrics on the test split
(:mod:`affect_lib.eval.sentiment`). Examples::

    .venv/bin/python scripts/sentiment_probe.py --mosei /data/CMU_MOSEI --seq-len 50
    .venv/bin/python scripts/sentiment_probe.py --mmsa /data/MOSEI/aligned_50.pkl \\
        --sha256 <hex>

An MMSA pickle can run code when it is opened, so it is read only with its SHA-256 (as
:func:`affect_lib.data.mosei.mmsa.load_mmsa` requires). CMU-MOSEI segments without
emotion labels are kept (``no_emotion="keep"``): they have a sentiment. Results go to
``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from affect_lib.eval.sentiment import probe_sentiment_modalities
from affect_lib.io import write_json


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--mosei", type=Path, help="folder of the CMU-MultimodalSDK .csd files"
    )
    source.add_argument(
        "--mmsa", type=Path, help="an MMSA pickle (aligned_50.pkl or unaligned_50.pkl)"
    )
    ap.add_argument("--sha256", help="the MMSA pickle's SHA-256 (required with --mmsa)")
    ap.add_argument(
        "--seq-len",
        type=int,
        default=50,
        help="steps per segment for --mosei (the SDK keeps the last)",
    )
    ap.add_argument(
        "--folds",
        type=Path,
        help="JSON of train/valid/test video ids for --mosei (default: the SDK's)",
    )
    ap.add_argument("--out", type=Path, default=Path("_build/sentiment_probe.json"))
    args = ap.parse_args(argv)

    start = time.perf_counter()
    if args.mmsa is not None:
        if not args.sha256:
            ap.error(
                "--mmsa needs --sha256: a pickle runs code when opened, so only a "
                "verified file is read"
            )
        from affect_lib.data.mosei.mmsa import load_mmsa

        data = load_mmsa(args.mmsa, trust_pickle=True, sha256=args.sha256)
        source_name = f"MMSA {args.mmsa.name}"
    else:
        from affect_lib.data.mosei.dataset import align_mosei

        data = align_mosei(
            args.mosei, seq_len=args.seq_len, folds=args.folds, no_emotion="keep"
        )
        source_name = f"CMU-MOSEI {args.mosei} (seq_len {args.seq_len})"
    sizes = {s: len(c.ids) for s, c in data.corpora.items()}
    print(
        f"{source_name}: {sizes['train']} train, {sizes['val']} val, {sizes['test']} "
        f"test segments"
    )
    probes = probe_sentiment_modalities(data.corpora, data.sentiment)
    table = pd.DataFrame(
        {m: {"alpha": p.alpha, **p.scores.as_dict()} for m, p in probes.items()}
    ).T
    table = table.astype({"n": int, "n_nonzero": int})
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"{time.perf_counter() - start:.1f} s")
    write_json(
        args.out,
        {
            "source": source_name,
            "segments": sizes,
            "probes": {
                m: {
                    "alpha": p.alpha,
                    "val_mae": {str(a): v for a, v in p.val_mae.items()},
                    **p.scores.as_dict(),
                }
                for m, p in probes.items()
            },
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
