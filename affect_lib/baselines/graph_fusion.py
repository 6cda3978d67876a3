"""A small fusion classifier around the CausalAttentionGraph (notebook 02).

encoders → pooled modality embeddings (B, 3, d) (masked max over time by default) →
CausalAttentionGraph → influence (B, 3) → fused = Σ_m influence_m · pooled_m (B, d) →
linear head → logits (B, 6).

The only path from a modality to the prediction goes through its influence weight, so
the classification loss pushes each utterance's influence toward the modality that
carries the evidence: on SynthMOSEI that is the planted driver, which makes "driver
recovery" (argmax influence == driver) a direct test of the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from affect_lib.affect_diff.causal_graph import CausalAttentionGraph, GraphOutput
from affect_lib.affect_diff.encoders import ModalityEncoders
from affect_lib.baselines.fit import fit_classifier
from affect_lib.config import ModelConfig
from affect_lib.devices import to_device
from affect_lib.eval.explanations import attribution_accuracy
from affect_lib.schema import EMOTIONS

__all__ = [
    "GraphFusionClassifier",
    "GraphEval",
    "fit_graph_classifier",
    "evaluate_graph_classifier",
]


class GraphFusionClassifier(nn.Module):
    """Modality encoders + causal attention graph + influence-weighted fusion + linear
    head."""

    def __init__(
        self,
        config: ModelConfig,
        dims: dict[str, int],
        *,
        anneal_steps: int,
        use_graph: bool = True,
    ) -> None:
        """Reads the encoder and graph fields of ``config`` (Affect-Diff's);
        ``use_graph=False`` gives uniform modality weights (the "no graph" ablation)."""
        super().__init__()
        c = self.config = config
        self.use_graph = use_graph
        self.encoders = ModalityEncoders(
            dims=dims, d_model=c.d_model, dropout=c.dropout, n_heads=c.n_heads
        )
        self.graph = CausalAttentionGraph(
            d_model=c.d_model,
            tau_start=c.tau_start,
            tau_end=c.tau_end,
            anneal_steps=anneal_steps,
            schedule=c.gumbel_schedule,
            hard=c.gumbel_hard,
        )
        # Pooled nodes are re-normalised so every modality reaches the fusion with the
        # same energy: only the influence weights can then decide which modality the
        # prediction listens to.
        self.node_norm = nn.LayerNorm(c.d_model, elementwise_affine=False)
        self.head = nn.Linear(c.d_model, len(EMOTIONS))

    def forward(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, GraphOutput]:
        """Return logits (B, 6) and the graph output (adjacency (B,3,3), influence
        (B,3))."""
        pooled = self.encoders.pool(
            self.encoders(batch), batch["mask"], how=self.config.pooling
        )
        pooled = self.node_norm(pooled)  # (B, 3, d)
        graph = self.graph(pooled)
        if not self.use_graph:
            uniform = torch.full_like(graph.influence, 1.0 / graph.influence.shape[-1])
            graph = GraphOutput(graph.adjacency, uniform, graph.scores, graph.tau)
        fused = (graph.influence.unsqueeze(-1) * pooled).sum(dim=1)  # (B, d)
        return self.head(fused), graph


@dataclass(frozen=True)
class GraphEval:
    """Predictions of a whole split: accuracy, driver recovery and the per-utterance
    graph."""

    accuracy: float
    driver_acc: float
    predictions: np.ndarray  # (N,)
    influence: np.ndarray  # (N, 3)
    adjacency: np.ndarray  # (N, 3, 3)


@torch.no_grad()
def evaluate_graph_classifier(
    model: GraphFusionClassifier, loader: DataLoader
) -> GraphEval:
    """Eval mode (deterministic graph); driver accuracy over utterances whose driver is
    known."""
    model.eval()
    device = next(model.parameters()).device
    preds, labels, drivers, infl, adj = [], [], [], [], []
    for batch in loader:
        logits, graph = model(to_device(batch, device))
        preds.append(logits.argmax(-1))
        labels.append(batch["label"])
        drivers.append(batch["driver"])
        infl.append(graph.influence)
        adj.append(graph.adjacency)
    pred, label, driver = (torch.cat(x).cpu().numpy() for x in (preds, labels, drivers))
    influence = torch.cat(infl).cpu().numpy()
    # NaN when no driver is known
    driver_acc = attribution_accuracy(influence.argmax(-1), driver)
    return GraphEval(
        float(np.mean(pred == label)),
        driver_acc,
        pred,
        influence,
        torch.cat(adj).cpu().numpy(),
    )


def fit_graph_classifier(
    model: GraphFusionClassifier,
    train: DataLoader,
    val: DataLoader,
    *,
    epochs: int,
    lr: float,
    weight_decay: float = 1e-2,
) -> list[dict[str, float]]:
    """Train with :func:`~affect_lib.baselines.fit.fit_classifier`, one temperature step
    per batch.

    Returns one record per epoch: train loss, validation accuracy and driver recovery,
    and τ.
    """
    return fit_classifier(
        model,
        train,
        val,
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        evaluate=evaluate_graph_classifier,
        after_step=model.graph.step,
    )
