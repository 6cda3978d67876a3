"""Cost of one Affect-Diff training step on one CPU thread: the current code against the
formulation it replaced (issue #29: chapter 6 trains 55 models of 96 steps each).

    .venv/bin/python benchmarks/bench_train_step.py [--repeats 3] [--epochs 2] \\
        [--out _build/bench/train_step.json]

Claim: the current step is >= 1.10x as fast as the reference, book profile data and
model, one thread, deterministic algorithms on (as chapter 6's runs).

The reference is the same model and batches with the three costs the current code
removed:

- the text encoder masks its (B, T, 768) input before projecting (``proj(x * keep)``)
  instead of selecting the bias at padded steps after it;
- the reconstruction loss decodes, masks and squares the (B, T, D) features in separate
  passes (``reconstruction_loss(decode(...))``) instead of
  ``LatentBottleneck.reconstruction``'s one fused squared error, summed per step;
- AdamW runs as ``foreach`` (on a CPU, a loop over the 140-odd tensors) instead of
  ``fused``, and deterministic mode fills every new tensor with NaN.

Both contenders train the same freshly seeded model for ``epochs`` epochs of chapter 6's
plain loop (clipping per group, the Gumbel hook); the claim is each contender's best
mean step time over ``repeats`` alternating repeats, which evens out a shared machine's
load somewhat. Both losses are reported: they agree to float rounding, not bit for bit.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import report  # noqa: E402

from affect_lib.affect_diff.bottleneck import (  # noqa: E402
    LatentBottleneck,
    reconstruction_loss,
)
from affect_lib.affect_diff.encoders.text import (  # noqa: E402
    TextEncoder,
    sinusoidal_positions,
)
from affect_lib.affect_diff.module import AffectDiffModule  # noqa: E402
from affect_lib.config import load_profile  # noqa: E402
from affect_lib.data.datamodule import build_datamodule  # noqa: E402
from affect_lib.loop import run_epoch  # noqa: E402

SPEEDUP_BUDGET = 1.10


def _reference_reconstruction(self, z, mask, targets, influence=None):
    return reconstruction_loss(self.decode(z, mask, influence), targets, mask)


def _reference_text_forward(self, x, mask):
    keep = mask.unsqueeze(-1).to(x.dtype)
    positions = (mask.long().cumsum(dim=1) - 1).clamp(min=0)
    h = self.proj(x * keep) + sinusoidal_positions(positions, self.d_model).to(x.dtype)
    h = self.transformer(h, src_key_padding_mask=~mask)
    return self.norm(h) * keep


@contextmanager
def contender(name: str):
    """Patch in the reference formulation for ``name == "reference"``."""
    saved = (
        LatentBottleneck.reconstruction,
        TextEncoder.forward,
        torch.utils.deterministic.fill_uninitialized_memory,
    )
    reference = name == "reference"
    if reference:
        LatentBottleneck.reconstruction = _reference_reconstruction
        TextEncoder.forward = _reference_text_forward
    torch.utils.deterministic.fill_uninitialized_memory = reference
    try:
        yield
    finally:
        (
            LatentBottleneck.reconstruction,
            TextEncoder.forward,
            torch.utils.deterministic.fill_uninitialized_memory,
        ) = saved


def train(name: str, cfg, dm, epochs: int) -> tuple[float, float]:
    """Mean seconds per step and the last epoch's mean loss of ``epochs`` epochs."""
    with contender(name):
        L.seed_everything(cfg.seed, verbose=False)
        loader = dm.train_dataloader()
        module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=len(loader))
        params = list(module.parameters())
        opt = torch.optim.AdamW(
            params,
            lr=cfg.train.lr,
            weight_decay=cfg.train.weight_decay,
            **({"foreach": True} if name == "reference" else {"fused": True}),
        )
        module.train()
        start, loss = time.perf_counter(), float("nan")
        for epoch in range(epochs):
            loss = run_epoch(
                params,
                loader,
                module.step_loss,
                opt,
                clip=cfg.train.grad_clip,
                epoch=epoch,
                before_step=lambda i, epoch=epoch: module.reseed(epoch, i),
                after_step=module.model.graph.step,
                clip_groups=module.clip_groups(),
            )
        return (time.perf_counter() - start) / (epochs * len(loader)), loss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", default="_build/bench/train_step.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    cfg = load_profile("book")
    dm = build_datamodule(cfg)
    best = {"reference": float("inf"), "current": float("inf")}
    losses = {}
    for _ in range(args.repeats):
        for name in best:
            seconds, losses[name] = train(name, cfg, dm, args.epochs)
            best[name] = min(best[name], seconds)
    speedup = best["reference"] / best["current"]
    rows = [
        {"contender": n, "ms_per_step": 1e3 * best[n], "last_epoch_loss": losses[n]}
        for n in best
    ]
    return report(
        "train_step",
        args.out,
        rows,
        {"speedup current / reference": (speedup, ">=", SPEEDUP_BUDGET)},
        extra={"batch_size": cfg.data.batch_size, "threads": 1},
    )


if __name__ == "__main__":
    raise SystemExit(main())
