"""The plain loop (chapter 6's ablations) is Lightning's training without the Trainer:
same weights."""

import lightning as L
import pytest
import torch

from affect_lib.affect_diff.loop import fit_plain
from affect_lib.affect_diff.module import AffectDiffModule
from affect_lib.affect_diff.train import quiet_lightning
from affect_lib.data.datamodule import build_datamodule


def _lightning(cfg, dm, epochs):
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=len(dm.train_dataloader()))
    with quiet_lightning():
        trainer = L.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            deterministic=True,
            gradient_clip_val=cfg.train.grad_clip,
            limit_val_batches=0,
            num_sanity_val_steps=0,
        )
        trainer.fit(module, train_dataloaders=dm.train_dataloader())
    return module


def _plain(cfg, dm, epochs):
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = AffectDiffModule(cfg, dm.dims, steps_per_epoch=len(dm.train_dataloader()))
    losses = fit_plain(module, dm.train_dataloader(), epochs=epochs)
    return module, losses


# train-only on purpose: the plain loop has no validation pass to compare with
@pytest.mark.filterwarnings(
    "ignore:You defined a `validation_step` but have no `val_dataloader`"
)
def test_plain_loop_gives_lightnings_weights(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    a = _lightning(smoke_cfg, dm, 2).state_dict()
    b, losses = _plain(smoke_cfg, dm, 2)
    b = b.state_dict()
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(
            a[k], b[k], rtol=1e-5, atol=1e-6, msg=f"parameter {k} differs"
        )


def test_plain_loop_is_deterministic_and_learns(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    m1, l1 = _plain(smoke_cfg, dm, 2)
    m2, l2 = _plain(smoke_cfg, dm, 2)
    assert l1 == l2
    assert l1[1] < l1[0]
    for k, v in m1.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k


def test_plain_loop_rejects_zero_epochs(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    module = AffectDiffModule(smoke_cfg, dm.dims, steps_per_epoch=1)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        fit_plain(module, dm.train_dataloader(), epochs=0)
