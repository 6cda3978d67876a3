"""Training throughput of the Lightning module vs a plain PyTorch loop on the same model
and batches.

    .venv/bin/python benchmarks/bench_lightning_overhead.py [--repeats 2] [--epochs 3]

Claim: Lightning overhead <= 10 % (steady-state throughput ratio plain / Lightning <=
1.10), book profile data, CPU.

Same work per step in both contenders: the module's reseeding hook, ``model.losses`` +
the weighted total, zero_grad, backward, gradient clipping (``grad_clip``), AdamW step,
the warm-up LR scheduler step (interval "step"), the Gumbel-temperature hook, and the
epoch means of the seven quantities ``training_step`` logs (the plain loop accumulates
them by hand; the module sums them per step and logs the means once per epoch). The
sampler gets ``set_epoch`` in both, so both see the same batches.

Steady state: the first epoch (Trainer set-up, first-call allocations) is excluded; the
claim is the samples/s of epochs 2..N, timed from epoch-start timestamps (a callback for
Lightning). The start-up-inclusive ratio is reported too. Contenders alternate within
each repeat and the best repeat of each counts, which evens out a shared machine's load
somewhat; the number stays noisy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import report  # noqa: E402

from affect_lib.affect_diff.module import LOSS_WEIGHTS, AffectDiffModule  # noqa: E402
from affect_lib.affect_diff.train import quiet_lightning  # noqa: E402
from affect_lib.config import load_profile  # noqa: E402
from affect_lib.data.datamodule import build_datamodule  # noqa: E402

# logged by training_step as train_<term>, with train_loss and tau
TERMS = (
    "ce",
    *LOSS_WEIGHTS,
)


def plain_fit(module: AffectDiffModule, loader, epochs: int) -> tuple[list[float], int]:
    """Train like ``Trainer.fit`` without validation; returns epoch-start timestamps (+
    the end) and samples/epoch."""
    opt_cfg = module.configure_optimizers()
    opt, sched = opt_cfg["optimizer"], opt_cfg["lr_scheduler"]["scheduler"]
    params = [p for group in opt.param_groups for p in group["params"]]
    module.train()
    marks, per_epoch = [], 0
    for epoch in range(epochs):
        marks.append(time.perf_counter())
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        sums: dict[str, torch.Tensor] = {}
        count = 0
        for i, batch in enumerate(loader):
            module.on_train_batch_start(batch, i)
            opt.zero_grad(set_to_none=True)
            terms = module.model.losses(batch)
            loss = module._total(terms, "training")
            n = len(batch["label"])
            logged = {
                "train_loss": loss,
                **{f"train_{t}": terms[t] for t in TERMS},
                "tau": torch.as_tensor(module.model.graph.tau),
            }
            for (
                key,
                value,
                # what self.log(on_epoch=True, batch_size=n) accumulates
            ) in logged.items():
                sums[key] = sums.get(key, 0.0) + value.detach() * n
            count += n
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, module.cfg.train.grad_clip)
            opt.step()
            sched.step()
            module.on_train_batch_end(loss, batch, i)
        # what Lightning logs per epoch
        _means = {key: float(total / count) for key, total in sums.items()}
        per_epoch = count
    marks.append(time.perf_counter())
    return marks, per_epoch


class EpochMarks(L.Callback):
    """Epoch-start timestamps, the end of training, and the samples of one epoch."""

    def __init__(self) -> None:
        self.marks: list[float] = []
        self.samples = 0

    def on_train_epoch_start(self, trainer, module) -> None:
        self.marks.append(time.perf_counter())
        self.samples = 0

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.samples += len(batch["label"])

    def on_train_end(self, trainer, module) -> None:
        self.marks.append(time.perf_counter())


def lightning_fit(
    module: AffectDiffModule, loader, epochs: int
) -> tuple[list[float], int]:
    marks = EpochMarks()
    with quiet_lightning():
        trainer = L.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            gradient_clip_val=module.cfg.train.grad_clip,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            callbacks=[marks],
        )
        trainer.fit(module, train_dataloaders=loader)
    return marks.marks, marks.samples


def measure(fit, cfg, dm, epochs: int) -> dict[str, float]:
    """One run of ``fit`` on a fresh module: steady-state samples/s, first epoch and
    total seconds."""
    L.seed_everything(cfg.seed, verbose=False)
    start = time.perf_counter()
    module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=len(dm.train_dataloader()))
    marks, per_epoch = fit(module, dm.train_dataloader(), epochs)
    total = time.perf_counter() - start
    steady = (epochs - 1) * per_epoch / (marks[-1] - marks[1])
    return {
        "steady_samples_per_s": steady,
        "first_epoch_s": marks[1] - marks[0],
        "total_s": total,
        "total_samples_per_s": epochs * per_epoch / total,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--epochs", type=int, default=3, help="at least 2: the first is excluded"
    )
    parser.add_argument("--out", default="_build/bench/lightning_overhead.json")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error(
            "--epochs must be >= 2 (the first epoch is excluded from the steady state)"
        )
    cfg = load_profile("book", device="cpu")
    dm = build_datamodule(cfg)
    best: dict[str, dict[str, float]] = {}
    # alternate, so both see the same kind of machine load
    for _ in range(args.repeats):
        for name, fit in (("plain PyTorch", plain_fit), ("Lightning", lightning_fit)):
            run = measure(fit, cfg, dm, args.epochs)
            if (
                name not in best
                or run["steady_samples_per_s"] > best[name]["steady_samples_per_s"]
            ):
                best[name] = run
    plain, light = best["plain PyTorch"], best["Lightning"]
    rows = [{"contender": name, **run} for name, run in best.items()]
    ratio = plain["steady_samples_per_s"] / light["steady_samples_per_s"]
    return report(
        "lightning_overhead",
        args.out,
        rows,
        {"steady-state throughput plain / Lightning": (ratio, "<=", 1.10)},
        extra={
            "epochs": args.epochs,
            "repeats": args.repeats,
            "ratio_including_startup": plain["total_samples_per_s"]
            / light["total_samples_per_s"],
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
