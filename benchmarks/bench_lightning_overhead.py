"""Training throughput of the Lightning module vs a plain PyTorch loop on the same model and batches.

    .venv/bin/python benchmarks/bench_lightning_overhead.py [--repeats 3] [--epochs 2]

Claim: Lightning overhead <= 10 % (throughput ratio plain / Lightning <= 1.10), book profile data.
Both contenders run the same AffectDiffModule.training_step, optimiser and gradient clipping, in
one process, alternating, best of ``repeats``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, report  # noqa: E402

from affect_lib.config import load_profile  # noqa: E402
from affect_lib.data.datamodule import build_datamodule  # noqa: E402
from affect_lib.modules.affect_diff_module import AffectDiffModule  # noqa: E402
from affect_lib.modules.train import quiet_lightning  # noqa: E402


def plain_loop(module: AffectDiffModule, loader, epochs: int) -> int:
    opt = module.configure_optimizers()["optimizer"]
    module.train()
    n = 0
    for _ in range(epochs):
        for i, batch in enumerate(loader):
            module.on_train_batch_start(batch, i)
            loss = module._total(module.model.losses(batch), "training")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), module.cfg.train.grad_clip)
            opt.step()
            module.model.graph.step()
            n += len(batch["label"])
    return n


def lightning_fit(cfg, dm, epochs: int) -> int:
    module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=len(dm.train_dataloader()))
    with quiet_lightning():
        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, gradient_clip_val=cfg.train.grad_clip,
                            limit_val_batches=0, num_sanity_val_steps=0)
        trainer.fit(module, train_dataloaders=dm.train_dataloader())
    return epochs * cfg.data.n_train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", default="_build/bench/lightning_overhead.json")
    args = parser.parse_args()
    cfg = load_profile("book", device="cpu")
    dm = build_datamodule(cfg)
    L.seed_everything(0, verbose=False)

    def plain():
        module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=len(dm.train_dataloader()))
        return plain_loop(module, dm.train_dataloader(), args.epochs)

    t_plain, n_plain = best_time(plain, args.repeats)
    t_light, n_light = best_time(lambda: lightning_fit(cfg, dm, args.epochs), args.repeats)
    rows = [{"contender": "plain PyTorch", "seconds": t_plain, "samples_per_s": n_plain / t_plain},
            {"contender": "Lightning", "seconds": t_light, "samples_per_s": n_light / t_light}]
    ratio = (n_plain / t_plain) / (n_light / t_light)
    return report("lightning_overhead", args.out, rows,
                  {"throughput plain / Lightning": (ratio, "<=", 1.10)})


if __name__ == "__main__":
    raise SystemExit(main())
