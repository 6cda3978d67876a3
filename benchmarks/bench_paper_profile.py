"""The ``paper`` profile measured: parameters, FLOPs, memory and step time, and from
them an epoch and full-run estimate on this CPU and on a GPU of stated throughput.

    .venv/bin/python benchmarks/bench_paper_profile.py [--steps 6] [--batch 128] \\
        [--out _build/bench/paper_profile.json]

The model is the profile's (latent 256, U-Net base 128 with mults (1, 2, 4), 1,000
diffusion steps), the data a paper-scale SynthMOSEI (22,856 utterances at the released
dims). ``--steps`` real optimisation steps run through the library's training loop at
the paper's batch size; the first is a warm-up and the median of the others is the step
time. FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and
convolutions, what dominates), operator counts from a dispatch mode (each operator is at
least one kernel launch on a GPU), activation memory from the tensors autograd saves for
the backward pass. Exits non-zero when a step fails, a loss is not finite or a
parameter receives no gradient.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import DataLoader, Subset
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _common import report  # noqa: E402

from affect_lib.affect_diff.diffusion import guided_eps_fn  # noqa: E402
from affect_lib.affect_diff.module import AffectDiffModule  # noqa: E402
from affect_lib.config import load_profile  # noqa: E402
from affect_lib.data.datamodule import build_datamodule  # noqa: E402
from affect_lib.loop import run_epoch  # noqa: E402

# NVIDIA H100 SXM: dense bf16 tensor-core peak (data sheet, without sparsity)
GPU = {"name": "NVIDIA H100 SXM", "peak_bf16_tflops": 989.4}
# model FLOP utilisation of a small eager-mode model: a range, not a measurement
MFU_RANGE = (0.1, 0.4)
# host-side cost of launching one operator in eager PyTorch on a GPU
LAUNCH_US_RANGE = (5.0, 10.0)


class OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched (forward, backward and optimiser)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def components(module: AffectDiffModule) -> dict[str, int]:
    m = module.model
    parts = {
        "encoders": [m.encoders],
        "graph": [m.graph, m.node_norm],
        "bottleneck (mean, log-variance)": [m.bottleneck.fc_mu, m.bottleneck.fc_logvar],
        "decoders": [m.bottleneck.decoders],
        "UNet1D": [m.unet],
        "heads": [m.classifier, m.multilabel],
    }
    counts = {
        k: sum(p.numel() for mod in mods for p in mod.parameters())
        for k, mods in parts.items()
    }
    total = sum(p.numel() for p in module.parameters())
    if sum(counts.values()) != total:
        raise RuntimeError(f"components count {sum(counts.values())} of {total}")
    return counts


def saved_activation_bytes(fn, params: list[torch.nn.Parameter]) -> int:
    """Bytes of the non-parameter tensors autograd saves during ``fn()`` (each storage
    once): the activation memory a training step holds at its peak."""
    param_ptrs = {p.untyped_storage().data_ptr() for p in params}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in param_ptrs:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=None, help="default: paper's")
    parser.add_argument("--out", default="_build/bench/paper_profile.json")
    parser.add_argument(
        "--profile", default="paper", help="another profile: a quick check (tests)"
    )
    args = parser.parse_args()
    paper = load_profile(args.profile)
    batch_size = args.batch or paper.data.batch_size
    # one process, two cores: loader workers would only copy the 4 GB corpus
    cfg = dataclasses.replace(
        paper,
        data=dataclasses.replace(paper.data, batch_size=batch_size, num_workers=0),
    )
    d, m, t = cfg.data, cfg.model, cfg.train

    start = time.perf_counter()
    dm = build_datamodule(cfg)
    data_s = time.perf_counter() - start
    corpus_gb = (
        sum(
            getattr(c, f.name).nbytes
            for c in dm.corpora.values()
            for f in dataclasses.fields(c)
            if f.name != "ids"
        )
        / 1e9
    )
    torch.manual_seed(0)
    module = AffectDiffModule(
        cfg, dm.dims, steps_per_epoch=math.ceil(d.n_train / batch_size)
    )
    params = list(module.parameters())
    n_params = components(module)

    train_set = dm.datasets["train"]
    collate = dm.train_dataloader().collate_fn
    first = next(
        iter(
            DataLoader(
                Subset(train_set, range(batch_size)),
                batch_size=batch_size,
                collate_fn=collate,
            )
        )
    )

    # FLOPs, operators and saved activations of one training step (forward + backward)
    module.train()
    with FlopCounterMode(display=False) as flops:
        module.step_loss(first).backward()
    train_flops = flops.get_total_flops()
    module.zero_grad(set_to_none=True)
    opt_cfg = module.configure_optimizers()
    opt, sched = opt_cfg["optimizer"], opt_cfg["lr_scheduler"]["scheduler"]
    ops = OpCounter()
    with ops:
        loss = module.step_loss(first)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for group in module.clip_groups():  # as the Trainer and fit_plain clip
            torch.nn.utils.clip_grad_norm_(group, t.grad_clip)
        opt.step()
    train_ops = ops.count
    act_fp32 = saved_activation_bytes(lambda: module.step_loss(first), params)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        act_bf16 = saved_activation_bytes(lambda: module.step_loss(first), params)

    # one sampling step: the guided ε (two U-Net passes, CFG) and the unguided one
    module.eval()
    with torch.no_grad():
        enc = module.model.encode(first, sample=False)
        z, mask, infl = enc.latent.mu, first["mask"], enc.graph.influence
        tt = torch.full((batch_size,), m.denoise_t_start, dtype=torch.long)
        per_step = {}
        for name, scale in (("guided (CFG)", 3.0), ("unguided", 0.0)):
            eps_fn = guided_eps_fn(
                module.model.unet,
                label=first["label"],
                scale=scale,
                influence=infl,
                mask=mask,
            )
            eps_fn(z, tt)  # the value checks of the first call
            with FlopCounterMode(display=False) as f:
                eps_fn(z, tt)
            counter = OpCounter()
            with counter:
                eps_fn(z, tt)
            start = time.perf_counter()
            eps_fn(z, tt)
            per_step[name] = (
                f.get_total_flops(),
                counter.count,
                time.perf_counter() - start,
            )
        start = time.perf_counter()
        module.model.predict(first)
        predict_s = time.perf_counter() - start
        start = time.perf_counter()
        module.step_loss(first)
        eval_s = time.perf_counter() - start

    # real optimisation steps through the library's loop, from a fresh optimiser
    torch.manual_seed(0)
    module = AffectDiffModule(
        cfg, dm.dims, steps_per_epoch=math.ceil(d.n_train / batch_size)
    )
    params = list(module.parameters())
    opt_cfg = module.configure_optimizers()
    opt, sched = opt_cfg["optimizer"], opt_cfg["lr_scheduler"]["scheduler"]
    loader = DataLoader(
        Subset(train_set, range(args.steps * batch_size)),
        batch_size=batch_size,
        collate_fn=collate,
    )
    stamps: list[float] = []
    losses: list[float] = []

    def step_loss(batch):
        loss = module.step_loss(batch)
        losses.append(float(loss.detach()))
        return loss

    def after_step() -> None:
        sched.step()
        module.model.graph.step()
        stamps.append(time.perf_counter())

    module.train()
    stamps.append(time.perf_counter())
    try:
        run_epoch(
            params,
            loader,
            step_loss,
            opt,
            clip=t.grad_clip,
            epoch=0,
            after_step=after_step,
            clip_groups=module.clip_groups(),
        )
        ok_steps = len(losses)
    except (FloatingPointError, RuntimeError) as exc:
        print(f"a training step failed: {exc}", file=sys.stderr)
        ok_steps = len(losses) - 1
    times = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    step_s = statistics.median(times[1:] or times) if times else float("nan")
    with_grad = sum(
        p.grad is not None and bool(torch.isfinite(p.grad).all()) for p in params
    )

    # estimates
    steps_per_epoch = math.ceil(d.n_train / batch_size)
    val_batches, test_batches = (
        math.ceil(d.n_val / batch_size),
        math.ceil(d.n_test / batch_size),
    )
    cpu_epoch_s = steps_per_epoch * step_s  # training steps only, as on the GPU
    peak = GPU["peak_bf16_tflops"] * 1e12

    def gpu_step(flop: float, n_ops: int) -> tuple[float, float]:
        fast = max(flop / (peak * MFU_RANGE[1]), n_ops * LAUNCH_US_RANGE[0] * 1e-6)
        slow = max(flop / (peak * MFU_RANGE[0]), n_ops * LAUNCH_US_RANGE[1] * 1e-6)
        return fast, slow

    gpu_train = gpu_step(train_flops, train_ops)
    guided_flops, guided_ops, _ = per_step["guided (CFG)"]
    gpu_epoch = tuple(steps_per_epoch * s for s in gpu_train)
    param_bytes = 4 * sum(n_params.values())
    rows = [
        {"name": k, "parameters": v, "share": v / sum(n_params.values())}
        for k, v in n_params.items()
    ]
    rows.append({"name": "total", "parameters": sum(n_params.values()), "share": 1.0})
    extra = {
        "profile_name": args.profile,
        "batch_size": batch_size,
        "steps_run": ok_steps,
        "cpu_step_s": step_s,
        "train_step_gflops": train_flops / 1e9,
        "train_step_ops": train_ops,
        "sampling_step_gflops_guided": guided_flops / 1e9,
        "activation_gb_bf16_autocast": act_bf16 / 1e9,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "profile": {
            "name": args.profile,
            "seq_len": d.seq_len,
            "n_train": d.n_train,
            "n_val": d.n_val,
            "n_test": d.n_test,
            "max_epochs": t.max_epochs,
            "patience": t.patience,
            "ddim_steps": m.ddim_steps,
            "denoise_t_start": m.denoise_t_start,
            "diffusion_steps": m.diffusion_steps,
        },
        "measured": {
            "data_generation_s": data_s,
            "corpus_gb": corpus_gb,
            "train_step_gflops": train_flops / 1e9,
            "train_step_ops": train_ops,
            "sampling_step_gflops_guided": guided_flops / 1e9,
            "sampling_step_ops_guided": guided_ops,
            "sampling_step_gflops_unguided": per_step["unguided"][0] / 1e9,
            "sampling_step_s_guided": per_step["guided (CFG)"][2],
            "activation_gb_fp32": act_fp32 / 1e9,
            "activation_gb_bf16_autocast": act_bf16 / 1e9,
            "weights_grads_adam_gb": 4 * param_bytes / 1e9,
            "step_times_s": times,
            "losses": losses,
            "step_s": step_s,
            "eval_batch_s": eval_s,
            "predict_batch_s": predict_s,
        },
        "estimates": {
            "steps_per_epoch": steps_per_epoch,
            "cpu_epoch_h": cpu_epoch_s / 3600,
            "cpu_validation_s": val_batches * eval_s,
            "cpu_full_run_days": t.max_epochs * cpu_epoch_s / 86400,
            "cpu_test_inference_h": test_batches * predict_s / 3600,
            "gpu": GPU,
            "mfu_range": MFU_RANGE,
            "launch_us_range": LAUNCH_US_RANGE,
            "gpu_step_ms_range": [1e3 * s for s in gpu_train],
            "gpu_compute_bound_step_ms_range": [
                1e3 * train_flops / (peak * u) for u in MFU_RANGE[::-1]
            ],
            "gpu_launch_bound_step_ms_range": [
                1e-3 * train_ops * u for u in LAUNCH_US_RANGE
            ],
            "gpu_epoch_min_range": [s / 60 for s in gpu_epoch],
            "gpu_full_run_h_range": [t.max_epochs * s / 3600 for s in gpu_epoch],
        },
    }
    finite = sum(math.isfinite(v) for v in losses) / max(1, args.steps)
    return report(
        "paper_profile",
        args.out,
        rows,
        {
            "training steps run with a finite loss (share)": (finite, ">=", 1.0),
            "parameters with a finite gradient (share)": (
                with_grad / len(params),
                ">=",
                1.0,
            ),
        },
        extra=extra,
    )


if __name__ == "__main__":
    raise SystemExit(main())
