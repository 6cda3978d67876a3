import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from affect_lib.affect_diff.causal_graph import (
    CausalAttentionGraph,
    gumbel_temperature,
    influence_from_adjacency,
    sample_adjacency,
)

D = 8


def make_graph(**kw) -> CausalAttentionGraph:
    torch.manual_seed(0)
    return CausalAttentionGraph(d_model=D, **kw)


def pooled(b: int = 5, seed: int = 1) -> torch.Tensor:
    return torch.randn(b, 3, D, generator=torch.Generator().manual_seed(seed))


def masked_scores(scale: float, b: int = 4, seed: int = 0) -> torch.Tensor:
    s = scale * torch.randn(b, 3, 3, generator=torch.Generator().manual_seed(seed))
    return s.masked_fill(torch.eye(3, dtype=torch.bool), float("-inf"))


def assert_stochastic(adj: torch.Tensor) -> None:
    assert not torch.isnan(adj).any()
    # exactly zero, not just close
    assert torch.all(torch.diagonal(adj, dim1=1, dim2=2) == 0)
    torch.testing.assert_close(
        adj.sum(-1), torch.ones(adj.shape[:2]), atol=1e-6, rtol=0
    )


def test_temperature_schedule():
    kw = dict(tau_start=1.0, tau_end=0.1, anneal_steps=1000)
    assert gumbel_temperature(0, **kw) == pytest.approx(1.0)
    # geometric midpoint
    assert gumbel_temperature(500, **kw) == pytest.approx(math.sqrt(0.1))
    assert gumbel_temperature(1000, **kw) == pytest.approx(0.1)
    assert gumbel_temperature(5000, **kw) == pytest.approx(0.1)
    assert gumbel_temperature(500, **kw, schedule="linear") == pytest.approx(0.55)
    assert gumbel_temperature(5000, **kw, schedule="linear") == pytest.approx(0.1)
    taus = [gumbel_temperature(s, **kw) for s in range(0, 1001, 100)]
    assert taus == sorted(taus, reverse=True)
    with pytest.raises(ValueError, match="schedule"):
        gumbel_temperature(0, **kw, schedule="cosine")
    with pytest.raises(ValueError, match="tau_start"):
        gumbel_temperature(0, tau_start=0.0, tau_end=0.1, anneal_steps=10)
    with pytest.raises(ValueError, match="step"):
        gumbel_temperature(-1, **kw)


def test_module_anneals_with_step_and_checkpoints_it():
    g = make_graph(anneal_steps=10)
    assert g.tau == pytest.approx(1.0)
    for _ in range(5):
        g.step()
    assert g.tau == pytest.approx(math.sqrt(0.1))
    g.eval()
    g(pooled())
    assert int(g.global_step) == 5  # forward never advances the schedule
    resumed = make_graph(anneal_steps=10)
    resumed.load_state_dict(g.state_dict())
    assert resumed.tau == g.tau
    g.set_step(100)
    assert g.tau == pytest.approx(0.1)
    assert g(pooled()).tau == pytest.approx(0.1)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("hard", [False, True])
def test_rows_stochastic_and_no_self_loops(training, hard):
    g = make_graph(hard=hard).train(training)
    out = g(pooled(), generator=torch.Generator().manual_seed(0))
    assert out.adjacency.shape == out.scores.shape == (5, 3, 3)
    assert out.influence.shape == (5, 3)
    assert_stochastic(out.adjacency)
    assert torch.all(torch.diagonal(out.scores, dim1=1, dim2=2) == float("-inf"))
    if hard:
        assert torch.all((out.adjacency == 0) | (out.adjacency - 1).abs().lt(1e-6))
    torch.testing.assert_close(out.influence.sum(-1), torch.ones(5))


def test_straight_through_gradient_is_the_soft_sample_gradient():
    g = make_graph().train()
    x = pooled()
    w = torch.randn(5, 3, 3, generator=torch.Generator().manual_seed(3))
    grads = {}
    for hard in (False, True):
        xi = x.clone().requires_grad_()
        out = g(xi, hard=hard, generator=torch.Generator().manual_seed(7))
        (out.adjacency * w).sum().backward()
        grads[hard] = xi.grad
        if hard:
            one_hot = out.adjacency.detach().round()
            torch.testing.assert_close(
                out.adjacency.detach(), one_hot, atol=1e-6, rtol=0
            )
            assert torch.all(one_hot.sum(-1) == 1)
    assert grads[True].abs().sum() > 0
    torch.testing.assert_close(grads[True], grads[False])


def test_eval_is_deterministic_and_noise_free():
    g = make_graph().eval()
    x = pooled()
    a, b = g(x), g(x)
    torch.testing.assert_close(a.adjacency, b.adjacency, atol=0, rtol=0)
    torch.testing.assert_close(a.adjacency, torch.softmax(a.scores / a.tau, dim=-1))
    hard = g(x, hard=True).adjacency
    torch.testing.assert_close(hard.argmax(-1), a.adjacency.argmax(-1))


def test_training_samples_reproducible_with_a_generator():
    g = make_graph().train()
    x = pooled()
    a = g(x, generator=torch.Generator().manual_seed(11)).adjacency
    b = g(x, generator=torch.Generator().manual_seed(11)).adjacency
    c = g(x, generator=torch.Generator().manual_seed(12)).adjacency
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("stochastic", [False, True])
def test_no_nan_with_extreme_scores(hard, stochastic):
    scores = masked_scores(1e4).requires_grad_()
    adj = sample_adjacency(
        scores,
        tau=0.1,
        hard=hard,
        stochastic=stochastic,
        generator=torch.Generator().manual_seed(0),
    )
    assert_stochastic(adj.detach())
    (adj * torch.arange(9.0).view(3, 3)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    # through the module too: large pooled values, coldest temperature
    g = make_graph(hard=hard).train(stochastic)
    g.set_step(10_000)
    assert_stochastic(
        g(1e3 * pooled(), generator=torch.Generator().manual_seed(0)).adjacency.detach()
    )


def test_hard_gumbel_samples_follow_the_softmax_of_the_scores():
    """Gumbel-max: argmax(s + g) with g = −log(−log U) is distributed as softmax(s) (τ
    irrelevant for hard).

    Catches other noise: −log U alone gives P(first) = 0.816 for scores [1, 0] instead
    of 0.731; rows of four nodes (three choices) also catch g = +log(−log U), which two
    choices cannot tell apart.
    """
    rows = torch.tensor(
        [
            [0.0, 1.0, 0.0, -1.0],
            [0.5, 0.0, -1.0, 1.5],
            [2.0, 0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0, 0.0],
        ]
    )
    rows[0, 3] = float("-inf")  # row 0 is the two-way choice [1, 0] of the docstring
    rows = rows.masked_fill(torch.eye(4, dtype=torch.bool), float("-inf"))
    n = 40_000
    scores = rows.expand(n, 4, 4).contiguous()
    adj = sample_adjacency(
        scores,
        tau=0.5,
        hard=True,
        stochastic=True,
        generator=torch.Generator().manual_seed(0),
    )
    freq = adj.detach().mean(dim=0)  # (4, 4) share of draws whose argmax is each column
    torch.testing.assert_close(freq, torch.softmax(rows, dim=-1), atol=0.01, rtol=0)
    assert torch.all(torch.diagonal(freq) == 0)


def test_influence_is_the_normalised_incoming_mass():
    adj = torch.tensor([[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    # text receives two rows' attention, audio one, video none
    torch.testing.assert_close(
        influence_from_adjacency(adj), torch.tensor([[2 / 3, 1 / 3, 0.0]])
    )
    out = make_graph().eval()(pooled())
    # rows sum to 1: column mean
    torch.testing.assert_close(out.influence, out.adjacency.mean(dim=1))


def test_bad_input_raises():
    g = make_graph()
    with pytest.raises(
        ValueError, match=r"pooled has shape \(5, 2, 8\), expected \(B, 3, 8\)"
    ):
        g(torch.zeros(5, 2, D))
    with pytest.raises(ValueError, match="pooled has shape"):
        g(torch.zeros(3, D))
    bad = pooled()
    bad[0, 1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        g(bad)
    with pytest.raises(ValueError, match="n_nodes"):
        CausalAttentionGraph(d_model=D, n_nodes=1)
    with pytest.raises(ValueError, match="schedule"):
        CausalAttentionGraph(d_model=D, schedule="step")


@settings(max_examples=30, deadline=None)
@given(
    scale=st.floats(1e-3, 1e5),
    tau=st.floats(0.01, 5.0),
    seed=st.integers(0, 2**16),
    hard=st.booleans(),
    stochastic=st.booleans(),
)
def test_adjacency_always_row_stochastic(scale, tau, seed, hard, stochastic):
    adj = sample_adjacency(
        masked_scores(scale, seed=seed),
        tau=tau,
        hard=hard,
        stochastic=stochastic,
        generator=torch.Generator().manual_seed(seed),
    )
    assert_stochastic(adj)
    torch.testing.assert_close(influence_from_adjacency(adj).sum(-1), torch.ones(4))
