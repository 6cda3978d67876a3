"""Conditional 1D U-Net ε-predictor over latent sequences (compact, after lucidrains'
Unet1D).

One conditioning vector per sample, ``c = MLP(sin(t)) + E[label] + W·influence``, is
added as a per-channel shift inside every residual block (as in DDPM). ``label ==
num_classes`` is the null label of classifier-free guidance. Data are channels-last
``(B, T, C)`` like the VAE latent ``z``; any ``T`` works.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from affect_lib.schema import value_checks_on

__all__ = ["SinusoidalTimeEmbedding", "ResnetBlock1D", "UNet1D"]


class SinusoidalTimeEmbedding(nn.Module):
    """(B,) timesteps -> (B, dim) ``[sin(t·ω_k), cos(t·ω_k)]`` with ``ω_k =
    10000^(−k/(dim/2))``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"dim must be an even number >= 2, got {dim}")
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(
            -math.log(10000.0)
            * torch.arange(half, device=t.device, dtype=torch.float32)
            / half
        )
        args = t.float()[:, None] * freqs[None, :]
        return torch.cat([args.sin(), args.cos()], dim=-1)


class ResnetBlock1D(nn.Module):
    """(B, in_ch, L), (B, cond_dim) -> (B, out_ch, L): two GroupNorm → SiLU →
    Conv1d(k=3) layers.

    The conditioning vector is added as a per-channel shift after the first conv; a 1×1
    conv maps the residual when the channel count changes.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        *,
        cond_dim: int,
        groups: int = 8,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, ch in (("in_ch", in_ch), ("out_ch", out_ch)):
            if ch % groups:
                raise ValueError(
                    f"{name}={ch} must be divisible by groups={groups} (GroupNorm)"
                )
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv1d(in_ch, out_ch, 3, padding=1)
        self.cond_proj = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, out_ch))
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv1d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.cond_proj(cond)[:, :, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return h + self.skip(x)


class UNet1D(nn.Module):
    """ε-predictor ``forward(x, t, label, influence=None, mask=None) -> eps``, all (B,
    T, C) channels-last.

    Levels ``i = 0..n−1`` have ``base_channels·channel_mults[i]`` channels and length
    ``L/2^i``; every level's block output is a skip concatenated on the way up. ``T`` is
    zero-padded on the right to a multiple of ``2^(n−1)`` and cropped back.
    """

    def __init__(
        self,
        *,
        channels: int,
        base_channels: int = 64,
        channel_mults: tuple[int, ...] = (1, 2, 4),
        num_classes: int = 6,
        n_modalities: int = 3,
        groups: int = 8,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if channels < 1 or num_classes < 1 or n_modalities < 1 or not channel_mults:
            raise ValueError(
                "channels, num_classes, n_modalities must be >= 1 and channel_mults "
                "non-empty, got "
                f"{channels}, {num_classes}, {n_modalities}, {channel_mults}"
            )
        self.channels, self.num_classes, self.n_modalities = (
            channels,
            num_classes,
            n_modalities,
        )
        self.levels = len(channel_mults)
        dims = [base_channels * m for m in channel_mults]
        cond_dim = 4 * base_channels

        self.time_mlp = nn.Sequential(
            SinusoidalTimeEmbedding(base_channels),
            nn.Linear(base_channels, cond_dim),
            nn.SiLU(),
            nn.Linear(cond_dim, cond_dim),
        )
        # last row: the CFG null label
        self.label_emb = nn.Embedding(num_classes + 1, cond_dim)
        self.influence_proj = nn.Linear(n_modalities, cond_dim)

        def block(i: int, o: int) -> ResnetBlock1D:
            return ResnetBlock1D(
                i, o, cond_dim=cond_dim, groups=groups, dropout=dropout
            )

        self.init_conv = nn.Conv1d(channels, base_channels, 3, padding=1)
        self.down_blocks, self.downsamples = nn.ModuleList(), nn.ModuleList()
        for i, d in enumerate(dims):
            self.down_blocks.append(block(dims[i - 1] if i else base_channels, d))
            last = i == self.levels - 1
            self.downsamples.append(
                nn.Identity() if last else nn.Conv1d(d, d, 3, stride=2, padding=1)
            )
        self.mid_blocks = nn.ModuleList(
            [block(dims[-1], dims[-1]), block(dims[-1], dims[-1])]
        )
        self.up_blocks, self.upsamples = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(self.levels)):
            # input: current h ++ skip of level i
            self.up_blocks.append(block(2 * dims[i], dims[i]))
            self.upsamples.append(
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv1d(dims[i], dims[i - 1], 3, padding=1),
                )
                if i
                else nn.Identity()
            )
        self.final_norm = nn.GroupNorm(groups, dims[0])
        self.final_conv = nn.Conv1d(dims[0], channels, 1)
        # Zero init: the untrained model predicts ε = 0, so the first loss is E‖ε‖² = 1
        # whatever the depth, instead of a large random-output loss whose gradients
        # destabilise the start.
        nn.init.zeros_(self.final_conv.weight)
        nn.init.zeros_(self.final_conv.bias)

    @property
    def null_label(self) -> int:
        """Label index meaning "no label" for classifier-free guidance."""
        return self.num_classes

    def _batch_vector(
        self, name: str, value: int | torch.Tensor, batch: int, device: torch.device
    ) -> torch.Tensor:
        value = torch.as_tensor(value, device=device)
        if value.ndim == 0:
            value = value.expand(batch)
        if tuple(value.shape) != (batch,):
            raise ValueError(
                f"{name} must be a scalar or of shape ({batch},), got "
                f"{tuple(value.shape)}"
            )
        return value

    def _vectors(
        self,
        x: torch.Tensor,
        t: int | torch.Tensor,
        label: int | torch.Tensor,
        influence: torch.Tensor | None,
        mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Shape and dtype checks (no data-dependent test, so no device sync); returns
        t, label (B,) and influence (B, M)."""
        if x.ndim != 3 or x.shape[-1] != self.channels:
            raise ValueError(
                f"x must have shape (B, T, {self.channels}), got {tuple(x.shape)}"
            )
        batch, length = x.shape[:2]
        if length < 1:
            raise ValueError("x must have at least one time step")
        if mask is not None and (
            mask.dtype != torch.bool or tuple(mask.shape) != (batch, length)
        ):
            raise ValueError(
                f"mask must be a bool tensor of shape ({batch}, {length}), "
                f"got {mask.dtype} {tuple(mask.shape)}"
            )
        t = self._batch_vector("t", t, batch, x.device)
        label = self._batch_vector("label", label, batch, x.device)
        if label.dtype.is_floating_point or label.dtype == torch.bool:
            raise ValueError(f"label must be an integer tensor, got {label.dtype}")
        if influence is None:
            influence = torch.zeros(batch, self.n_modalities, device=x.device)
        elif tuple(influence.shape) != (batch, self.n_modalities):
            raise ValueError(
                f"influence must have shape ({batch}, {self.n_modalities}), "
                f"got {tuple(influence.shape)}"
            )
        return t, label, influence

    def check_inputs(
        self,
        x: torch.Tensor,
        t: int | torch.Tensor,
        label: int | torch.Tensor,
        influence: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> None:
        """Raise ValueError naming the bad argument: shapes, dtypes, finite values,
        label range.

        The value checks read the tensors (a device sync on a GPU), so they run once
        where inputs enter (``guided_eps_fn``, ``DiffusionSchedule.loss``), not in
        :meth:`forward`, which a sampler calls once per step, and only where
        :func:`~affect_lib.schema.value_checks_on` says so.
        """
        t, label, influence = self._vectors(x, t, label, influence, mask)
        if not value_checks_on(x):
            return
        for name, value in (("x", x), ("t", t.float()), ("influence", influence)):
            if not torch.isfinite(value).all():
                raise ValueError(f"{name} contains NaN or inf")
        if (label < 0).any() or (label > self.num_classes).any():
            raise ValueError(
                f"label must be in [0, {self.num_classes}] ({self.num_classes} = null "
                f"label), "
                f"got values in [{int(label.min())}, {int(label.max())}]"
            )

    def forward(
        self,
        x: torch.Tensor,
        t: int | torch.Tensor,
        label: int | torch.Tensor,
        influence: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x (B, T, C); t (B,) or scalar; label (B,) or scalar in [0, num_classes];
        influence (B, M) per-modality causal weights (None = zeros); mask (B, T) bool,
        True = valid. Returns ε̂ (B, T, C), exactly 0 on padded steps. Checks shapes
        only; :meth:`check_inputs` checks values."""
        t, label, influence = self._vectors(x, t, label, influence, mask)
        cond = (
            self.time_mlp(t)
            + self.label_emb(label.long())
            + self.influence_proj(influence.float())
        )
        length = x.shape[1]

        keep = None if mask is None else mask[..., None].to(x.dtype)
        if keep is not None:
            x = x * keep  # padded content never reaches the network
        factor = 2 ** (self.levels - 1)
        pad = -length % factor
        # (B, base, L), L multiple of factor
        h = self.init_conv(F.pad(x.transpose(1, 2), (0, pad)))

        skips = []
        for block, down in zip(self.down_blocks, self.downsamples, strict=True):
            h = block(h, cond)
            skips.append(h)
            h = down(h)
        for block in self.mid_blocks:
            h = block(h, cond)
        for block, up in zip(self.up_blocks, self.upsamples, strict=True):
            h = up(block(torch.cat([h, skips.pop()], dim=1), cond))

        eps = self.final_conv(F.silu(self.final_norm(h)))[..., :length].transpose(1, 2)
        return eps if keep is None else eps * keep
