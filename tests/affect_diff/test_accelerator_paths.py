"""What a GPU run needs and a CPU never exercises: no host sync per step, tensors made
on the model's device, and a forward pass under bf16 autocast.

Without a GPU, the ``meta`` device stands in for one: meta tensors have shapes but no
data, so reading a value (a host sync on a GPU) raises, and so does mixing a meta tensor
with one created on the CPU. A path that runs on meta end to end creates its tensors on
the model's device and never waits for it.
"""

import pytest
import torch
from host_syncs import count_syncs
from torch.utils.data import DataLoader

from affect_lib.affect_diff.counterfactual import counterfactual
from affect_lib.affect_diff.model import AffectDiff
from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.loop import run_epoch
from affect_lib.schema import EMOTIONS, set_value_checks, value_checks_on

TERMS = ("ce", "ml", "diff", "kl", "rec")


def _batch(dims: dict[str, int], seq_len: int, device: str, n: int = 4) -> dict:
    g = torch.Generator().manual_seed(0)
    batch = {m: torch.randn(n, seq_len, d, generator=g) for m, d in dims.items()}
    mask = torch.ones(n, seq_len, dtype=torch.bool)
    mask[:, : seq_len // 3] = False  # left-padded
    batch |= {
        "mask": mask,
        "label": torch.arange(n) % len(EMOTIONS),
        "emotions": torch.rand(n, len(EMOTIONS), generator=g),
    }
    return {k: v.to(device) for k, v in batch.items()}


@pytest.fixture
def no_value_checks():
    """The policy on an accelerator: value checks off (see affect_lib.schema)."""
    previous = set_value_checks(False)
    yield
    set_value_checks(previous)


def test_value_checks_run_on_cpu_tensors_by_default():
    cpu, meta = torch.zeros(2), torch.zeros(2, device="meta")
    assert value_checks_on(cpu) and not value_checks_on(meta)
    previous = set_value_checks(True)
    try:
        assert previous is None and value_checks_on(meta)
        set_value_checks(False)
        assert not value_checks_on(cpu)
        with pytest.raises(TypeError, match="True, False or None"):
            set_value_checks("yes")
    finally:
        set_value_checks(previous)


def test_meta_tensors_catch_what_a_gpu_would_wait_for():
    """The instrument can fail: a value read and a CPU-made tensor both raise on
    meta."""
    x = torch.zeros(3, device="meta")
    with pytest.raises((RuntimeError, NotImplementedError)):
        x.sum().item()
    with pytest.raises(RuntimeError, match="device"):
        _ = x + torch.ones(3)
    with pytest.raises((RuntimeError, NotImplementedError)):
        x[x > 0]  # boolean indexing: a data-dependent shape


def test_training_and_sampling_run_on_the_meta_device(smoke_cfg, no_value_checks):
    """Loss terms and backward, DDIM prediction, guided DDPM and a counterfactual edit,
    all on meta: no value is read and no tensor is made on the CPU."""
    dims = smoke_cfg.data.dims
    torch.manual_seed(0)
    model = AffectDiff(smoke_cfg.model, dims, anneal_steps=10).to("meta").train()
    batch = _batch(dims, smoke_cfg.data.seq_len, "meta")
    terms = model.losses(batch)
    sum(terms[t] for t in TERMS).backward()
    assert all(p.grad is not None and p.grad.is_meta for p in model.parameters())
    model.graph.step()  # the training loop's annealing step reads no value either
    model.eval()
    out = model.predict(batch, t_start=20, steps=5)
    assert all(v.is_meta for v in out.values())
    z = model.denoise(
        out["mu"],
        batch["mask"],
        out["influence"],
        t_start=10,
        steps=10,
        label=1,
        cfg_scale=2.0,
        sampler="ddpm",
    )
    assert z.is_meta
    edit = counterfactual(
        model, batch, 2, cfg_scale=2.0, t_start=10, steps=4, scales=torch.ones(3)
    )
    assert edit.change.is_meta and edit.pred_after.is_meta


def test_a_training_step_syncs_once(smoke_cfg, no_value_checks):
    """The one sync of a step in the library is the module's finiteness guard (a NaN
    must not reach the optimiser); the loop adds none. (torch's AdamW reads its step
    counters, which it keeps on the CPU so that this is no sync.)"""
    dims = smoke_cfg.data.dims
    torch.manual_seed(0)
    module = AffectDiffModule(smoke_cfg, dims, steps_per_epoch=8)
    opt = module.configure_optimizers()["optimizer"]
    params = list(module.parameters())

    def epoch(n_batches: int) -> None:
        batches = [
            _batch(dims, smoke_cfg.data.seq_len, "cpu") for _ in range(n_batches)
        ]
        loader = DataLoader(batches, batch_size=None)
        run_epoch(params, loader, module.step_loss, opt, clip=1.0, epoch=0)

    few, many = (
        count_syncs(lambda n=n: epoch(n), caller="/affect_lib/") for n in (2, 6)
    )
    assert many - few == 4, f"{few} syncs for 2 steps, {many} for 6"


def test_a_non_finite_loss_is_still_caught_with_value_checks_off(
    smoke_cfg, no_value_checks
):
    dims = smoke_cfg.data.dims
    module = AffectDiffModule(smoke_cfg, dims, steps_per_epoch=8)
    batch = _batch(dims, smoke_cfg.data.seq_len, "cpu")
    batch["audio"][0, -1, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="non-finite loss term"):
        module.step_loss(batch)


def test_bf16_autocast_runs_the_forward_pass(smoke_cfg):
    """CPU bf16 autocast as a stand-in for a GPU's bf16-mixed precision: the matmuls run
    in bf16, the loss terms are finite, every parameter gets a finite fp32 gradient, and
    sampling runs."""
    dims = smoke_cfg.data.dims
    torch.manual_seed(0)
    model = AffectDiff(smoke_cfg.model, dims, anneal_steps=10).train()
    batch = _batch(dims, smoke_cfg.data.seq_len, "cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = model.losses(batch)
        assert terms["logits"].dtype == torch.bfloat16
        total = sum(terms[t].float() for t in TERMS)
    assert torch.isfinite(total)
    total.backward()
    for name, p in model.named_parameters():
        assert p.dtype == torch.float32, name
        assert p.grad is not None and p.grad.dtype == torch.float32, name
        assert torch.isfinite(p.grad).all(), name
    model.eval()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.predict(batch, t_start=20, steps=5)
    assert out["logits_denoised"].dtype == torch.bfloat16
    assert torch.isfinite(out["logits_denoised"].float()).all()
