"""How an edit is set up, in generator-independent terms, and region presets for new prompts.

A recipe names W+ *groups* (StyleCLIP's coarse / medium / fine) and feature *resolutions* rather than
layer indices, so one recipe fits the 1024² FFHQ generator and the small test generators alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..models.stylegan2 import Generator
from .edit import EditConfig
from .groups import GROUPS, Group, group_span


def _power_of_two(v: int) -> int:
    if v < 4 or v & (v - 1):
        raise ValueError(f"{v} is not a feature resolution (a power of two >= 4)")
    return v


class Recipe(BaseModel):
    """Method settings of one edit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mapped: tuple[Group, ...] = Field(min_length=1, description="W+ groups the mapper changes (contiguous)")
    blend: int | Literal["rgb"] = Field(description="resolution whose feature map is blended, or 'rgb'")
    attention: tuple[int, ...] = Field(min_length=1, description="resolutions the attention network reads")
    attention_channels: int = Field(default=8, ge=1, le=64)
    mask_resolution: int = Field(default=64)
    smallest_part: float = Field(
        default=0.12, gt=0, le=1, description="share of the image the smallest part it is for covers"
    )

    @field_validator("mapped")
    @classmethod
    def _contiguous(cls, v: tuple[Group, ...]) -> tuple[Group, ...]:
        order = sorted(GROUPS.index(g) for g in set(v))
        if len(order) != len(v) or order != list(range(order[0], order[-1] + 1)):
            raise ValueError("must list distinct, neighbouring groups among coarse, medium, fine")
        return tuple(GROUPS[i] for i in order)

    @field_validator("blend")
    @classmethod
    def _blend(cls, v: int | str) -> int | str:
        return v if isinstance(v, str) else _power_of_two(v)  # a string is "rgb" (the Literal checked it)

    @field_validator("attention")
    @classmethod
    def _attention(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted({_power_of_two(r) for r in v}))

    @field_validator("mask_resolution")
    @classmethod
    def _mask(cls, v: int) -> int:
        return _power_of_two(v)

    def config_for(self, G: Generator, prompt: str, strength: float = 1.0) -> EditConfig:
        """The layer-level EditConfig of this recipe on generator `G` (resolutions clipped to G's)."""

        start, end = group_span(self.mapped[0], G.n_latent)[0], group_span(self.mapped[-1], G.n_latent)[1]
        if start >= end:
            raise ValueError(f"the {self.mapped[0]} group does not exist in a {G.size}² generator")
        return EditConfig.for_generator(
            G,
            prompt,
            mapped_layers=(start, end),
            blend_layer="rgb" if self.blend == "rgb" else G.layer_at(self.blend),
            attention_layers=tuple(sorted({G.layer_at(r) for r in self.attention})),
            attention_channels=self.attention_channels,
            mask_resolution=min(self.mask_resolution, G.size),
            smallest_part=self.smallest_part,
            strength=strength,
        )


@dataclass(frozen=True)
class Preset:
    """A recipe for new prompts, with what it changes said in words (shown where it is chosen)."""

    name: str
    recipe: Recipe
    changes: str  # what the preset changes, for the person choosing it
    suits: str  # the kind of prompt it is for


# The presets' names: what the Train tab, the command line and the registry's `region:` say.
FACE_FEATURES, LOWER_FACE, HAIR, COLOUR, SMALL_COLOUR = "face features", "lower face", "hair", "colour", "small colour"
DEFAULT_PRESET = FACE_FEATURES  # for a prompt no rule places (`preset_suggestion`), and the Train tab's first choice

# Presets for training a new prompt: shape edits blend features (later layers clean the seam), colour
# edits blend the final RGB (nothing outside the mask moves at all). Each recipe appears once: the
# former "mouth" and "eyes" presets were the same recipe and are one preset now, as are "hair colour"
# and "skin" (region words still find them through REGION_PRESETS).
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            FACE_FEATURES,
            # Both eyes cover ~0.5 % of an aligned face, lips 0.9-1.7 %.
            Recipe(mapped=("medium",), blend=64, attention=(16, 32, 64), smallest_part=0.005),
            "shape at 64²: maps the medium W+ layers (features and expression) and blends the generator's "
            "features at 64², so the finer layers after it smooth the seam",
            "mouth, eyes, nose, eyebrows, expressions (a smile, closed eyes)",
        ),
        Preset(
            LOWER_FACE,
            Recipe(mapped=("coarse", "medium"), blend=32, attention=(16, 32), smallest_part=0.04),
            "larger shape at 32²: also maps the coarse W+ layers (structure), blends at 32²",
            "beard, jaw, chin, cheeks",
        ),
        Preset(
            HAIR,
            Recipe(mapped=("medium",), blend=32, attention=(16, 32)),
            "shape at 32²: maps the medium W+ layers, blends at 32², where the hair's outline forms",
            "hairstyle, length, curls, baldness",
        ),
        Preset(
            COLOUR,
            Recipe(mapped=("fine",), blend="rgb", attention=(16, 32, 64), mask_resolution=128, smallest_part=0.04),
            "colour only: maps the fine W+ layers (colour and texture, not shape) and blends the final image, "
            "so nothing outside the mask changes at all",
            "hair colour, skin, freckles, make-up, tan",
        ),
        Preset(
            SMALL_COLOUR,
            Recipe(mapped=("fine",), blend="rgb", attention=(32, 64), mask_resolution=128, smallest_part=0.008),
            "colour of a small part: like colour, but the mask reads only the 32² and 64² features, "
            "which resolve small parts",
            "lips, lipstick, eye colour",
        ),
    )
}

# Region words of earlier versions (and of the registry's `region:` labels) → the preset's recipe.
_REGION_WORDS = {
    "mouth": FACE_FEATURES,
    "eyes": FACE_FEATURES,
    "hair colour": COLOUR,
    "skin": COLOUR,
    "lips colour": SMALL_COLOUR,
}
# `REGION_PRESETS[name].config_for(G, prompt)`: a preset or a region word → its recipe.
REGION_PRESETS: dict[str, Recipe] = {
    **{name: p.recipe for name, p in PRESETS.items()},
    **{word: PRESETS[preset].recipe for word, preset in _REGION_WORDS.items()},
}


def preset_for(name: str) -> Preset:
    """The preset a preset name or a region word stands for; KeyError if neither."""
    return PRESETS[_REGION_WORDS.get(name, name)]
