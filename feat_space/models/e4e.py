"""The e4e encoder (omertov/encoder4editing `Encoder4Editing(50, 'ir_se')`): image -> W+ codes.

Inference only, with every style active (the final progressive stage). Attribute names match the
`encoder.*` keys of `e4e_ffhq_encode.pt`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .irse import IRSE50_STAGES, Stages, irse50_body, irse_input_layer, stage_ends
from .stylegan2 import EqualLinear

STYLE_DIM = 512
COARSE_END = 3  # styles [0, 3) read the 16x16 features
MIDDLE_END = 7  # styles [3, 7) read the 32x32 pyramid level, the rest the 64x64 one

# The feature pyramid reads the ends of body stages 2, 3 and 4 (units 6, 20 and 23 of IR-SE50:
# 64x64x128, 32x32x256 and 16x16x512 for a 256x256 input).


class GradualStyleBlock(nn.Module):
    """Strided 3x3 convs from a `spatial` x `spatial` map down to 1x1, then an equalized linear layer.

    The convs are `hidden` wide (default `out_channels`, as in e4e); the linear layer maps to `out_channels`.
    """

    def __init__(self, in_channels: int, out_channels: int, spatial: int, hidden: int | None = None) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.hidden = hidden = hidden or out_channels
        layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden, 3, stride=2, padding=1), nn.LeakyReLU()]
        for _ in range(int(math.log2(spatial)) - 1):
            layers += [nn.Conv2d(hidden, hidden, 3, stride=2, padding=1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(hidden, out_channels, lr_mul=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.convs(x).view(-1, self.hidden)
        return self.linear(x)


def upsample_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize `x` to `y`'s resolution and add `y` (one feature-pyramid merge)."""
    return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=True) + y


class Encoder4Editing(nn.Module):
    """IR-SE50 feature pyramid + one style block per W+ entry; the first code is the base, the rest add deltas.

    `forward` returns W+ = codes + `latent_avg`; `encode_codes` returns the codes alone.
    Other body `stages` than IR-SE50's build the same structure narrower (small random test models): the
    pyramid and style blocks are as wide as the last stage, and the codes stay `STYLE_DIM` wide.
    """

    def __init__(self, n_styles: int = 18, stages: Stages = IRSE50_STAGES) -> None:
        super().__init__()
        self.n_styles = n_styles
        self.input_layer = irse_input_layer(stages[0][0])
        self.body = irse50_body(stages)
        self._c1_unit, self._c2_unit, self._c3_unit = stage_ends(stages)[1:]
        width = stages[-1][1]
        self.styles = nn.ModuleList(
            GradualStyleBlock(width, STYLE_DIM, 16 if i < COARSE_END else 32 if i < MIDDLE_END else 64, hidden=width)
            for i in range(n_styles)
        )
        self.latlayer1 = nn.Conv2d(stages[2][1], width, kernel_size=1, stride=1, padding=0)
        self.latlayer2 = nn.Conv2d(stages[1][1], width, kernel_size=1, stride=1, padding=0)
        # Not in the encoder's state dict: the checkpoint keeps it at top level, the loader sets it.
        self.register_buffer("latent_avg", torch.zeros(STYLE_DIM), persistent=False)

    def set_latent_avg(self, latent_avg: torch.Tensor) -> None:
        """Set the mean W added to the codes: [512] (same for every style) or [n_styles, 512]."""
        if tuple(latent_avg.shape) not in ((STYLE_DIM,), (self.n_styles, STYLE_DIM)):
            raise ValueError(
                f"latent_avg must be [{STYLE_DIM}] or [{self.n_styles}, {STYLE_DIM}], got {tuple(latent_avg.shape)}."
            )
        # Follow the weights' device (the buffer itself may still be a placeholder on 'meta').
        device = next(self.input_layer.parameters()).device
        self.latent_avg = latent_avg.detach().to(device=device, dtype=torch.float32).clone()

    def to_precision(self, dtype: torch.dtype) -> Encoder4Editing:
        """Run inference in `dtype` (e.g. bf16: native low-precision convolutions, channels_last);
        `latent_avg` and the returned W+ stay fp32. In place; fp32 converts back (contiguous layout)."""
        latent_avg = self.latent_avg
        layout = torch.contiguous_format if dtype == torch.float32 else torch.channels_last
        self.to(dtype=dtype).to(memory_format=layout)
        self.latent_avg = latent_avg
        return self

    def encode_codes(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 3, H, W] in [-1, 1] (256x256 for e4e_ffhq_encode.pt) -> codes [B, n_styles, 512]."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"Encoder4Editing expects images [B, 3, H, W], got {tuple(x.shape)}.")
        dtype = self.latlayer1.weight.dtype
        if x.dtype != dtype:  # weights in a low precision (`to_precision`): run in it, channels_last
            x = x.to(dtype=dtype, memory_format=torch.channels_last)
        x = self.input_layer(x)
        c1 = c2 = c3 = x
        for index, unit in enumerate(self.body):
            x = unit(x)
            if index == self._c1_unit:
                c1 = x
            elif index == self._c2_unit:
                c2 = x
            elif index == self._c3_unit:
                c3 = x

        w0 = self.styles[0](c3).float()  # codes accumulate in fp32 whatever the features' dtype
        w = w0.unsqueeze(1).repeat(1, self.n_styles, 1)
        features = p2 = c3
        for i in range(1, self.n_styles):
            if i == COARSE_END:
                features = p2 = upsample_add(c3, self.latlayer1(c2))
            elif i == MIDDLE_END:
                features = upsample_add(p2, self.latlayer2(c1))
            w[:, i] += self.styles[i](features).float()
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 3, H, W] in [-1, 1] -> W+ [B, n_styles, 512], including `latent_avg`."""
        return self.encode_codes(x) + self.latent_avg


__all__ = ["Encoder4Editing", "GradualStyleBlock", "upsample_add"]
