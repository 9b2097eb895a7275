"""Building blocks of the IR-SE50 backbone shared by the e4e encoder and ArcFace.

Layer names and order follow TreB1eN's InsightFace_Pytorch (`model.py`) and pSp/e4e
(`models/encoders/helpers.py`), so the modules' state-dict keys match the official checkpoints.
"""

from __future__ import annotations

import torch
from torch import nn

# (in_channels, out_channels, units) of the four stages of the 50-layer body.
IRSE50_STAGES: tuple[tuple[int, int, int], ...] = ((64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3))


class SEModule(nn.Module):
    """Squeeze-and-excitation: rescale channels by a gate computed from their global average."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, padding=0, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, padding=0, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))
        return x * gate


class BottleneckIRSE(nn.Module):
    """Improved-residual unit with squeeze-and-excitation (`bottleneck_IR_SE`)."""

    def __init__(self, in_channel: int, depth: int, stride: int) -> None:
        super().__init__()
        if in_channel == depth:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_channel, depth, 1, stride, bias=False),
                nn.BatchNorm2d(depth),
            )
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(in_channel),
            nn.Conv2d(in_channel, depth, 3, 1, 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
            nn.BatchNorm2d(depth),
            SEModule(depth, 16),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


Stages = tuple[tuple[int, int, int], ...]


def irse_input_layer(channels: int = 64) -> nn.Sequential:
    """Stem: 3x3 conv to `channels` (64 in IR-SE50), batch norm, PReLU (resolution unchanged)."""
    return nn.Sequential(nn.Conv2d(3, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.PReLU(channels))


def irse50_body(stages: Stages = IRSE50_STAGES) -> nn.Sequential:
    """The 24 units of IR-SE50 (`body.0` ... `body.23`); each stage's first unit halves the resolution.

    Other `stages` give the same structure at other widths and depths (small random test models).
    """
    units: list[nn.Module] = []
    for in_channel, depth, n_units in stages:
        units.append(BottleneckIRSE(in_channel, depth, 2))
        units.extend(BottleneckIRSE(depth, depth, 1) for _ in range(n_units - 1))
    return nn.Sequential(*units)


def stage_ends(stages: Stages = IRSE50_STAGES) -> list[int]:
    """Index of the last body unit of each stage (IR-SE50: 2, 6, 20, 23)."""
    ends, total = [], 0
    for _, _, n_units in stages:
        total += n_units
        ends.append(total - 1)
    return ends


__all__ = ["IRSE50_STAGES", "BottleneckIRSE", "SEModule", "Stages", "irse50_body", "irse_input_layer", "stage_ends"]
