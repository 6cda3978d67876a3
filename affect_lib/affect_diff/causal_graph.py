"""Causal attention graph over the modalities: who attends to whom, sampled with
Gumbel-Softmax.

Each pooled modality embedding is a node. Attention scores between nodes become a
row-stochastic adjacency (row i = where modality i looks; no self-loops), sampled with
Gumbel-Softmax whose temperature is annealed from soft to nearly discrete over training.
Reading the columns gives each modality's influence, the weights of the causal-weighted
fusion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from affect_lib.schema import MODALITIES, value_checks_on

__all__ = [
    "GraphOutput",
    "CausalAttentionGraph",
    "gumbel_temperature",
    "sample_adjacency",
    "influence_from_adjacency",
]

SCHEDULES = ("exp", "linear")


@dataclass(frozen=True)
class GraphOutput:
    """adjacency (B, N, N) rows sum to 1, zero diagonal; influence (B, N) sums to 1;
    scores (B, N, N) raw QKᵀ/√d with -inf on the diagonal; tau the temperature used."""

    adjacency: torch.Tensor
    influence: torch.Tensor
    scores: torch.Tensor
    tau: float


def gumbel_temperature(
    step: int,
    *,
    tau_start: float = 1.0,
    tau_end: float = 0.1,
    anneal_steps: int = 1000,
    schedule: str = "exp",
) -> float:
    """Temperature at ``step``: tau_start at 0, tau_end from anneal_steps on.

    exp: tau_start·(tau_end/tau_start)^r; linear: tau_start + (tau_end - tau_start)·r,
    with r = min(step, anneal_steps) / anneal_steps.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if not (
        tau_start > 0
        and tau_end > 0
        and math.isfinite(tau_start)
        and math.isfinite(tau_end)
    ):
        raise ValueError(
            f"tau_start and tau_end must be finite and > 0, got {tau_start}, {tau_end}"
        )
    if anneal_steps < 1:
        raise ValueError(f"anneal_steps must be >= 1, got {anneal_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    r = min(step, anneal_steps) / anneal_steps
    if schedule == "exp":
        return float(tau_start * (tau_end / tau_start) ** r)
    return float(tau_start + (tau_end - tau_start) * r)


def sample_adjacency(
    scores: torch.Tensor,
    *,
    tau: float,
    hard: bool,
    stochastic: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Row-wise (Gumbel-)softmax of ``scores`` (B, N, N) whose diagonal is already -inf.

    stochastic adds Gumbel noise g = -log(-log U); hard returns the row's one-hot argmax
    in the forward pass with the soft sample's gradient (straight-through).
    """
    logits = scores
    if stochastic:
        # U is clamped away from 0 and 1 so g stays finite; -inf + finite keeps the
        # diagonal at -inf.
        tiny = torch.finfo(scores.dtype).tiny
        u = torch.rand(
            scores.shape, generator=generator, device=scores.device, dtype=scores.dtype
        )
        u = u.clamp(min=tiny, max=1.0 - torch.finfo(scores.dtype).eps)
        logits = scores - torch.log(-torch.log(u))
    # exp(-inf) = 0: the diagonal is exactly zero
    soft = F.softmax(logits / tau, dim=-1)
    if not hard:
        return soft
    one_hot = F.one_hot(soft.argmax(dim=-1), soft.shape[-1]).to(soft.dtype)
    return one_hot - soft.detach() + soft


def influence_from_adjacency(adjacency: torch.Tensor) -> torch.Tensor:
    """(B, N, N) -> (B, N): modality j's influence = share of attention the other
    modalities pay to j.

    It is the column mean of the adjacency (incoming edge mass; the diagonal is zero, so
    only other modalities count), renormalised to sum to 1 per sample.
    """
    incoming = adjacency.sum(dim=1)
    return incoming / incoming.sum(dim=-1, keepdim=True)


class CausalAttentionGraph(nn.Module):
    """Pooled modality embeddings (B, N, d_model) -> :class:`GraphOutput` (N = 3
    modalities by default).

    Training samples the adjacency with Gumbel noise; eval mode drops the noise
    (deterministic). The temperature follows :func:`gumbel_temperature` at the module's
    step counter, which the training loop advances with :meth:`step` (the forward pass
    never does, so eval never anneals).
    """

    def __init__(
        self,
        *,
        d_model: int,
        tau_start: float = 1.0,
        tau_end: float = 0.1,
        anneal_steps: int = 1000,
        schedule: str = "exp",
        hard: bool = False,
        n_nodes: int = len(MODALITIES),
    ) -> None:
        super().__init__()
        if d_model < 1:
            raise ValueError(f"d_model must be >= 1, got {d_model}")
        if n_nodes < 2:
            raise ValueError(
                f"n_nodes must be >= 2 (a node needs another to attend to), got "
                f"{n_nodes}"
            )
        # validates the schedule arguments up front
        gumbel_temperature(
            0,
            tau_start=tau_start,
            tau_end=tau_end,
            anneal_steps=anneal_steps,
            schedule=schedule,
        )
        self.d_model, self.n_nodes, self.hard = d_model, n_nodes, hard
        self.tau_start, self.tau_end = tau_start, tau_end
        self.anneal_steps, self.schedule = anneal_steps, schedule
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        # A buffer, so a checkpoint resumes the annealing where it stopped; the host
        # copy gives tau without reading the buffer (a device sync per step on a GPU).
        self.register_buffer("global_step", torch.zeros((), dtype=torch.long))
        self._host_step = 0

    @property
    def tau(self) -> float:
        return gumbel_temperature(
            self._host_step,
            tau_start=self.tau_start,
            tau_end=self.tau_end,
            anneal_steps=self.anneal_steps,
            schedule=self.schedule,
        )

    def step(self) -> float:
        """Advance the annealing by one optimisation step; returns the new
        temperature."""
        self.global_step += 1
        self._host_step += 1
        return self.tau

    def set_step(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"set_step: n must be >= 0, got {n}")
        self.global_step.fill_(n)
        self._host_step = n

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        # once per load: the host copy follows the restored buffer
        self._host_step = int(self.global_step)

    def scores(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, N, d_model) -> (B, N, N) QKᵀ/√d with self-loops masked to -inf."""
        q, k = self.query(pooled), self.key(pooled)
        s = q @ k.transpose(1, 2) / math.sqrt(self.d_model)
        eye = torch.eye(self.n_nodes, dtype=torch.bool, device=pooled.device)
        # before normalisation: rows stay stochastic
        return s.masked_fill(eye, float("-inf"))

    def forward(
        self,
        pooled: torch.Tensor,
        *,
        hard: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> GraphOutput:
        expected = f"(B, {self.n_nodes}, {self.d_model})"
        if (
            not isinstance(pooled, torch.Tensor)
            or pooled.ndim != 3
            or pooled.shape[1:] != (self.n_nodes, self.d_model)
        ):
            shape = (
                tuple(pooled.shape)
                if isinstance(pooled, torch.Tensor)
                else type(pooled).__name__
            )
            raise ValueError(
                f"CausalAttentionGraph: pooled has shape {shape}, expected {expected}"
            )
        check = value_checks_on(pooled)
        if check and not torch.isfinite(pooled).all():
            raise ValueError("CausalAttentionGraph: pooled contains NaN or inf")
        s = self.scores(pooled)
        off_diag = ~torch.eye(self.n_nodes, dtype=torch.bool, device=s.device)
        if check and not torch.isfinite(s[:, off_diag]).all():
            raise ValueError(
                "CausalAttentionGraph: attention scores overflowed (pooled values too "
                "large)"
            )
        tau = self.tau
        adjacency = sample_adjacency(
            s,
            tau=tau,
            hard=self.hard if hard is None else hard,
            stochastic=self.training,
            generator=generator,
        )
        return GraphOutput(adjacency, influence_from_adjacency(adjacency), s, tau)
