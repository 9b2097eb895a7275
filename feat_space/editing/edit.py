"""One FEAT edit: a latent mapper (what changes) + an attention network (where), and how they apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from torch import nn

from ..errors import FeatError
from ..models.stylegan2 import Generator
from .attention import AttentionNetwork
from .blending import BlendLayer
from .brush import Brush
from .mapper import LatentMapper
from .render import Stages, render


def used_entries(blend_layer: BlendLayer, n_latent: int) -> int:
    """W+ entries [0, this) that reach the image when blending at `blend_layer`: after it synthesis
    continues with the original styles (an even layer's toRGB still reads entry layer + 1)."""
    if blend_layer == "rgb":
        return n_latent
    return blend_layer + 2 if blend_layer % 2 == 0 else blend_layer + 1


class EditConfig(BaseModel):
    """Everything needed to rebuild an edit's modules; stored as config.json beside its weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1)
    generator_size: int  # the generator it was trained for
    n_latent: int
    style_dim: int = 512
    mapped_layers: tuple[int, int]  # W+ entries [start, end) the mapper changes
    blend_layer: int | Literal["rgb"]
    attention_layers: tuple[int, ...] = Field(min_length=1)
    attention_in_channels: tuple[int, ...]  # the generator's channels at those layers
    attention_channels: int = Field(default=8, ge=1)
    mask_resolution: int = Field(default=64, ge=4)
    mapper_depth: int = Field(default=4, ge=1)
    strength: float = 1.0  # default α
    # The smallest part the edit is for, as a share of the image (lips ~0.01): a trained mask much
    # smaller than this has closed (training.monitor.floor_for).
    smallest_part: float = Field(default=0.12, gt=0, le=1)

    @field_validator("mapped_layers")
    @classmethod
    def _ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= v[0] < v[1]:
            raise ValueError("mapped_layers must be [start, end) with 0 <= start < end")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> EditConfig:
        if self.mapped_layers[1] > self.n_latent:
            raise ValueError(f"mapped_layers end {self.mapped_layers[1]} exceeds n_latent {self.n_latent}")
        num_layers = self.n_latent - 1
        layers = [*self.attention_layers] + ([] if self.blend_layer == "rgb" else [self.blend_layer])
        if any(not 0 <= k < num_layers for k in layers):
            raise ValueError(f"attention and blend layers must lie in [0, {num_layers})")
        if len(self.attention_in_channels) != len(self.attention_layers):
            raise ValueError("attention_in_channels needs one entry per attention layer")
        used = used_entries(self.blend_layer, self.n_latent)
        if self.mapped_layers[1] > used:
            raise ValueError(
                f"mapped_layers end {self.mapped_layers[1]} is past the W+ entries blending at layer "
                f"{self.blend_layer} uses (< {used}); the rest would have no effect. Blend later, or map fewer."
            )
        return self

    @classmethod
    def for_generator(
        cls,
        G: Generator,
        prompt: str,
        mapped_layers: tuple[int, int],
        blend_layer: BlendLayer,
        attention_layers: tuple[int, ...],
        **options,
    ) -> EditConfig:
        """A config whose shapes match `G` (its size, n_latent and channel counts)."""
        return cls(
            prompt=prompt,
            generator_size=G.size,
            n_latent=G.n_latent,
            style_dim=G.style_dim,
            mapped_layers=cast(tuple[int, int], tuple(mapped_layers)),  # validated as a pair
            blend_layer=blend_layer,
            attention_layers=tuple(attention_layers),
            attention_in_channels=tuple(G.channels[G.resolution(k)] for k in attention_layers),
            **options,
        )


@dataclass
class EditOutput:
    image: torch.Tensor  # [B, 3, H, W], about [-1, 1]
    mask: torch.Tensor  # [B, 1, r, r] in [0, 1], after thresholding
    wplus_edit: torch.Tensor


class FeatEdit(nn.Module):
    """Mapper + attention network of one text prompt, for one generator layout."""

    def __init__(self, config: EditConfig):
        super().__init__()
        self.config = config
        start, end = config.mapped_layers
        self.mapper = LatentMapper(config.n_latent, start, end, config.style_dim, config.mapper_depth)
        self.attention = AttentionNetwork(
            list(config.attention_in_channels), config.attention_channels, config.mask_resolution
        )

    def check_generator(self, G: Generator) -> None:
        c = self.config
        expected = tuple(G.channels[G.resolution(k)] for k in c.attention_layers)
        if (G.size, G.n_latent, G.style_dim) != (c.generator_size, c.n_latent, c.style_dim) or (
            expected != c.attention_in_channels
        ):
            raise FeatError(
                f"This edit was made for a {c.generator_size}² generator with {c.n_latent} W+ entries; "
                f"the loaded generator is {G.size}² with {G.n_latent}. Use the models (profile) it was trained with."
            )

    def edit_latent(self, wplus: torch.Tensor, strength: float | None = None) -> torch.Tensor:
        alpha = self.config.strength if strength is None else strength
        return wplus + alpha * self.mapper(wplus)

    def mask(self, features: dict[int, torch.Tensor]) -> torch.Tensor:
        return self.attention([features[k] for k in self.config.attention_layers])

    def forward(
        self,
        G: Generator,
        wplus: torch.Tensor,
        strength: float | None = None,
        threshold: float = 0.0,
        brush: Brush | None = None,
        stages: Stages | None = None,
    ) -> EditOutput:
        """Edit the images of `wplus` (`editing.render`). `brush` restricts / extends the mask
        (`editing.brush`); `stages` may give the original latent's pass when it is kept elsewhere (a
        prepared photo's, `Session.stages`)."""
        return apply_edits(G, wplus, [(self, strength)], threshold, brush, stages)


def untrained_edit(config: EditConfig, seed: int, gain: float = 1.0) -> FeatEdit:
    """An edit with random weights drawn from `seed` (the process's random state is left alone), its
    mapper amplified by `gain`: a labelled demo for the tiny profile, never a trained edit."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        edit = FeatEdit(config).eval()
    edit.mapper.amplify(gain)
    return edit


def apply_edits(
    G: Generator,
    wplus: torch.Tensor,
    edits: list[tuple[FeatEdit, float | None]],
    threshold: float = 0.0,
    brush: Brush | None = None,
    stages: Stages | None = None,
) -> EditOutput:
    """Several edits composed in order at the generator's full size, in one call: each maps the
    previous edit's latent, and every mask is read from the original latent (`editing.render`)."""
    if not edits:
        raise ValueError("apply_edits needs at least one edit")
    out = render(G, wplus, edits, threshold=threshold, brush=brush, stages=stages)
    return EditOutput(image=out.image.contiguous(), mask=out.mask, wplus_edit=out.wplus_edit)
