"""The plain loop: hooks in order, one clipped optimiser step per batch, mean loss per
sample."""

import torch
from torch.utils.data import DataLoader

from affect_lib.loop import run_epoch


def test_run_epoch_steps_hooks_and_mean_loss():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.tensor([3.0]))
    data = [{"x": torch.full((n,), float(n)), "label": torch.zeros(n)} for n in (1, 3)]
    loader = DataLoader(data, batch_size=None)  # two batches of 1 and 3 samples
    calls = []
    losses = []

    def step_loss(batch):
        calls.append("loss")
        loss = (w * batch["x"]).mean() ** 2
        losses.append((loss.item(), len(batch["label"])))
        return loss

    opt = torch.optim.SGD([w], lr=0.01)
    mean = run_epoch(
        [w],
        loader,
        step_loss,
        opt,
        clip=1.0,
        epoch=0,
        before_step=lambda i: calls.append(f"before {i}"),
        after_step=lambda: calls.append("after"),
    )
    assert calls == ["before 0", "loss", "after", "before 1", "loss", "after"]
    expected = sum(v * n for v, n in losses) / 4
    assert abs(mean - expected) < 1e-6
    # two steps with gradients clipped to norm 1 move w by at most 2 * lr
    assert 3.0 - 0.02 - 1e-6 <= w.item() < 3.0
