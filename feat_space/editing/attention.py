"""FEAT's attention network: where should the edit apply?

It reads generator features of the *original* latent: each chosen layer is standardised (per image and
channel, over space), reduced by a 1x1 conv to a few channels and resized to the mask resolution; the
stack is mixed by a final 1x1 conv and a sigmoid gives the mask m in [0, 1].

The final conv reads each reduced channel x twice: as it is, and as its magnitude |x| less its mean over
the image. A linear read can pick one extreme of a feature, never both: eyes, or the dark and the bright
parts of a hair line, lie at both ends of one feature. |x| picks both. Its spatial mean is taken off so
that this path says only *where*: a push that opens or closes the whole mask moves the first path alone,
as it did before the second existed. (With both signs as separate inputs instead, relu(x) and relu(−x),
a uniform push moved each pair the same way: the mask opened to 0.94 in 30 steps and shut by step 120,
and guided training never found the parts that path could express: in/out 2.0-3.8x against 7.0-13.3x
with the centred magnitude, on the oracle's two-sided regions, docs/training.md recipe item 13.)

Why standardise: a generator's feature scales differ by layer and by model (FFHQ's vs a random test
generator's by orders of magnitude); standardised inputs make the initial logits, and so the initial
mask, the same everywhere. The final conv starts with small weights on x, none on |x|, and a bias of
logit(`initial`), so an untrained mask is close to `initial` everywhere: neither closed (no gradient
reaches the mapper through m = 0) nor saturated.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def standardize(feature: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Zero mean, unit variance per image and channel over the spatial dims."""
    feature = feature.float()
    mean = feature.mean(dim=(-2, -1), keepdim=True)
    var = feature.var(dim=(-2, -1), keepdim=True, unbiased=False)
    return (feature - mean) * torch.rsqrt(var + eps)


class AttentionNetwork(nn.Module):
    def __init__(self, in_channels: list[int], channels: int = 8, resolution: int = 64, initial: float = 0.5):
        super().__init__()
        self.resolution = resolution
        self.reduce = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.reduced = channels * len(in_channels)
        self.mix = nn.Conv2d(2 * self.reduced, 1, 1)  # reads [x, |x| − mean |x|]
        bias = self.mix.bias
        assert bias is not None
        with torch.no_grad():
            self.mix.weight[:, : self.reduced].mul_(0.1)
            self.mix.weight[:, self.reduced :].zero_()  # starts as the linear read
            bias.fill_(math.log(initial / (1 - initial)))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Feature maps (one per configured layer, in order) → mask [B, 1, resolution, resolution]."""
        reduced = self.read(features)
        magnitude = reduced.abs()
        magnitude = magnitude - magnitude.mean(dim=(-2, -1), keepdim=True)
        return torch.sigmoid(self.mix(torch.cat([reduced, magnitude], dim=1)))

    def read(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The reduced channels x [B, `reduced`, resolution, resolution] the mix reads."""
        size = (self.resolution, self.resolution)
        return torch.cat(
            [
                F.interpolate(conv(standardize(f)), size=size, mode="bilinear", align_corners=False)
                for conv, f in zip(self.reduce, features, strict=True)
            ],
            dim=1,
        )
