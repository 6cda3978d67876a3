import pytest
import torch

from affect_lib.affect_diff.bottleneck import (
    LatentBottleneck,
    gaussian_kl,
    reconstruction_loss,
)
from affect_lib.schema import MODALITIES

D_MODEL, LATENT = 8, 4
DIMS = {"text": 10, "audio": 6, "video": 5}
B, T = 3, 5


def make(**kw) -> LatentBottleneck:
    torch.manual_seed(0)
    return LatentBottleneck(
        d_model=D_MODEL, latent_dim=LATENT, modality_dims=DIMS, **kw
    )


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, :2] = False  # left padding
    mask[2, :4] = False
    encoded = {
        m: torch.randn(B, T, D_MODEL, generator=g) * mask.unsqueeze(-1)
        for m in MODALITIES
    }
    influence = torch.softmax(torch.randn(B, 3, generator=g), dim=-1)
    return encoded, influence, mask


def test_shapes_and_padding():
    enc, infl, mask = inputs()
    out = make().train()(enc, infl, mask)
    for name in ("z", "mu", "logvar"):
        t = getattr(out, name)
        assert t.shape == (B, T, LATENT)
        assert torch.all(t[~mask] == 0)
    assert out.fused.shape == (B, T, D_MODEL) and out.kl.shape == ()
    recon = make().decode(out.z, mask)
    assert {m: tuple(r.shape) for m, r in recon.items()} == {
        m: (B, T, d) for m, d in DIMS.items()
    }
    assert all(torch.all(r[~mask] == 0) for r in recon.values())


def test_logvar_clamped_for_huge_inputs():
    enc, infl, mask = inputs()
    model = make()
    for sign in (1.0, -1.0):
        huge = {
            m: sign * 1e6 * torch.ones_like(h) * mask.unsqueeze(-1)
            for m, h in enc.items()
        }
        out = model(huge, infl, mask)
        assert out.logvar.min() >= -10.0 and out.logvar.max() <= 2.0
        assert torch.isfinite(out.z).all() and torch.isfinite(out.kl)
        assert (out.logvar[mask] == 2.0).any() or (
            out.logvar[mask] == -10.0
        ).any()  # the clamp was hit


def test_kl_closed_form():
    mask = torch.ones(1, 2, dtype=torch.bool)
    zeros = torch.zeros(1, 2, 3)
    assert gaussian_kl(zeros, zeros, mask).item() == 0.0
    mu = torch.tensor([[[1.0, 0.0, -2.0], [0.5, 0.5, 0.0]]])
    logvar = torch.tensor([[[0.0, 1.0, -1.0], [0.0, 0.0, 2.0]]])
    var = logvar.exp()
    # summed over dims, mean over steps
    by_hand = 0.5 * (mu**2 + var - 1 - logvar).sum(-1).mean()
    torch.testing.assert_close(gaussian_kl(mu, logvar, mask), by_hand)
    step0 = 0.5 * (
        1 + 0 + 4 + 0 + (torch.e - 1 - 1) + (torch.exp(torch.tensor(-1.0)) - 1 + 1)
    )
    torch.testing.assert_close(
        gaussian_kl(mu[:, :1], logvar[:, :1], mask[:, :1]), step0
    )
    # free bits floor each dim's average KL
    floored = gaussian_kl(zeros, zeros, mask, free_bits=0.25)
    torch.testing.assert_close(floored, torch.tensor(0.75))


def test_kl_weighting_by_beta():
    enc, infl, mask = inputs()
    m1, m3 = make(beta=1.0).eval(), make(beta=3.0).eval()
    torch.testing.assert_close(m3(enc, infl, mask).kl, 3 * m1(enc, infl, mask).kl)


def test_masked_steps_do_not_contribute():
    mask = torch.tensor([[False, True, True]])
    mu, logvar = torch.randn(1, 3, 4), torch.randn(1, 3, 4)
    mu2, logvar2 = mu.clone(), logvar.clone()
    mu2[0, 0], logvar2[0, 0] = 50.0, 1.5
    torch.testing.assert_close(
        gaussian_kl(mu, logvar, mask), gaussian_kl(mu2, logvar2, mask)
    )
    pred, target = {"audio": torch.randn(1, 3, 2)}, {"audio": torch.randn(1, 3, 2)}
    total, _ = reconstruction_loss(pred, target, mask)
    pred["audio"][0, 0] += 1e3
    torch.testing.assert_close(reconstruction_loss(pred, target, mask)[0], total)
    expected = (pred["audio"][0, 1:] - target["audio"][0, 1:]).pow(2).mean()
    torch.testing.assert_close(total, expected)
    # through the module: the bottleneck's KL equals a KL computed on the valid steps
    # alone
    enc, infl, full = inputs()
    out = make().eval()(enc, infl, full)
    valid = [
        gaussian_kl(
            out.mu[i : i + 1, full[i]],
            out.logvar[i : i + 1, full[i]],
            torch.ones(1, int(full[i].sum()), dtype=torch.bool),
        )
        for i in range(B)
    ]
    torch.testing.assert_close(out.kl, torch.stack(valid).mean())


def test_reconstruction_loss_per_modality():
    enc, infl, mask = inputs()
    model = make()
    recon = model.decode(model.eval()(enc, infl, mask).z, mask)
    targets = {m: torch.randn(B, T, d) * mask.unsqueeze(-1) for m, d in DIMS.items()}
    total, per = reconstruction_loss(recon, targets, mask)
    assert set(per) == set(DIMS)
    torch.testing.assert_close(total, sum(per.values()))
    _, perfect = reconstruction_loss(targets, targets, mask)
    assert all(v.item() == 0 for v in perfect.values())
    with pytest.raises(ValueError, match="targets lack modality 'video'"):
        reconstruction_loss(recon, {m: targets[m] for m in ("text", "audio")}, mask)
    with pytest.raises(
        ValueError,
        match=r"targets\['audio'\]: got shape \(3, 5, 7\), expected \(3, 5, 6\)",
    ):
        reconstruction_loss(recon, targets | {"audio": torch.zeros(B, T, 7)}, mask)


def test_eval_deterministic_unless_sampling():
    enc, infl, mask = inputs()
    model = make().eval()
    a, b = model(enc, infl, mask), model(enc, infl, mask)
    torch.testing.assert_close(a.z, b.z, atol=0, rtol=0)
    torch.testing.assert_close(a.z, a.mu, atol=0, rtol=0)
    s1 = model(
        enc, infl, mask, sample=True, generator=torch.Generator().manual_seed(1)
    ).z
    s2 = model(
        enc, infl, mask, sample=True, generator=torch.Generator().manual_seed(1)
    ).z
    torch.testing.assert_close(s1, s2, atol=0, rtol=0)
    assert not torch.allclose(s1[mask], a.mu[mask])
    train = make().train()
    assert not torch.allclose(train(enc, infl, mask).z[mask], a.mu[mask])


@pytest.mark.parametrize("index", range(3))
def test_one_hot_influence_selects_the_modality(index):
    enc, _, mask = inputs()
    infl = torch.nn.functional.one_hot(torch.full((B,), index), 3).float()
    out = make().eval()(enc, infl, mask)
    torch.testing.assert_close(out.fused, enc[MODALITIES[index]], atol=0, rtol=0)


def test_gradients_flow_in_proportion_to_influence():
    enc, _, mask = inputs()
    enc = {m: h.clone().requires_grad_() for m, h in enc.items()}
    infl = torch.tensor(
        [[0.6, 0.3, 0.1], [0.2, 0.0, 0.8], [0.5, 0.25, 0.25]], requires_grad=True
    )
    model = make().train()
    out = model(enc, infl, mask, generator=torch.Generator().manual_seed(0))
    targets = {m: torch.randn(B, T, d) for m, d in DIMS.items()}
    loss = out.kl + reconstruction_loss(model.decode(out.z, mask), targets, mask)[0]
    loss.backward()
    grad_fused = enc["text"].grad / infl[:, 0, None, None].detach()  # d loss / d fused
    assert grad_fused[mask].abs().sum() > 0
    for i, m in enumerate(MODALITIES):
        torch.testing.assert_close(
            enc[m].grad, infl[:, i, None, None].detach() * grad_fused
        )
    # zero weight: no gradient for that sample
    assert torch.all(enc["audio"].grad[1] == 0)
    assert (
        enc["audio"].grad[[0, 2]].abs().sum() > 0 and enc["video"].grad.abs().sum() > 0
    )
    assert infl.grad.abs().sum() > 0  # the graph is trained through the fusion too


def test_bad_input_raises():
    enc, infl, mask = inputs()
    model = make()
    with pytest.raises(ValueError, match=r"encoded lacks modality \['audio'\]"):
        model({m: enc[m] for m in ("text", "video")}, infl, mask)
    with pytest.raises(
        ValueError,
        match=r"encoded\['video'\]: got shape \(3, 5, 7\), expected \(3, 5, 8\)",
    ):
        model(enc | {"video": torch.zeros(B, T, 7)}, infl, mask)
    with pytest.raises(
        ValueError,
        match=r"encoded\['text'\]: got shape \(3, 4, 8\), expected \(3, 5, 8\)",
    ):
        model(enc | {"text": torch.zeros(B, T - 1, D_MODEL)}, infl, mask)
    nan = enc["audio"].clone()
    nan[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"encoded\['audio'\]: contains NaN"):
        model(enc | {"audio": nan}, infl, mask)
    with pytest.raises(
        ValueError, match=r"influence has shape \(3, 2\), expected \(3, 3\)"
    ):
        model(enc, infl[:, :2], mask)
    with pytest.raises(ValueError, match="influence contains NaN"):
        model(enc, torch.full((B, 3), float("nan")), mask)
    empty = mask.clone()
    empty[0] = False
    with pytest.raises(ValueError, match="no valid step"):
        model(enc, infl, empty)
    with pytest.raises(
        ValueError, match=r"decode: z: got shape \(3, 5, 5\), expected \(B, T, 4\)"
    ):
        model.decode(torch.zeros(B, T, LATENT + 1), mask)
    with pytest.raises(ValueError, match="modality_dims keys"):
        LatentBottleneck(d_model=D_MODEL, latent_dim=LATENT, modality_dims={"text": 3})
    with pytest.raises(ValueError, match="logvar_min"):
        make(logvar_min=3.0)


def test_end_to_end_on_a_smoke_batch(smoke_corpora):
    """Encoders -> graph -> bottleneck -> decoders on a real batch: finite loss, every
    part gets grads."""
    from affect_lib.affect_diff.causal_graph import CausalAttentionGraph
    from affect_lib.affect_diff.encoders import ModalityEncoders

    corpus = smoke_corpora["train"]
    # the batch contract of affect_lib.data.datamodule, built directly (importing it
    # loads Lightning)
    batch = {k: torch.from_numpy(getattr(corpus, k)[:8]) for k in (*MODALITIES, "mask")}
    torch.manual_seed(0)
    encoders = ModalityEncoders(dims=corpus.dims, d_model=D_MODEL, dropout=0.0)
    graph = CausalAttentionGraph(d_model=D_MODEL)
    bottleneck = LatentBottleneck(
        d_model=D_MODEL, latent_dim=LATENT, modality_dims=corpus.dims
    )
    encoded = encoders(batch)
    g = graph(
        encoders.pool(encoded, batch["mask"]),
        generator=torch.Generator().manual_seed(0),
    )
    out = bottleneck(
        encoded, g.influence, batch["mask"], generator=torch.Generator().manual_seed(0)
    )
    recon = bottleneck.decode(out.z, batch["mask"])
    loss = (
        out.kl
        + reconstruction_loss(recon, {m: batch[m] for m in MODALITIES}, batch["mask"])[
            0
        ]
    )
    assert torch.isfinite(loss)
    loss.backward()
    for module in (encoders, graph, bottleneck):
        assert all(
            p.grad is not None and torch.isfinite(p.grad).all()
            for p in module.parameters()
        )


def test_decoders_that_read_the_influence_weights():
    enc, infl, mask = inputs()
    model = make(decoder_influence=True).eval()
    z = model(enc, infl, mask).z
    recon = model.decode(z, mask, infl)
    assert {m: tuple(r.shape) for m, r in recon.items()} == {
        m: (B, T, d) for m, d in DIMS.items()
    }
    assert all(torch.all(r[~mask] == 0) for r in recon.values())
    # same z, another driver: another reconstruction
    other = model.decode(z, mask, infl.flip(-1))
    assert not torch.allclose(recon["text"][mask], other["text"][mask])
    with pytest.raises(
        ValueError, match="read the influence weights.*expected \\(3, 3\\)"
    ):
        model.decode(z, mask)
    with pytest.raises(ValueError, match="influence is \\(3, 2\\)"):
        model.decode(z, mask, infl[:, :2])
    plain = make().eval()
    # ignored when not read
    torch.testing.assert_close(plain.decode(z, mask), plain.decode(z, mask, infl))


@pytest.mark.parametrize("decoder_influence", [False, True])
def test_reconstruction_on_valid_steps_equals_the_masked_loss(decoder_influence):
    enc, infl, mask = inputs()
    model = make(decoder_influence=decoder_influence)
    z = model.eval()(enc, infl, mask).z.detach().requires_grad_(True)
    g = torch.Generator().manual_seed(3)
    targets = {m: torch.randn(B, T, d, generator=g) for m, d in DIMS.items()}
    # padded target rows hold garbage: neither loss may read them
    targets = {m: t + 1e3 * (~mask).unsqueeze(-1) for m, t in targets.items()}
    total, per = model.reconstruction(z, mask, targets, infl)
    (grad,) = torch.autograd.grad(total, z)
    ref_total, ref_per = reconstruction_loss(model.decode(z, mask, infl), targets, mask)
    (ref_grad,) = torch.autograd.grad(ref_total, z)
    torch.testing.assert_close(total, ref_total)
    torch.testing.assert_close(per, ref_per)
    torch.testing.assert_close(grad, ref_grad)
    assert torch.all(grad[~mask] == 0)


def test_reconstruction_bad_input_names_what():
    enc, infl, mask = inputs()
    model = make(decoder_influence=True)
    z = model.eval()(enc, infl, mask).z
    targets = {m: torch.zeros(B, T, d) for m, d in DIMS.items()}
    with pytest.raises(ValueError, match="targets lack modality 'video'"):
        model.reconstruction(z, mask, {m: targets[m] for m in ("text", "audio")}, infl)
    with pytest.raises(
        ValueError, match=r"targets\['audio'\]: got shape \(3, 5, 7\), expected"
    ):
        model.reconstruction(z, mask, targets | {"audio": torch.zeros(B, T, 7)}, infl)
    with pytest.raises(ValueError, match="read the influence weights"):
        model.reconstruction(z, mask, targets)
    with pytest.raises(ValueError, match="reconstruction: z"):
        model.reconstruction(z[..., :2], mask, targets, infl)
