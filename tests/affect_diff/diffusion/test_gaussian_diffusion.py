import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from affect_lib.affect_diff.diffusion import (
    DiffusionSchedule,
    classifier_free_guidance,
    cosine_beta_schedule,
    drop_labels,
    guided_eps_fn,
)


@pytest.fixture(autouse=True)
def one_thread():
    # Samplers run ~1000 tiny steps: one thread avoids oversubscription on small CI
    # machines.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def sched() -> DiffusionSchedule:
    return DiffusionSchedule(timesteps=1000, schedule="cosine")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def point_mass_eps(sched: DiffusionSchedule, c: torch.Tensor):
    """Optimal ε-predictor when the data are the single point ``c``: ε = (x − √ᾱ
    c)/√(1−ᾱ)."""

    def eps_fn(x, t):
        shape = (-1,) + (1,) * (x.ndim - 1)
        a = sched.sqrt_alphas_cumprod[t].view(shape)
        return (x - a * c) / sched.sqrt_one_minus_alphas_cumprod[t].view(shape)

    return eps_fn


def gaussian_eps(sched: DiffusionSchedule, mu: float, sd: float):
    """Optimal ε-predictor for data ~ N(mu, sd²) per coordinate: E[ε | x_t] = b(x −
    a·mu)/(a²sd² + b²)."""

    def eps_fn(x, t):
        a = sched.sqrt_alphas_cumprod[t].double().view(-1, 1)
        b = sched.sqrt_one_minus_alphas_cumprod[t].double().view(-1, 1)
        return (b * (x.double() - a * mu) / (a**2 * sd**2 + b**2)).float()

    return eps_fn


# -- schedule --------------------------------------------------------------------------


def test_cosine_schedule_golden_values():
    betas = cosine_beta_schedule(1000)
    assert betas.dtype == torch.float64 and betas.shape == (1000,)
    assert betas[0].item() == pytest.approx(4.1284e-05, rel=1e-4)
    assert betas[1].item() == pytest.approx(4.6142e-05, rel=1e-4)
    assert betas[999].item() == 0.999
    assert int((betas >= 0.999).sum()) == 1  # only the last step is clipped
    abar = torch.cumprod(1 - betas, 0)
    assert abar[0].item() == pytest.approx(0.9999587, rel=1e-7)
    assert abar[499].item() == pytest.approx(0.49384, rel=1e-4)
    assert abar[999].item() == pytest.approx(2.43e-9, rel=1e-2)
    assert torch.all(torch.diff(abar) < 0)


def test_schedule_buffers(sched):
    # non-persistent: recomputed from (timesteps, schedule)
    assert sched.state_dict() == {}
    betas = cosine_beta_schedule(1000)
    abar = torch.cumprod(1 - betas, 0)
    abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
    for name in (
        "betas",
        "alphas_cumprod",
        "posterior_variance",
        "posterior_log_variance_clipped",
    ):
        buf = getattr(sched, name)
        assert (
            buf.dtype == torch.float32
            and buf.shape == (1000,)
            and torch.isfinite(buf).all()
        ), name
    torch.testing.assert_close(sched.alphas_cumprod, abar.float())
    torch.testing.assert_close(sched.alphas_cumprod_prev, abar_prev.float())
    torch.testing.assert_close(
        sched.sqrt_alphas_cumprod**2 + sched.sqrt_one_minus_alphas_cumprod**2,
        torch.ones(1000),
    )
    expected_var = (1 - abar_prev) / (1 - abar) * betas
    torch.testing.assert_close(sched.posterior_variance, expected_var.float())
    assert sched.posterior_variance[0] == 0
    assert (
        sched.posterior_log_variance_clipped[0]
        == sched.posterior_log_variance_clipped[1]
    )
    # "fixed small" <= "fixed large"
    assert torch.all(sched.posterior_variance <= sched.betas)


def test_schedule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="schedule must be one of"):
        DiffusionSchedule(timesteps=10, schedule="sigmoid")
    with pytest.raises(ValueError, match="timesteps must be >= 1"):
        DiffusionSchedule(timesteps=0)
    linear = DiffusionSchedule(timesteps=50, schedule="linear")
    assert torch.all(torch.diff(linear.betas) > 0)


# -- closed forms ----------------------------------------------------------------------


def test_q_sample_closed_form_and_predict_x0_inverts(sched):
    g = gen(1)
    x0 = torch.randn(6, 5, 3, generator=g, dtype=torch.float64)
    noise = torch.randn(6, 5, 3, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 1, 250, 499, 998, 999])
    x_t = sched.q_sample(x0, t, noise)
    a = torch.cumprod(1 - cosine_beta_schedule(1000), 0)[t][:, None, None]
    # float32 coefs
    torch.testing.assert_close(
        x_t, a.sqrt() * x0 + (1 - a).sqrt() * noise, rtol=0, atol=1e-6
    )
    torch.testing.assert_close(
        sched.predict_x0(x_t, t, noise), x0, rtol=1e-9, atol=1e-9
    )


def test_q_sample_validates_input(sched):
    x0 = torch.zeros(2, 4, 3)
    with pytest.raises(ValueError, match=r"t must be in \[0, 999\]"):
        sched.q_sample(x0, torch.tensor([0, 1000]), torch.zeros_like(x0))
    with pytest.raises(ValueError, match=r"t must be in \[0, 999\]"):
        sched.q_sample(x0, torch.tensor([-1, 3]), torch.zeros_like(x0))
    with pytest.raises(
        ValueError, match=r"t must be an integer tensor of shape \(2,\)"
    ):
        sched.q_sample(x0, torch.tensor([1, 2, 3]), torch.zeros_like(x0))
    with pytest.raises(ValueError, match="t must be an integer tensor"):
        sched.q_sample(x0, torch.tensor([1.0, 2.0]), torch.zeros_like(x0))
    with pytest.raises(ValueError, match="noise .* must have the shape of x0"):
        sched.q_sample(x0, torch.tensor([1, 2]), torch.zeros(2, 4, 2))
    with pytest.raises(ValueError, match="x0 contains NaN or inf"):
        sched.q_sample(
            x0.index_fill(1, torch.tensor([2]), float("nan")),
            torch.tensor([1, 2]),
            torch.zeros_like(x0),
        )


@settings(max_examples=20, deadline=None)
@given(step=st.integers(0, 999), seed=st.integers(0, 2**16))
def test_q_sample_preserves_unit_variance(step, seed):
    # Var(√ᾱ x0 + √(1−ᾱ) ε) = ᾱ + (1 − ᾱ) = 1 for unit-variance x0 (the "variance
    # preserving" process).
    sched = DiffusionSchedule(timesteps=1000)
    g = gen(seed)
    x0 = torch.randn(20000, 1, generator=g)
    x_t = sched.q_sample(
        x0, torch.full((20000,), step), torch.randn(20000, 1, generator=g)
    )
    assert x_t.var().item() == pytest.approx(1.0, abs=0.06)  # > 6 standard errors


def test_noise_to_is_q_sample_with_seeded_noise(sched):
    x0 = torch.randn(3, 7, 2, generator=gen(2))
    x_t = sched.noise_to(x0, 300, generator=gen(5))
    noise = torch.randn(3, 7, 2, generator=gen(5))
    torch.testing.assert_close(x_t, sched.q_sample(x0, torch.full((3,), 300), noise))
    with pytest.raises(ValueError, match=r"t_start must be in \[0, 999\]"):
        sched.noise_to(x0, 1000)


# -- samplers --------------------------------------------------------------------------


def test_samplers_recover_point_mass(sched):
    c = torch.linspace(-1, 1, 4 * 6 * 3).view(4, 6, 3)
    eps_fn = point_mass_eps(sched, c)
    ddpm = sched.p_sample_loop(eps_fn, (4, 6, 3), generator=gen(0))
    ddim = sched.ddim_sample(eps_fn, (4, 6, 3), steps=50, eta=0.0, generator=gen(0))
    torch.testing.assert_close(ddpm, c, atol=1e-4, rtol=0)
    torch.testing.assert_close(ddim, c, atol=1e-4, rtol=0)


def test_samplers_match_gaussian_data_with_exact_score(sched):
    # Stronger than the point mass: a wrong posterior variance or DDIM σ would change
    # the spread.
    mu, sd, shape = 1.5, 0.5, (8, 500)
    eps_fn = gaussian_eps(sched, mu, sd)
    ddpm = sched.p_sample_loop(eps_fn, shape, generator=gen(0))
    assert ddpm.mean().item() == pytest.approx(mu, abs=0.03)
    assert ddpm.std().item() == pytest.approx(sd, rel=0.03)
    for eta in (0.0, 1.0):
        ddim = sched.ddim_sample(eps_fn, shape, steps=200, eta=eta, generator=gen(0))
        assert ddim.mean().item() == pytest.approx(mu, abs=0.03), eta
        assert ddim.std().item() == pytest.approx(sd, rel=0.05), eta


def _abar64(timesteps: int) -> torch.Tensor:
    """ᾱ in float64 straight from the betas (not the schedule's buffers, which a bug
    could share)."""
    return torch.cumprod(1 - cosine_beta_schedule(timesteps), dim=0)


@pytest.mark.parametrize("timesteps", [5, 1000])
def test_ddpm_one_step_is_the_posterior_with_fixed_small_variance(timesteps):
    """p_sample_loop from t=1 equals μ̃ + √β̃·z with β̃ = (1−ᾱ₀)/(1−ᾱ₁)·β₁, then x̂₀ at
    t=0.

    Catches σ = 0, a halved σ, σ² = β_t ("fixed large") and a wrong posterior mean; the
    spread test above cannot see them.
    """
    sched = DiffusionSchedule(timesteps=timesteps, schedule="cosine")
    betas, abar = cosine_beta_schedule(timesteps), _abar64(timesteps)
    x_T = torch.randn(3, 4, 2, generator=gen(20))
    # fixed ε̂, independent of x: everything is closed form
    e = torch.randn(3, 4, 2, generator=gen(21))
    out = sched.p_sample_loop(
        lambda x, t: e, x_T.shape, x_T=x_T, t_start=1, generator=gen(22)
    )
    z = torch.randn(
        3, 4, 2, generator=gen(22)
    ).double()  # the only draw: x_T is given, t=0 adds none
    x, e = x_T.double(), e.double()
    b1, a0, a1 = betas[1], abar[0], abar[1]
    x0_hat = (x - (1 - a1).sqrt() * e) / a1.sqrt()
    mean = (
        b1 * a0.sqrt() / (1 - a1) * x0_hat + (1 - a0) * (1 - b1).sqrt() / (1 - a1) * x
    )
    x1 = mean + ((1 - a0) / (1 - a1) * b1).sqrt() * z
    expected = (
        x1 - (1 - a0).sqrt() * e
    ) / a0.sqrt()  # t=0: μ̃ = x̂₀ (coef1 = 1, coef2 = 0), no noise
    torch.testing.assert_close(out.double(), expected, atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("eta", [1.0, 0.5])
def test_ddim_steps_match_the_closed_form_sigma(sched, eta):
    """ddim_sample over [600, 300, 0] equals the REFERENCE step with σ =
    η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_prev)).

    Catches σ = 0, a halved σ, σ without the (1−ᾱ_prev)/(1−ᾱ_t) factor, σ not linear in
    η and a direction term √(1−ᾱ_prev) that forgets −σ².
    """
    abar = _abar64(1000).tolist()
    x_T = torch.randn(3, 4, 2, generator=gen(30))
    e = torch.randn(3, 4, 2, generator=gen(31))
    used = gen(32)
    out = sched.ddim_sample(
        lambda x, t: e,
        x_T.shape,
        steps=3,
        eta=eta,
        x_T=x_T,
        t_start=600,
        generator=used,
    )
    g = gen(32)
    x, e = x_T.double(), e.double()
    for step, prev in ((600, 300), (300, 0), (0, None)):
        a_t = abar[step]
        a_prev = 1.0 if prev is None else abar[prev]
        x0_hat = (x - math.sqrt(1 - a_t) * e) / math.sqrt(a_t)
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
        x = math.sqrt(a_prev) * x0_hat + math.sqrt(1 - a_prev - sigma**2) * e
        if prev is not None:  # the last step (to ᾱ = 1) has σ = 0 and draws nothing
            assert sigma > 0
            x = x + sigma * torch.randn(3, 4, 2, generator=g).double()
    torch.testing.assert_close(out.double(), x, atol=2e-5, rtol=1e-5)
    # exactly the two draws of the closed form
    assert torch.equal(used.get_state(), g.get_state())


def test_ddim_eta0_is_deterministic_and_ddpm_is_seeded(sched):
    c = torch.zeros(2, 5, 3)
    # any smooth eps_fn; x flattened to (B, -1) below
    eps_fn = gaussian_eps(sched, 0.0, 1.0)
    flat = lambda x, t: eps_fn(x.view(x.shape[0], -1), t).view_as(x)  # noqa: E731
    x_T = torch.randn(2, 5, 3, generator=gen(3))
    first = sched.ddim_sample(flat, c.shape, steps=10, x_T=x_T)
    assert torch.equal(first, sched.ddim_sample(flat, c.shape, steps=10, x_T=x_T))
    g = gen(9)
    sched.ddim_sample(flat, c.shape, steps=10, x_T=x_T, generator=g)
    assert torch.equal(g.get_state(), gen(9).get_state())  # eta=0 draws no noise
    a = sched.p_sample_loop(flat, c.shape, generator=gen(4), t_start=50)
    assert torch.equal(
        a, sched.p_sample_loop(flat, c.shape, generator=gen(4), t_start=50)
    )
    assert not torch.equal(
        a, sched.p_sample_loop(flat, c.shape, generator=gen(5), t_start=50)
    )


def test_partial_denoising_from_own_latent(sched):
    # Counterfactual editing: noise a latent to t_start, then denoise from there.
    c = torch.randn(3, 8, 2, generator=gen(6))
    eps_fn = point_mass_eps(sched, c)
    x_T = sched.noise_to(c, 400, generator=gen(7))
    out = sched.ddim_sample(eps_fn, c.shape, steps=20, x_T=x_T, t_start=400)
    torch.testing.assert_close(out, c, atol=1e-4, rtol=0)
    out = sched.p_sample_loop(eps_fn, c.shape, x_T=x_T, t_start=400, generator=gen(8))
    torch.testing.assert_close(out, c, atol=1e-4, rtol=0)
    one = sched.ddim_sample(
        eps_fn, c.shape, steps=1, x_T=sched.noise_to(c, 0, generator=gen(1)), t_start=0
    )
    torch.testing.assert_close(one, c, atol=1e-4, rtol=0)


def test_samplers_keep_padded_steps_at_zero(sched):
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[0, :4] = False  # left padding, as in the data module
    mask[2, 7:] = False
    eps_fn = lambda x, t: torch.ones_like(x)  # noqa: E731  would push padded steps away from 0
    for out in (
        sched.p_sample_loop(eps_fn, (3, 9, 2), generator=gen(0), t_start=20, mask=mask),
        sched.ddim_sample(
            eps_fn, (3, 9, 2), steps=5, eta=1.0, generator=gen(0), mask=mask
        ),
    ):
        assert torch.all(out[~mask] == 0)
        assert torch.all(out[mask] != 0)


def test_sampler_argument_errors(sched):
    eps_fn = lambda x, t: torch.zeros_like(x)  # noqa: E731
    with pytest.raises(ValueError, match=r"steps must be in \[1, t_start \+ 1 = 11\]"):
        sched.ddim_sample(eps_fn, (1, 2, 3), steps=12, t_start=10)
    with pytest.raises(ValueError, match="eta must be"):
        sched.ddim_sample(eps_fn, (1, 2, 3), steps=2, eta=-1.0)
    with pytest.raises(ValueError, match=r"t_start must be in \[0, 999\]"):
        sched.p_sample_loop(eps_fn, (1, 2, 3), t_start=-1)
    with pytest.raises(ValueError, match="x_T .* must have the requested shape"):
        sched.p_sample_loop(eps_fn, (1, 2, 3), x_T=torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="x_T contains NaN"):
        sched.p_sample_loop(eps_fn, (1, 2, 3), x_T=torch.full((1, 2, 3), math.inf))
    with pytest.raises(
        ValueError, match=r"mask must be a bool tensor of shape \(1, 2\)"
    ):
        sched.p_sample_loop(eps_fn, (1, 2, 3), mask=torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="eps_fn returned"):
        sched.ddim_sample(lambda x, t: x[..., :1], (1, 2, 3), steps=2)


# -- training loss ---------------------------------------------------------------------


def test_loss_is_eps_mse_and_forwards_conditioning(sched):
    seen = {}

    def zero_model(x, t, **cond):
        seen.update(cond)
        return torch.zeros_like(x)

    x0 = torch.randn(4, 6, 3, generator=gen(0))
    loss = sched.loss(
        zero_model, x0, generator=gen(1), label=torch.tensor([1, 2, 3, 4])
    )
    # Same draws as the loss: t first, then the noise.
    g = gen(1)
    torch.randint(0, 1000, (4,), generator=g)
    noise = torch.randn(4, 6, 3, generator=g)
    torch.testing.assert_close(loss, (noise**2).mean())
    assert torch.equal(seen["label"], torch.tensor([1, 2, 3, 4]))


def test_masked_loss_ignores_padded_steps(sched):
    x0 = torch.randn(3, 8, 2, generator=gen(0))
    mask = torch.ones(3, 8, dtype=torch.bool)
    mask[0, :5] = False
    mask[1, 6:] = False

    def model(bump):
        def eps_model(x, t, mask):
            # padded steps of x_t are zeroed, like in the samplers
            assert torch.all(x[~mask] == 0)
            return torch.zeros_like(x) + bump * (~mask)[..., None]

        return eps_model

    clean = sched.loss(model(0.0), x0, mask=mask, generator=gen(1))
    assert sched.loss(model(1e3), x0, mask=mask, generator=gen(1)) == clean
    g = gen(1)
    torch.randint(0, 1000, (3,), generator=g)
    noise = torch.randn(3, 8, 2, generator=g)
    torch.testing.assert_close(clean, (noise[mask] ** 2).mean())
    full = torch.ones(3, 8, dtype=torch.bool)
    torch.testing.assert_close(
        sched.loss(model(0.0), x0, mask=full, generator=gen(1)),
        sched.loss(lambda x, t: torch.zeros_like(x), x0, generator=gen(1)),
    )
    with pytest.raises(ValueError, match="mask has no valid step"):
        sched.loss(model(0.0), x0, mask=torch.zeros(3, 8, dtype=torch.bool))
    with pytest.raises(
        ValueError, match=r"mask must be a bool tensor of shape \(3, 8\)"
    ):
        sched.loss(model(0.0), x0, mask=torch.ones(3, 8))


# -- classifier-free guidance ----------------------------------------------------------


class ToyModel(torch.nn.Module):
    null_label = 6

    def forward(self, x, t, label, influence=None):
        out = x * (label.float() + 1)[:, None, None]
        return out if influence is None else out + influence.sum(-1)[:, None, None]


def test_cfg_formula():
    cond, uncond = (
        torch.randn(2, 4, 3, generator=gen(0)),
        torch.randn(2, 4, 3, generator=gen(1)),
    )
    for s in (0.0, 1.0, 2.5, -0.5):
        torch.testing.assert_close(
            classifier_free_guidance(cond, uncond, s), uncond + s * (cond - uncond)
        )
    with pytest.raises(ValueError, match="must have the same shape"):
        classifier_free_guidance(cond, uncond[:1], 2.0)


def test_guided_eps_fn_scales():
    model, x, t = (
        ToyModel(),
        torch.randn(2, 4, 3, generator=gen(0)),
        torch.tensor([5, 5]),
    )
    infl = torch.tensor([[0.1, 0.2, 0.3], [0.0, 0.0, 1.0]])
    uncond = model(x, t, torch.tensor([6, 6]), influence=infl)
    for label in (0, 3, torch.tensor([1, 2])):  # s=0: label exactly ignored
        assert torch.equal(
            guided_eps_fn(model, label=label, scale=0.0, influence=infl)(x, t), uncond
        )
    cond = model(x, t, torch.tensor([1, 2]), influence=infl)
    assert torch.equal(
        guided_eps_fn(
            model, label=torch.tensor([1, 2]), null_label=6, scale=1.0, influence=infl
        )(x, t),
        cond,
    )
    torch.testing.assert_close(
        guided_eps_fn(model, label=torch.tensor([1, 2]), scale=3.0, influence=infl)(
            x, t
        ),
        uncond + 3.0 * (cond - uncond),
    )
    with pytest.raises(ValueError, match=r"label must be an int or of shape \(2,\)"):
        guided_eps_fn(model, label=torch.tensor([1, 2, 3]), scale=2.0)(x, t)
    with pytest.raises(ValueError, match="null_label must be given"):
        guided_eps_fn(lambda x, t, label: x, label=1, scale=2.0)
    with pytest.raises(ValueError, match="scale must be finite"):
        guided_eps_fn(model, label=1, scale=math.nan)


def test_drop_labels():
    label = torch.arange(6).repeat(500)
    dropped = drop_labels(label, p=0.2, null_label=6, generator=gen(0))
    changed = dropped != label
    assert torch.all(dropped[changed] == 6)
    assert changed.float().mean().item() == pytest.approx(0.2, abs=0.03)
    assert torch.equal(drop_labels(label, p=0.0, null_label=6), label)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        drop_labels(label, p=1.5, null_label=6)
