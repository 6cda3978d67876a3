import pytest
import torch

from affect_lib.affect_diff.diffusion import (
    DiffusionSchedule,
    ResnetBlock1D,
    SinusoidalTimeEmbedding,
    UNet1D,
    guided_eps_fn,
)


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: one thread avoids oversubscription on small CI machines (and is
    # faster here).
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def make_model(
    *, random_head: bool = False, seed: int = 0, mults: tuple[int, ...] = (1, 2, 4)
) -> UNet1D:
    torch.manual_seed(seed)
    model = UNet1D(
        channels=4, base_channels=16, channel_mults=mults, num_classes=6, groups=4
    ).eval()
    # undo the zero init so that the conditioning is visible in the output
    if random_head:
        torch.nn.init.normal_(model.final_conv.weight, std=0.1)
    return model


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_building_blocks():
    emb = SinusoidalTimeEmbedding(8)(torch.tensor([0, 10, 999]))
    assert emb.shape == (3, 8)
    # sin 0, cos 0
    torch.testing.assert_close(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    with pytest.raises(ValueError, match="dim must be an even number"):
        SinusoidalTimeEmbedding(7)
    block = ResnetBlock1D(8, 16, cond_dim=12, groups=4)
    assert block(randn(2, 8, 5), randn(2, 12)).shape == (2, 16, 5)
    with pytest.raises(ValueError, match=r"out_ch=10 must be divisible by groups=4"):
        ResnetBlock1D(8, 10, cond_dim=12, groups=4)


@pytest.mark.parametrize("length", [1, 5, 7, 12, 13, 32, 50])
def test_output_shape_matches_input_for_any_length(length):
    model = make_model(random_head=True)
    x = randn(2, length, 4)
    with torch.no_grad():
        eps = model(x, torch.tensor([0, 999]), torch.tensor([1, 6]))
    assert eps.shape == x.shape and torch.isfinite(eps).all()


def test_zero_init_head_predicts_zero_noise():
    with torch.no_grad():
        eps = make_model()(randn(3, 9, 4), torch.tensor([1, 50, 99]), 2)
    assert torch.equal(eps, torch.zeros(3, 9, 4))


def test_mask_zeroes_padded_steps_and_hides_their_content():
    model = make_model(random_head=True)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[0, :3] = False  # left padding, as in the data module
    mask[1, 6:] = False
    x, t, label = randn(2, 8, 4), torch.tensor([10, 500]), torch.tensor([0, 3])
    with torch.no_grad():
        eps = model(x, t, label, mask=mask)
        assert torch.all(eps[~mask] == 0) and torch.all(eps[mask] != 0)
        assert torch.equal(eps, model(x, t, label, mask=mask))  # deterministic in eval
        # The input is multiplied by the mask, so whatever sits on padded steps cannot
        # matter.
        x_other = torch.where(mask[..., None], x, randn(2, 8, 4, seed=1) * 100)
        assert torch.equal(eps, model(x_other, t, label, mask=mask))
        # Hence a right-padded sequence matches the sequence alone when both pad to the
        # same internal length (here 8); otherwise convolutions see a different zero
        # margin and outputs differ slightly.
        alone = model(x[1:, :6], t[1:], label[1:])
    torch.testing.assert_close(eps[1, :6], alone[0])


def test_label_and_influence_change_the_output():
    model = make_model(random_head=True)
    x, t = randn(2, 10, 4), torch.tensor([100, 100])
    with torch.no_grad():
        base = model(x, t, torch.tensor([0, 0]))
        assert not torch.allclose(base, model(x, t, torch.tensor([5, 5])))
        # null label is its own condition
        assert not torch.allclose(base, model(x, t, torch.tensor([6, 6])))
        # None == zero influence
        assert torch.equal(base, model(x, t, 0, influence=torch.zeros(2, 3)))
        assert not torch.allclose(
            base, model(x, t, 0, influence=torch.tensor([[1.0, 0, 0], [0, 0, 1.0]]))
        )
        assert not torch.allclose(base, model(x, torch.tensor([900, 900]), 0))


def test_input_validation():
    model = make_model()
    assert model.null_label == 6
    x, t = randn(2, 5, 4), torch.tensor([1, 2])
    model(x, t, torch.tensor([6, 0]))  # the null label is accepted
    with pytest.raises(
        ValueError,
        match=r"label must be in \[0, 6\] \(6 = null label\), got values in \[0, 7\]",
    ):
        model.check_inputs(x, t, torch.tensor([7, 0]))
    with pytest.raises(ValueError, match=r"label must be in \[0, 6\]"):
        model.check_inputs(x, t, -1)
    with pytest.raises(ValueError, match="label must be an integer tensor"):
        model(x, t, torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"label must be a scalar or of shape \(2,\)"):
        model(x, t, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 4\)"):
        model(randn(2, 5, 3), t, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 4\)"):
        model(randn(5, 4), t, 0)
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        model.check_inputs(x.index_fill(1, torch.tensor([3]), float("inf")), t, 0)
    with pytest.raises(ValueError, match=r"t must be a scalar or of shape \(2,\)"):
        model(x, torch.tensor([1, 2, 3]), 0)
    with pytest.raises(ValueError, match=r"influence must have shape \(2, 3\)"):
        model(x, t, 0, influence=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="influence contains NaN"):
        model.check_inputs(x, t, 0, influence=torch.full((2, 3), float("nan")))
    with pytest.raises(
        ValueError, match=r"mask must be a bool tensor of shape \(2, 5\)"
    ):
        model(x, t, 0, mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"in_ch=16 must be divisible by groups=3"):
        UNet1D(channels=4, base_channels=16, groups=3)


def test_values_are_checked_where_inputs_enter_not_at_every_step():
    """forward checks shapes only (a sampler calls it once per step); the samplers'
    eps_fn and the training loss check values once, through check_inputs."""
    model = make_model()
    x, t = randn(2, 5, 4), torch.tensor([1, 2])
    bad = x.index_fill(1, torch.tensor([3]), float("nan"))
    assert torch.isnan(model(bad, t, 0)).any()  # no value check in forward
    eps_fn = guided_eps_fn(model, label=torch.tensor([7, 0]), scale=2.0)
    with pytest.raises(ValueError, match=r"label must be in \[0, 6\]"):
        eps_fn(x, t)
    schedule = DiffusionSchedule(timesteps=10)
    with pytest.raises(ValueError, match="influence contains NaN"):
        schedule.loss(model, x, label=0, influence=torch.full((2, 3), float("nan")))


def test_gradients_reach_label_embedding_and_influence_projection():
    model = make_model(random_head=True).train()
    label, influence = (
        torch.tensor([1, 6]),
        torch.tensor([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]]),
    )
    model(randn(2, 7, 4), torch.tensor([3, 40]), label, influence=influence).pow(
        2
    ).sum().backward()
    emb_grad = model.label_emb.weight.grad
    assert emb_grad[label].abs().sum(-1).gt(0).all()  # used rows, null label included
    assert torch.all(emb_grad[[0, 2, 3, 4, 5]] == 0)  # unused rows
    assert model.influence_proj.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())


def test_overfits_tiny_batch():
    # ε-prediction on 4 fixed latents: the loss on fixed (t, ε) draws must drop well
    # below E‖ε‖² = 1.
    sched = DiffusionSchedule(timesteps=100)
    model = make_model(mults=(1, 2)).train()
    x0, label = randn(4, 12, 4), torch.tensor([0, 1, 2, 6])

    def held_out_loss() -> float:
        with torch.no_grad():
            return (
                sum(
                    sched.loss(
                        model,
                        x0,
                        label=label,
                        generator=torch.Generator().manual_seed(100 + k),
                    ).item()
                    for k in range(8)
                )
                / 8
            )

    before = held_out_loss()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    for _ in range(120):
        loss = sched.loss(model, x0, label=label, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = held_out_loss()
    assert before == pytest.approx(1.0, abs=0.2)
    assert after < 0.6 * before
