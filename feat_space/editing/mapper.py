"""StyleCLIP-style latent mapper: predicts the W+ offset Δ of one edit.

The mapped W+ entries `[start, end)` are split into StyleCLIP's coarse / medium / fine groups
(`feat_space.editing.groups`); each group has its own small MLP (PixelNorm + `depth` equalized-LR
linear layers, lr multiplier 0.01, fused leaky ReLU) applied to every entry of the group.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from ..models.stylegan2 import EqualLinear, PixelNorm
from .groups import split_by_group

DELTA_SCALE = 0.1  # StyleCLIP scales the mapper's output so an untrained mapper edits little


class MapperMLP(nn.Module):
    def __init__(self, style_dim: int = 512, depth: int = 4, lr_mul: float = 0.01):
        super().__init__()
        self.layers = nn.Sequential(
            PixelNorm(), *[EqualLinear(style_dim, style_dim, lr_mul=lr_mul, activation=True) for _ in range(depth)]
        )

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """[..., D] → [..., D]; each W+ entry is mapped on its own (PixelNorm over D)."""
        return self.layers(w.reshape(-1, w.shape[-1])).view(w.shape)


class LatentMapper(nn.Module):
    """W+ [B, n, D] → Δ [B, n, D], zero outside the mapped entries."""

    def __init__(self, n_latent: int, start: int, end: int, style_dim: int = 512, depth: int = 4):
        super().__init__()
        if not 0 <= start < end <= n_latent:
            raise ValueError(f"mapped layers must satisfy 0 <= start < end <= {n_latent}, got [{start}, {end})")
        self.n_latent, self.start, self.end = n_latent, start, end
        self.groups = split_by_group(start, end)
        self.mlps = nn.ModuleList(MapperMLP(style_dim, depth) for _ in self.groups)

    def forward(self, wplus: torch.Tensor) -> torch.Tensor:
        pieces = [torch.zeros_like(wplus[:, : self.start])]
        for (a, b), mlp in zip(self.groups, self.mlps, strict=True):
            pieces.append(DELTA_SCALE * mlp(wplus[:, a:b]))
        pieces.append(torch.zeros_like(wplus[:, self.end :]))
        return torch.cat(pieces, dim=1)

    @torch.no_grad()
    def amplify(self, gain: float) -> None:
        """Scale the weights of each MLP's last layer by `gain`: an untrained mapper barely moves W+,
        so a demo edit with random weights needs this to change anything visible."""
        for mlp in self.mlps:
            cast(EqualLinear, cast(MapperMLP, mlp).layers[-1]).weight.mul_(gain)
