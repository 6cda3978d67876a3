import numpy as np
import pytest
import torch

from affect_lib.affect_diff.encoders import ModalityEncoders, masked_max
from affect_lib.baselines.graph_fusion import (
    GraphFusionClassifier,
    evaluate_graph_classifier,
    fit_graph_classifier,
)
from affect_lib.data.datamodule import build_datamodule
from affect_lib.devices import resolve_device, to_device


def test_masked_max_ignores_padding():
    x = torch.tensor([[[5.0], [1.0], [2.0]]])
    mask = torch.tensor([[False, True, True]])
    assert masked_max(x, mask).item() == 2.0
    enc = ModalityEncoders(dims={"text": 4, "audio": 3, "video": 2}, d_model=8)
    with pytest.raises(ValueError, match="how must be one of"):
        enc.pool(
            {m: torch.zeros(1, 3, 8) for m in ("text", "audio", "video")},
            mask,
            how="median",
        )


def test_forward_shapes_and_uniform_ablation(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    batch = next(iter(dm.val_dataloader()))
    for use_graph in (True, False):
        model = GraphFusionClassifier(
            smoke_cfg.model, dm.dims, anneal_steps=10, use_graph=use_graph
        ).eval()
        logits, graph = model(batch)
        assert logits.shape == (len(batch["label"]), 6)
        assert graph.adjacency.shape == (len(batch["label"]), 3, 3)
        torch.testing.assert_close(
            graph.influence.sum(-1), torch.ones(len(batch["label"]))
        )
        if not use_graph:
            assert torch.all(graph.influence == 1 / 3)


def test_training_is_deterministic_and_learns(smoke_cfg):
    def train():
        torch.manual_seed(0)
        dm = build_datamodule(smoke_cfg)
        model = GraphFusionClassifier(smoke_cfg.model, dm.dims, anneal_steps=40)
        hist = fit_graph_classifier(
            model, dm.train_dataloader(), dm.val_dataloader(), epochs=5, lr=1e-2
        )
        return hist, evaluate_graph_classifier(model, dm.test_dataloader())

    (h1, e1), (h2, e2) = train(), train()
    assert h1 == h2 and np.array_equal(e1.influence, e2.influence)
    assert h1[-1]["train_loss"] < h1[0]["train_loss"]
    assert h1[-1]["tau"] < h1[0]["tau"]  # the temperature annealed
    assert e1.accuracy > 1 / 6 + 0.1
    assert e1.influence.shape == (smoke_cfg.data.n_test, 3) and 0 <= e1.driver_acc <= 1


def test_fit_rejects_bad_epochs(smoke_cfg):
    dm = build_datamodule(smoke_cfg)
    model = GraphFusionClassifier(smoke_cfg.model, dm.dims, anneal_steps=1)
    with pytest.raises(ValueError, match="epochs"):
        fit_graph_classifier(
            model, dm.train_dataloader(), dm.val_dataloader(), epochs=0, lr=1e-3
        )


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
    moved = to_device({"x": torch.zeros(2), "id": ["a", "b"]}, torch.device("cpu"))
    assert moved["id"] == ["a", "b"] and moved["x"].device.type == "cpu"
