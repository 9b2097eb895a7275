"""FEAT's attention network: where should the edit apply?

It reads generator features of the *original* latent: each chosen layer is reduced by a 1x1 conv to a
few channels and resized to the mask resolution; the stack is mixed by a final 1x1 conv and a sigmoid
gives the mask m in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AttentionNetwork(nn.Module):
    def __init__(self, in_channels: list[int], channels: int = 8, resolution: int = 64):
        super().__init__()
        self.resolution = resolution
        self.reduce = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.mix = nn.Conv2d(channels * len(in_channels), 1, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Feature maps (one per configured layer, in order) → mask [B, 1, resolution, resolution]."""
        size = (self.resolution, self.resolution)
        reduced = [
            F.interpolate(conv(f.float()), size=size, mode="bilinear", align_corners=False)
            for conv, f in zip(self.reduce, features, strict=True)
        ]
        return torch.sigmoid(self.mix(torch.cat(reduced, dim=1)))
