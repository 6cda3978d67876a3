"""The measured section of the "Training at scale" page, from
``benchmarks/bench_paper_profile.py``'s JSON (placed at build time by
:mod:`affect_lib.publish.measured_sections`): parameters per component, FLOPs, memory,
step times, and the CPU and GPU estimates, saying which figures are measured and which
are estimated, and on which machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from affect_lib.publish.report import markdown_table

__all__ = ["paper_profile_section"]


def _range(values: list[float], unit: str, digits: int = 2) -> str:
    lo, hi = values
    return f"{lo:.{digits}g}-{hi:.{digits}g} {unit}"


def paper_profile_section(data: dict[str, Any], source: Path) -> str:
    """Markdown of the measured section from the benchmark's JSON ``data`` (read from
    ``source``)."""
    machine, meas, est = data["machine"], data["measured"], data["estimates"]
    prof, gpu = data["profile"], est["gpu"]
    n_params = {r["name"]: r["parameters"] for r in data["rows"]}
    total = n_params.pop("total")
    params = markdown_table(
        [
            [k.replace("|", "\\|"), f"{v:,}", f"{v / total:.1%}"]
            for k, v in n_params.items()
        ]
        + [["**total**", f"**{total:,}**", "100%"]],
        ["component", "parameters", "share"],
    )
    b = data["batch_size"]
    memory = (
        f"{meas['activation_gb_fp32']:.2f} / "
        f"{meas['activation_gb_bf16_autocast']:.2f} GB"
    )
    measured = markdown_table(
        [
            [
                "FLOPs per training step (forward + backward)",
                f"{meas['train_step_gflops']:.1f} GFLOP",
            ],
            [
                "FLOPs per DDIM or DDPM step, guided (two U-Net passes)",
                f"{meas['sampling_step_gflops_guided']:.1f} GFLOP",
            ],
            [
                "FLOPs per DDIM or DDPM step, unguided",
                f"{meas['sampling_step_gflops_unguided']:.1f} GFLOP",
            ],
            [
                "operators per training step (each at least one GPU kernel)",
                f"{meas['train_step_ops']:,}",
            ],
            [
                "activation memory per step, fp32 / bf16 autocast",
                memory,
            ],
            [
                "weights + gradients + AdamW moments (fp32)",
                f"{meas['weights_grads_adam_gb']:.2f} GB",
            ],
            ["training step on this CPU (median)", f"{meas['step_s']:.2f} s"],
            [
                "test-set prediction of one batch (DDIM, this CPU)",
                f"{meas['predict_batch_s']:.1f} s",
            ],
            [
                "paper-scale SynthMOSEI: generation, size",
                f"{meas['data_generation_s']:.0f} s, {meas['corpus_gb']:.1f} GB",
            ],
            ["peak resident memory of the benchmark", f"{data['peak_rss_gb']:.1f} GB"],
        ],
        ["measured", f"batch {b}, sequences of {prof['seq_len']}"],
    )
    estimates = markdown_table(
        [
            [
                "training steps per epoch",
                f"{est['steps_per_epoch']}",
                f"{est['steps_per_epoch']}",
            ],
            [
                "one training step",
                f"{meas['step_s']:.2f} s",
                _range(est["gpu_step_ms_range"], "ms"),
            ],
            [
                "one epoch of training steps",
                f"{60 * est['cpu_epoch_h']:.1f} min",
                _range([60 * x for x in est["gpu_epoch_min_range"]], "s"),
            ],
            [
                f"full run ({prof['max_epochs']} epochs, no early stop)",
                f"{est['cpu_full_run_days']:.2f} days",
                _range([60 * x for x in est["gpu_full_run_h_range"]], "min"),
            ],
        ],
        ["estimate", "this CPU", gpu["name"]],
    )
    mfu, launch = est["mfu_range"], est["launch_us_range"]
    compute = est["gpu_compute_bound_step_ms_range"]
    bound = est["gpu_launch_bound_step_ms_range"]
    if bound[0] > compute[1]:
        pace = (
            "At this size the launches set the pace: fewer, larger kernels (a larger "
            "batch, CUDA graphs, `torch.compile`) would shorten a run, a faster GPU "
            "would not."
        )
    elif compute[0] > bound[1]:
        pace = "At this size arithmetic sets the pace, not kernel launches."
    else:
        pace = "At this size the two bounds overlap: either may set the pace."
    cores, cpu = machine.get("cores", "?"), machine.get("processor", "?")
    commit, date = data.get("commit", "?"), data.get("date", "?")
    return "\n".join(
        [
            "## The paper profile, measured",
            "",
            f"`benchmarks/bench_paper_profile.py` built the `paper` profile's model "
            f"and a paper-scale SynthMOSEI ({prof['n_train']:,} / {prof['n_val']:,} / "
            f"{prof['n_test']:,} utterances at the released dims) and ran "
            f"{data['steps_run']} real optimisation steps at batch {b} on {cores} "
            f"cores ({cpu}; commit `{commit}`, {date}; figures from "
            f"`{source.as_posix()}`). The GPU column is an estimate, not a "
            f"measurement: no GPU was used.",
            "",
            params,
            "",
            measured,
            "",
            estimates,
            "",
            f"How the GPU column is estimated: a step takes at least its FLOPs at "
            f"{gpu['peak_bf16_tflops']:g} TFLOPS (the {gpu['name']}'s dense bf16 "
            f"peak) at a model FLOP utilisation of {mfu[0]:.0%}-{mfu[1]:.0%} "
            f"({_range(compute, 'ms')}), and at least one kernel launch per operator "
            f"at {launch[0]:g}-{launch[1]:g} µs each ({_range(bound, 'ms')}; operators "
            f"counted in fp32, autocast adds casts); the "
            f"larger of the two counts. {pace} Validation adds its forward passes to "
            f"each epoch ({est['cpu_validation_s']:.0f} s on this CPU), and early "
            f"stopping (patience {prof['patience']}) can end a run before "
            f"{prof['max_epochs']} epochs. Run `make bench` on your machine to replace "
            f"these figures with its own.",
            "",
        ]
    )
