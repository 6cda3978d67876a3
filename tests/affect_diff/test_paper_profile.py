"""The ``paper`` profile's model at its full size (13.8 M parameters) takes real steps
on the CPU: two optimisation steps at the paper's batch size, and two DDP steps on two
gloo processes. The data are SynthMOSEI at the released dims, with fewer utterances.

Costs and times at scale: ``benchmarks/bench_paper_profile.py``.
"""

import dataclasses

import pytest
import torch
from ddp_run import run_two_gloo_ranks

from affect_lib.affect_diff.loop import fit_plain
from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.config import load_profile
from affect_lib.data.datamodule import build_datamodule

pytestmark = pytest.mark.slow


def test_two_paper_steps_reach_every_parameter():
    paper = load_profile("paper")
    batch = paper.data.batch_size
    data = dataclasses.replace(
        paper.data, n_train=2 * batch, n_val=8, n_test=8, num_workers=0
    )
    cfg = dataclasses.replace(paper, data=data)
    dm = build_datamodule(cfg)
    assert dm.dims == {"text": 768, "audio": 74, "video": 35}
    torch.manual_seed(0)
    module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=2)
    assert sum(p.numel() for p in module.parameters()) > 13_000_000
    before = [p.detach().clone() for p in module.parameters()]
    losses = fit_plain(module, dm.train_dataloader(), epochs=1)  # 2 steps of 128
    assert len(losses) == 1 and torch.isfinite(torch.tensor(losses)).all()
    moved = 0
    for (name, p), old in zip(module.named_parameters(), before, strict=True):
        assert p.grad is not None, f"{name} received no gradient"
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
        assert torch.isfinite(p).all(), name
        moved += not torch.equal(p.detach(), old)
    # warmup: the first steps are 1/1000 of the learning rate, too small to move a
    # weight whose gradient is tiny in float32
    assert moved > 0.9 * len(before)
    assert module.model.graph.global_step.item() == 2


def test_paper_size_ddp_on_two_gloo_processes_stays_in_sync(tmp_path):
    """Two ranks, one step each per batch of 8, two steps: identical parameters."""
    ranks, metrics = run_two_gloo_ranks(
        tmp_path,
        "profile=paper",
        "data.n_train=32",
        "data.n_val=8",
        "data.n_test=8",
        "data.n_speakers=20",
        "data.batch_size=8",
        "data.num_workers=0",
        "train.max_epochs=1",
        timeout=600,
    )
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["sha256"] == ranks[1]["sha256"]
    assert metrics["profile"] == "paper" and metrics["epochs"] == 1
