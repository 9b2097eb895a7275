"""The doctor's reconstruction step: align and invert the sample photos, render the inversion, and measure
it against the aligned face: PSNR and ArcFace identity similarity, at 256².

Two judgements:
- **pairing** (any models, random ones included): e4e adds its stored `latent_avg` to every code, which is
  the mean W of the generator it was trained with. Measured here as the distance from the generator's own
  mean W (4096 mapped samples), in units of the typical distance of a sample W from that mean. An encoder
  of this generator lands near 0 (0.023 for the tiny models); one of another generator far off (0.65 for two
  tiny generators of different seeds, 1.9-2.2 for two random 8-layer mappings). Flagged above `max_mean_w_distance`.
- **quality** (trained models only; on random models the figures are reported, not judged): PSNR and
  identity under thresholds that a wrong encoder/generator pairing falls under. e4e on FFHQ-aligned faces
  is published at about 0.5 identity similarity and about 19-20 dB; a mismatched pair renders another face
  (identity near 0, PSNR near 10 dB). The thresholds sit between, and are not yet checked on real weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ..models.arcface import face_crop_112
from ..session import Session
from ..session.photo import image_to_tensor, resize_image, tensor_to_image
from .findings import FAIL, INFO, OK, Finding

STEP = "reconstruction"
SIZE = 256  # where the reconstruction is compared: e4e's input size, cheap to render


@dataclass(frozen=True)
class Thresholds:
    min_psnr_db: float = 15.0
    min_identity: float = 0.3
    max_mean_w_distance: float = 0.25


@dataclass(frozen=True)
class Reconstruction:
    photo: str
    aligned: Image.Image  # SIZE² crop
    reconstructed: Image.Image  # SIZE² rendering of the inversion
    psnr_db: float
    identity: float


def mean_w_distance(session: Session, samples: int = 4096) -> float:
    """How far the encoder's `latent_avg` is from the generator's mean W, in units of the mean distance
    of a sample W from it (see the module docstring)."""
    G, E = session.generator, session.encoder
    with session.running():
        z = torch.randn(samples, G.style_dim, generator=torch.Generator().manual_seed(0)).to(session.device)
        w = G.mapping(z).float()
    mean = w.mean(0)
    spread = (w - mean).norm(dim=1).mean()
    stored = E.latent_avg.float().reshape(-1, mean.shape[-1])
    return float(((stored - mean).norm(dim=1) / spread).max())


def reconstruct(session: Session, photo: Path) -> Reconstruction:
    prepared = session.prepare(photo)
    aligned = resize_image(image_to_tensor(prepared.face.image), SIZE).to(session.device)
    rendered = session.reconstruction(prepared, size=SIZE).float().clamp(-1, 1)
    mse = float((rendered - aligned).square().mean())
    arcface = session.arcface
    with session.running():
        a, b = arcface(face_crop_112(aligned)), arcface(face_crop_112(rendered))
    return Reconstruction(
        photo=photo.name,
        aligned=tensor_to_image(aligned.cpu()),
        reconstructed=tensor_to_image(rendered.cpu()),
        psnr_db=10 * math.log10(4.0 / max(mse, 1e-12)),  # pixels span [-1, 1]: peak-to-peak 2
        identity=float((a * b).sum()),
    )


def check_reconstruction(
    session: Session, photos: list[Path], thresholds: Thresholds, *, judge_quality: bool
) -> tuple[list[Finding], list[Reconstruction]]:
    findings, done = [], []
    distance = mean_w_distance(session)
    pairing: dict[str, Any] = {"mean_w_distance": round(distance, 4)}
    if distance > thresholds.max_mean_w_distance:
        findings.append(
            Finding(
                STEP,
                "encoder/generator pairing",
                FAIL,
                f"the encoder's latent_avg is {distance:.2f} spreads from the generator's mean W "
                f"(at most {thresholds.max_mean_w_distance} for an encoder trained with this generator): "
                "this e4e does not belong to this generator, and its inversions land on other faces",
                fix="use the e4e checkpoint trained with this generator (the real profile takes both from "
                "e4e_ffhq_encode.pt), or the generator that e4e file was trained with",
                metrics=pairing,
            )
        )
    else:
        findings.append(
            Finding(
                STEP,
                "encoder/generator pairing",
                OK,
                f"the encoder's latent_avg is {distance:.3f} spreads from the generator's mean W "
                f"(≤ {thresholds.max_mean_w_distance})",
                metrics=pairing,
            )
        )
    for photo in photos:
        try:
            r = reconstruct(session, photo)
        except Exception as e:  # a photo that fails is a finding; the others still run
            findings.append(Finding(STEP, photo.name, FAIL, f"{type(e).__name__}: {e}"))
            continue
        done.append(r)
        metrics = {"psnr_db": round(r.psnr_db, 2), "identity": round(r.identity, 4)}
        figures = f"PSNR {r.psnr_db:.1f} dB, identity {r.identity:.3f} (reconstruction vs aligned face, {SIZE}²)"
        if not judge_quality:
            findings.append(
                Finding(STEP, photo.name, INFO, f"{figures}; random models: reported, not judged", "", metrics)
            )
            continue
        low = []
        if r.psnr_db < thresholds.min_psnr_db:
            low.append(f"PSNR below {thresholds.min_psnr_db} dB")
        if r.identity < thresholds.min_identity:
            low.append(f"identity below {thresholds.min_identity}")
        if low:
            findings.append(
                Finding(
                    STEP,
                    photo.name,
                    FAIL,
                    f"{figures}: {', '.join(low)}, as with an encoder that does not fit the generator",
                    fix="check that the e4e file and the generator belong together (see the pairing line) and "
                    "that both are the official FFHQ files; look at contact-sheet.png",
                    metrics=metrics,
                )
            )
        else:
            findings.append(Finding(STEP, photo.name, OK, figures, metrics=metrics))
    return findings, done


__all__ = ["SIZE", "Reconstruction", "Thresholds", "check_reconstruction", "mean_w_distance", "reconstruct"]
