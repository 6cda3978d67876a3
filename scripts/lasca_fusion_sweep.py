"""How much does LaScA's fusion add over features and over the sentence embedding,
across data draws?

Chapter 5 reports one SynthAffWild draw (the ``seed`` parameter) and checks its headline
cells over ``gap_draws`` draws. This script runs that check
(:mod:`affect_lib.experiments.lasca_draws`) for any cell (default: arousal, 5 s windows,
tau 20 %, the default encoder), data size, learner setting and generator setting. It
prints the gaps ``fusion - features`` and ``fusion - st`` per draw and their mean with a
95 % interval, and the same for the chapter's controls (``zfeatures - features``,
``zfeatures - fusion``; along the semantic path ``mask - zfeatures`` and ``st - mask``).
Examples::

    SWEEP=".venv/bin/python scripts/lasca_fusion_sweep.py"
    $SWEEP --data-seeds 0-5
    $SWEEP --data-seeds 0-5 -p n_subjects 24 -p video_seconds 80
    $SWEEP --data-seeds 0-3 -g base_std 2.2 -g gain_std 1.0
    $SWEEP --data-seeds 0-7 -p mlp_batch_size 200
    $SWEEP --data-seeds 0-7 --signal-scale 0.25

``-p`` sets a config key of the ``book`` profile (as the notebooks' parameters do),
``-g`` a field of :class:`affect_lib.data.synthetic.affwild_spec.SynthAffWildParams`.
``--signal-scale`` multiplies every affect-to-cue strength of the generator that is a
parameter (``SIGNAL_FIELDS``: the face and head-pose weights, loudness, f0, brightness
and talk turns; the syllable rate's fixed 0.35 octaves per unit arousal is not one),
after ``-g``: how much the semantic side helps when the features carry less. Windows are
cached under ``--cache`` (one folder per setting); results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from pathlib import Path

import pandas as pd

from affect_lib.config import load_profile
from affect_lib.data.synthetic.affwild_spec import SynthAffWildParams
from affect_lib.experiments.lasca_draws import cell_over_draws, gap_summary
from affect_lib.experiments.lasca_representations import CONTROLS, VARIANTS
from affect_lib.io import write_json
from affect_lib.lasca.embedding_store import embedding_cache_dir
from affect_lib.publish.cli import parse_value

# SynthAffWildParams fields that set how strongly affect moves a cue (logits, dB,
# semitones per unit affect)
SIGNAL_FIELDS = (
    "cue_gain",
    "loudness_db",
    "f0_semitones",
    "tilt_arousal",
    "tilt_valence",
    "turn_arousal",
)


def _seeds(text: str) -> list[int]:
    """``"0-5"`` or ``"0,2,7"`` -> seeds."""
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-seeds", type=_seeds, default=_seeds("0-3"))
    ap.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="config key",
    )
    ap.add_argument(
        "-g",
        nargs=2,
        action="append",
        default=[],
        metavar=("FIELD", "VALUE"),
        help="SynthAffWildParams field",
    )
    ap.add_argument(
        "--signal-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply the SIGNAL_FIELDS of the generator by F >= 0 (after -g)",
    )
    ap.add_argument("--target", default="arousal", choices=("arousal", "valence"))
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--tau", type=float, default=0.2)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path("_build/lasca_sweep"))
    ap.add_argument("--out", type=Path, default=Path("_build/lasca_sweep/results.json"))
    args = ap.parse_args(argv)

    overrides = {k: parse_value(v) for k, v in args.p}
    gen = {
        k: tuple(v) if isinstance(v := parse_value(raw), list) else v
        for k, raw in args.g
    }
    # unknown fields and bad values fail here, with the field's name
    params = SynthAffWildParams(**gen)
    # a negative or non-finite scale fails in SynthAffWildParams, naming a field
    if args.signal_scale != 1.0:
        params = dataclasses.replace(
            params, **{f: getattr(params, f) * args.signal_scale for f in SIGNAL_FIELDS}
        )
    tag = hashlib.sha256(
        json.dumps(
            [overrides, dataclasses.asdict(params)], sort_keys=True, default=str
        ).encode()
    ).hexdigest()[:10]
    cfg = load_profile("book", **overrides)
    if args.window not in cfg.lasca.windows_s:
        ap.error(
            f"--window {args.window:g} is not one of windows_s {cfg.lasca.windows_s}"
        )
    start = time.perf_counter()
    draws = cell_over_draws(
        cfg.lasca,
        args.data_seeds,
        args.cache / tag,
        targets=(args.target,),
        window_s=args.window,
        tau=args.tau,
        variants=VARIANTS + CONTROLS,
        params=params,
        embedding_dir=embedding_cache_dir(),
        n_jobs=args.n_jobs,
    )
    for row in draws.itertuples(index=False):
        print(
            f"data seed {row.data_seed}: "
            + "  ".join(f"{v} {getattr(row, v):.3f}" for v in VARIANTS + CONTROLS)
            + f"  | fusion-features {row.fusion - row.features:+.3f}  fusion-st "
            f"{row.fusion - row.st:+.3f}"
            f"  ({row.test_pairs:.0f} test pairs per split)"
        )
    means = draws[list(VARIANTS + CONTROLS)].mean()
    print(
        f"mean over {len(draws)} draws: "
        + "  ".join(f"{v} {means[v]:.3f}" for v in VARIANTS + CONTROLS)
    )
    gaps = gap_summary(draws)
    control = pd.concat(
        [
            # chapter 5's controls
            gap_summary(draws, of="zfeatures", over=("features", "fusion")),
            gap_summary(draws, of="mask", over=("zfeatures",)),
            gap_summary(draws, of="st", over=("mask",)),
        ]
    )
    for (_, name), g in pd.concat([gaps, control]).iterrows():
        print(
            f"{name}: mean {g['mean']:+.3f}, 95 % interval {g['ci_low']:+.3f} to "
            f"{g['ci_high']:+.3f} "
            f"over {g['draws']:.0f} draws ({g['positive']:.0%} positive)"
        )
    print(f"{time.perf_counter() - start:.0f} s")
    write_json(
        args.out,
        {
            "cell": {"target": args.target, "window_s": args.window, "tau": args.tau},
            "overrides": overrides,
            "generator": gen,
            "signal_scale": args.signal_scale,
            "params": dataclasses.asdict(params),
            "draws": draws.to_dict(orient="records"),
            "gaps": gaps.reset_index().to_dict(orient="records"),
            "control": control.reset_index().to_dict(orient="records"),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
