"""DDIM vs full DDPM counterfactual generation (claim: >= 15x faster at validity within 2 points).

    .venv/bin/python benchmarks/bench_counterfactual.py [--n 200] [--t-start 850] [--ddim-steps 20] [--eta 1]

Uses notebook 03's checkpoint (``_build/runs/book/affect_diff/checkpoints/best.ckpt``), training
it first when it is missing. Both samplers edit the same utterances toward the same random other
emotions, from the same noised latents (``t_start``), in one process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, report  # noqa: E402

from affect_lib.config import load_profile  # noqa: E402
from affect_lib.data.datamodule import build_datamodule  # noqa: E402
from affect_lib.explain.counterfactual import counterfactual  # noqa: E402
from affect_lib.explain.metrics import validity  # noqa: E402
from affect_lib.modules.affect_diff_module import load_affect_diff  # noqa: E402
from affect_lib.modules.train import train_affect_diff  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="test utterances edited")
    parser.add_argument("--t-start", type=int, default=850)
    parser.add_argument("--ddim-steps", type=int, default=20)
    parser.add_argument("--eta", type=float, default=1.0, help="DDIM noise level (1: DDPM's posterior variance)")
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
    batch = dm.datasets["test"].__getitems__(list(range(args.n)))
    rng = np.random.default_rng(0)
    target = torch.as_tensor((batch["label"].numpy() + rng.integers(1, 6, args.n)) % 6)

    def run(sampler: str):
        return counterfactual(model, batch, target, cfg_scale=args.cfg_scale, t_start=args.t_start,
                              steps=args.ddim_steps, eta=args.eta, sampler=sampler, generator=torch.Generator().manual_seed(0))

    t_ddim, cf_ddim = best_time(lambda: run("ddim"), args.repeats)
    t_ddpm, cf_ddpm = best_time(lambda: run("ddpm"), 1)
    v_ddim, v_ddpm = validity(cf_ddim.pred_after.numpy(), target.numpy()), validity(cf_ddpm.pred_after.numpy(), target.numpy())
    rows = [{"sampler": f"DDIM ({args.ddim_steps} steps)", "seconds": t_ddim, "validity": v_ddim},
            {"sampler": f"DDPM ({args.t_start + 1} steps)", "seconds": t_ddpm, "validity": v_ddpm}]
    return report("counterfactual_ddim_vs_ddpm", args.out, rows,
                  {"DDIM speedup over DDPM": (t_ddpm / t_ddim, ">=", 15.0),
                   "validity gap |DDPM - DDIM|": (abs(v_ddpm - v_ddim), "<=", 0.02)},
                  extra={"t_start": args.t_start, "cfg_scale": args.cfg_scale, "eta": args.eta, "n": args.n})


if __name__ == "__main__":
    raise SystemExit(main())
