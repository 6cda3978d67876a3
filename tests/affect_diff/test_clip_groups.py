"""The prior and the rest are clipped separately, so that with the diffusion gradient
stopped at z the prior's loss cannot change what the encoder and classifier learn
(chapter 6's ``no_cfg`` is a negative control by construction)."""

import dataclasses

import lightning as L
import pytest
import torch

from affect_lib.affect_diff.loop import fit_plain
from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.data.datamodule import build_datamodule


def _train(cfg, dm, *, one_group=False):
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=len(dm.train_dataloader()))
    if one_group:  # the old behaviour: one norm over all parameters
        module.clip_groups = lambda: [list(module.parameters())]
    fit_plain(module, dm.train_dataloader(), epochs=2)
    return module


def _encoder_side(module):
    prior = {n for n, _ in module.model.unet.named_parameters(prefix="model.unet")}
    return {n: p for n, p in module.named_parameters() if n not in prior}


def test_clip_groups_split_the_prior_from_the_rest(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    module = AffectDiffModule(smoke_cfg, dm.dims, steps_per_epoch=1)
    rest, prior = module.clip_groups()
    ids = [id(p) for p in rest + prior]
    assert len(ids) == len(set(ids)) == len(list(module.parameters()))
    assert {id(p) for p in prior} == {id(p) for p in module.model.unet.parameters()}


def test_cfg_dropout_cannot_move_the_encoder(smoke_cfg):
    # big gradients so that clipping binds; p_uncond only changes the U-Net's loss
    cfg = dataclasses.replace(
        smoke_cfg, model=dataclasses.replace(smoke_cfg.model, lambda_diff=50.0)
    )
    no_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, p_uncond=0))
    dm = build_datamodule(cfg)
    a, b = _encoder_side(_train(cfg, dm)), _encoder_side(_train(no_cfg, dm))
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} moved with p_uncond"
    # one shared clipping norm (the old behaviour) lets the prior's loss through
    a1 = _encoder_side(_train(cfg, dm, one_group=True))
    b1 = _encoder_side(_train(no_cfg, dm, one_group=True))
    assert any(not torch.equal(a1[n], b1[n]) for n in a1)


def test_gradient_clipping_hook_rejects_value_clipping(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    module = AffectDiffModule(smoke_cfg, dm.dims, steps_per_epoch=1)
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="clips by norm per group"):
        module.configure_gradient_clipping(opt, 1.0, "value")
