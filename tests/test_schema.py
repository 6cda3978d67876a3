"""The batch contract of affect_lib.schema is what the DataModule yields and what the
tensor checks enforce."""

import pytest
import torch

from affect_lib.data.datamodule import build_datamodule
from affect_lib.schema import BATCH, MODALITIES, check_mask, check_sequence


def test_datamodule_batches_follow_the_contract(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == set(BATCH)
    b, t = batch["mask"].shape
    for key, (_, dtype) in BATCH.items():
        if dtype is str:
            assert len(batch[key]) == b and all(isinstance(i, str) for i in batch[key])
        else:
            assert batch[key].dtype == dtype, key
            assert batch[key].shape[0] == b, key
    for m in MODALITIES:
        assert batch[m].shape[:2] == (b, t)
        check_sequence(batch[m], name=m, dim=dm.dims[m], batch_time=(b, t))
        # padding rows are exactly zero
        assert not batch[m][~batch["mask"]].any()
    check_mask(batch["mask"], where="batch")
    assert batch["emotions"].shape == (b, 6)


def test_checks_name_what_is_wrong():
    x = torch.zeros(2, 3, 4)
    with pytest.raises(
        ValueError, match=r"text: got shape \(2, 3, 4\), expected \(2, 5, 4\)"
    ):
        check_sequence(x, name="text", dim=4, batch_time=(2, 5))
    with pytest.raises(ValueError, match="text: contains NaN or inf"):
        check_sequence(x.index_fill(1, torch.tensor([1]), float("nan")), name="text")
    with pytest.raises(ValueError, match="text: dtype torch.int64"):
        check_sequence(x.long(), name="text")
    mask = torch.ones(2, 3, dtype=torch.bool)
    mask[1] = False
    with pytest.raises(ValueError, match=r"sample\(s\) \[1\] have no valid step"):
        check_mask(mask, where="enc")
    with pytest.raises(ValueError, match="enc: mask is .* expected \\(B, T\\) bool"):
        check_mask(mask.float(), where="enc")
