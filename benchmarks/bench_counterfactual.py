"""DDIM vs full DDPM counterfactual generation (claim: >= 15x faster at validity within
2 points).

    .venv/bin/python benchmarks/bench_counterfactual.py [--n 600] [--t-start 850] \\
        [--ddim-steps 20] [--eta 1]

Uses notebook 03's checkpoint (``_build/runs/book/affect_diff/checkpoints/best.ckpt``),
training it first when it is missing. Both samplers edit the same utterances toward the
same random other emotions, from the same noised latents (``t_start``), in one process.

By default every test utterance is edited (600 in the book profile): the validity gap is
a difference of two shares, and on 200 utterances its sampling noise alone is about 1.7
points, so a 2-point budget would pass or fail by chance (measured on one checkpoint: a
gap of 2.5 points on the first 200 utterances, 0.2 points on all 600). The JSON also
gives the gap's 95 % interval, paired over utterances.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, report  # noqa: E402

from affect_lib.affect_diff.counterfactual import counterfactual  # noqa: E402
from affect_lib.affect_diff.module import load_affect_diff  # noqa: E402
from affect_lib.affect_diff.train import train_affect_diff  # noqa: E402
from affect_lib.config import load_profile  # noqa: E402
from affect_lib.data.datamodule import build_datamodule  # noqa: E402
from affect_lib.eval.explanations import validity  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--n", type=int, default=None, help="test utterances edited (default: all)"
    )
    parser.add_argument("--t-start", type=int, default=850)
    parser.add_argument("--ddim-steps", type=int, default=20)
    parser.add_argument(
        "--eta",
        type=float,
        default=1.0,
        help="DDIM noise level (1: DDPM's posterior variance)",
    )
    parser.add_argument("--cfg-scale", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="_build/bench/counterfactual.json")
    args = parser.parse_args()
    cfg = load_profile("book", device="cpu")
    dm = build_datamodule(cfg)
    ckpt = cfg.run_path / "affect_diff" / "checkpoints" / "best.ckpt"
    if not ckpt.is_file():
        print(f"{ckpt} missing: training it as notebook 03 does ...")
        train_affect_diff(cfg, dm)
    model = load_affect_diff(ckpt, cfg)
    test = dm.datasets["test"]
    n = len(test) if args.n is None else args.n
    if not 1 <= n <= len(test):
        parser.error(f"--n must be in 1..{len(test)} (the test split), got {n}")
    batch = test.__getitems__(list(range(n)))
    rng = np.random.default_rng(0)
    target = torch.as_tensor((batch["label"].numpy() + rng.integers(1, 6, n)) % 6)

    def run(sampler: str):
        return counterfactual(
            model,
            batch,
            target,
            cfg_scale=args.cfg_scale,
            t_start=args.t_start,
            steps=args.ddim_steps,
            eta=args.eta,
            sampler=sampler,
            generator=torch.Generator().manual_seed(0),
        )

    t_ddim, cf_ddim = best_time(lambda: run("ddim"), args.repeats)
    t_ddpm, cf_ddpm = best_time(lambda: run("ddpm"), 1)
    v_ddim, v_ddpm = (
        validity(cf_ddim.pred_after.numpy(), target.numpy()),
        validity(cf_ddpm.pred_after.numpy(), target.numpy()),
    )
    # paired per utterance: d = DDPM hit - DDIM hit in {-1, 0, 1}; normal interval of
    # its mean
    d = (cf_ddpm.pred_after == target).numpy().astype(float) - (
        cf_ddim.pred_after == target
    ).numpy()
    half = 1.96 * d.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    interval = [round(d.mean() - half, 4), round(d.mean() + half, 4)]
    print(
        f"validity gap DDPM - DDIM: {d.mean():+.4f}, 95 % interval {interval[0]:+.4f} "
        f".. {interval[1]:+.4f} (n = {n})"
    )
    rows = [
        {
            "sampler": f"DDIM ({args.ddim_steps} steps)",
            "seconds": t_ddim,
            "validity": v_ddim,
        },
        {
            "sampler": f"DDPM ({args.t_start + 1} steps)",
            "seconds": t_ddpm,
            "validity": v_ddpm,
        },
    ]
    return report(
        "counterfactual_ddim_vs_ddpm",
        args.out,
        rows,
        {
            "DDIM speedup over DDPM": (t_ddpm / t_ddim, ">=", 15.0),
            "validity gap |DDPM - DDIM|": (abs(v_ddpm - v_ddim), "<=", 0.02),
        },
        extra={
            "t_start": args.t_start,
            "cfg_scale": args.cfg_scale,
            "eta": args.eta,
            "n": n,
            "validity_gap_ddpm_minus_ddim_ci95": interval,
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
