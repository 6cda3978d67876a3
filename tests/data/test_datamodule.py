import torch

from affect_lib.config import load_profile
from affect_lib.data.datamodule import AffectDataModule, build_datamodule


def test_batch_contract(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    batch = next(iter(dm.train_dataloader()))
    b, t, d = smoke_cfg.data.batch_size, smoke_cfg.data.seq_len, smoke_cfg.data
    assert (
        batch["text"].shape == (b, t, d.text_dim)
        and batch["text"].dtype == torch.float32
    )
    assert batch["audio"].shape == (b, t, d.audio_dim)
    assert batch["video"].shape == (b, t, d.video_dim)
    assert batch["mask"].shape == (b, t) and batch["mask"].dtype == torch.bool
    assert batch["label"].shape == (b,) and batch["label"].dtype == torch.int64
    assert (
        batch["emotions"].shape == (b, 6) and batch["emotions"].dtype == torch.float32
    )
    assert batch["driver"].dtype == torch.int64 and set(batch["driver"].tolist()) <= {
        0,
        1,
        2,
    }
    assert (
        isinstance(batch["id"], list)
        and len(batch["id"]) == b
        and isinstance(batch["id"][0], str)
    )


def test_item_matches_batch(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    ds = dm.datasets["val"]
    item, batch = ds[3], ds.__getitems__([3, 5])
    assert (
        torch.equal(item["audio"], batch["audio"][0]) and item["id"] == batch["id"][0]
    )


def test_shuffle_is_seeded(smoke_cfg):
    ids = [
        next(iter(build_datamodule(smoke_cfg).train_dataloader()))["id"]
        for _ in range(2)
    ]
    assert ids[0] == ids[1]
    other = next(
        iter(build_datamodule(load_profile("smoke", seed=5)).train_dataloader())
    )["id"]
    assert other != ids[0]


def test_eval_loaders_keep_order_and_cover_split(smoke_cfg, smoke_corpora):
    dm = AffectDataModule(smoke_corpora, batch_size=16, seed=0)
    seen = [i for batch in dm.test_dataloader() for i in batch["id"]]
    assert seen == list(smoke_corpora["test"].ids)
