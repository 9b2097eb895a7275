"""Paper-style evaluation of one edit over sampled faces.

For N latents sampled from the generator (ψ-truncated), it reports:
- CLIP score gain: CLIP similarity of the edited image to the prompt minus that of the original;
- identity: ArcFace cosine similarity between original and edited face (1 = same person);
- change outside the mask: mean absolute difference (images in [-1, 1]) and PSNR over the pixels
  where the (thresholded, upsampled) mask is exactly 0 — what a local edit must leave alone. A raw
  sigmoid mask is nowhere exactly 0, so evaluate with the edit's mask threshold.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Protocol

import torch

from ..models.arcface import IRSE50ArcFace, face_crop_112
from ..models.stylegan2 import Generator
from .blending import resize_mask
from .edit import FeatEdit


class TextScorer(Protocol):
    def score(self, images: torch.Tensor, prompt: str) -> torch.Tensor: ...


@dataclass
class Evaluation:
    prompt: str
    samples: int
    clip_gain: float
    identity: float
    outside_mean_abs: float
    outside_psnr: float
    mask_area: float
    outside_fraction: float  # of the image's pixels, where the change outside was measured
    per_sample: list[dict[str, float]] = field(default_factory=list, repr=False)

    def table(self) -> str:
        rows = [
            ("CLIP score gain (edited − original)", f"{self.clip_gain:+.3f}"),
            ("identity (ArcFace cosine, original vs edited)", f"{self.identity:.3f}"),
            ("change outside the mask: mean abs difference (range 2)", f"{self.outside_mean_abs:.4f}"),
            ("change outside the mask: PSNR", f"{self.outside_psnr:.1f} dB"),
            ("mask area (fraction of the image)", f"{self.mask_area:.3f}"),
            ("pixels outside the mask (fraction)", f"{self.outside_fraction:.3f}"),
        ]
        head = [f'Edit "{self.prompt}" over {self.samples} sampled faces', "", "| metric | value |", "| --- | --- |"]
        return "\n".join(head + [f"| {name} | {value} |" for name, value in rows])


def _psnr(mse: float) -> float:
    # Images span [-1, 1]: peak-to-peak 2.
    return math.inf if mse == 0 else 10 * math.log10(4 / mse)


@torch.no_grad()
def evaluate_edit(
    G: Generator,
    edit: FeatEdit,
    scorer: TextScorer,
    arcface: IRSE50ArcFace,
    samples: int = 16,
    seed: int = 0,
    truncation: float = 0.7,
    strength: float | None = None,
    threshold: float = 0.0,
    batch_size: int = 4,
) -> Evaluation:
    edit.check_generator(G)
    prompt = edit.config.prompt
    device = next(G.parameters()).device
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, G.style_dim, generator=g)
    rows: list[dict[str, float]] = []
    for start in range(0, samples, batch_size):
        wplus = G.to_wplus(G.mapping(z[start : start + batch_size].to(device), psi=truncation))
        original = G.synthesis(wplus)
        out = edit(G, wplus, strength, threshold)
        gain = scorer.score(out.image, prompt) - scorer.score(original, prompt)
        identity = (arcface(face_crop_112(out.image)) * arcface(face_crop_112(original))).sum(-1)
        outside = (resize_mask(out.mask, G.size) == 0).expand_as(original)
        for i in range(wplus.shape[0]):
            diff = (out.image[i] - original[i])[outside[i]]
            mse = float(diff.pow(2).mean()) if diff.numel() else 0.0
            rows.append(
                {
                    "clip_gain": float(gain[i]),
                    "identity": float(identity[i]),
                    "outside_mean_abs": float(diff.abs().mean()) if diff.numel() else 0.0,
                    "outside_mse": mse,
                    "mask_area": float(out.mask[i].mean()),
                    "outside_fraction": float(outside[i].float().mean()),
                }
            )

    def mean(key: str) -> float:
        return statistics.fmean(r[key] for r in rows)

    return Evaluation(
        prompt=prompt,
        samples=samples,
        clip_gain=mean("clip_gain"),
        identity=mean("identity"),
        outside_mean_abs=mean("outside_mean_abs"),
        outside_psnr=_psnr(mean("outside_mse")),
        mask_area=mean("mask_area"),
        outside_fraction=mean("outside_fraction"),
        per_sample=rows,
    )
