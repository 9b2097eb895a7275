"""Random-init models for the benchmarks, built without their slow default initialisation."""

from __future__ import annotations

import torch

from feat_space.models import Encoder4Editing


def random_encoder(n_styles: int = 18, stages=None, device: torch.device | str = "cpu") -> Encoder4Editing:
    """e4e at random init (weights ~ N(0, 0.02²), BatchNorm at identity statistics, latent_avg zero on
    `device`), built on the meta device and filled in place: the default initialisation takes seconds
    at full size. `stages=None` is the IR-SE50 encoder; the module is returned as built (train mode)."""
    with torch.device("meta"):
        E = Encoder4Editing(n_styles) if stages is None else Encoder4Editing(n_styles, stages=stages)
    E = E.to_empty(device=device)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in E.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        for name, b in E.named_buffers():
            if b.is_floating_point():
                b.fill_(1.0 if "running_var" in name else 0.0)
    E.set_latent_avg(torch.zeros(512, device=device))
    return E
