"""IR-SE50 ArcFace face-recognition backbone (TreB1eN `Backbone(112, 50, 'ir_se')`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .irse import IRSE50_STAGES, Stages, irse50_body, irse_input_layer


class IRSE50ArcFace(nn.Module):
    """Maps aligned 112x112 face crops in [-1, 1] to L2-normalised 512-d identity embeddings.

    Other body `stages` than IR-SE50's build the same structure narrower (small random test models).
    """

    def __init__(self, stages: Stages = IRSE50_STAGES) -> None:
        super().__init__()
        width = stages[-1][1]
        # Same attribute order as the original, so state-dict key order matches `model_ir_se50.pth`.
        self.input_layer = irse_input_layer(stages[0][0])
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(width),
            nn.Dropout(0.4),
            nn.Flatten(),
            nn.Linear(width * 7 * 7, 512),
            nn.BatchNorm1d(512),
        )
        self.body = irse50_body(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 3, 112, 112] in [-1, 1] -> unit-norm embeddings [B, 512]."""
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[-2:] != (112, 112):
            raise ValueError(f"IRSE50ArcFace expects images [B, 3, 112, 112], got {tuple(x.shape)}.")
        x = self.output_layer(self.body(self.input_layer(x)))
        return x / x.norm(2, dim=1, keepdim=True)


def face_crop_112(images: torch.Tensor) -> torch.Tensor:
    """The face region of FFHQ-aligned images [B, 3, S, S] at ArcFace's 112² (as pSp and StyleCLIP crop it)."""
    x = F.interpolate(images, size=(256, 256), mode="bilinear", align_corners=False, antialias=True)
    x = x[:, :, 35:223, 32:220]
    return F.interpolate(x, size=(112, 112), mode="bilinear", align_corners=False, antialias=True)


__all__ = ["IRSE50ArcFace", "face_crop_112"]
