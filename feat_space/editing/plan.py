"""Edits rendered in stages, so that a caller can cache each stage and redo only what a change needs.

One combination of edits (`EditPlan`) renders as:

1. the original latent's pass: attention features, the state at the blend layer, and the state at
   `prefix_layer` (the last layer no edit can change) — per photo, once;
2. masks: attention on those features (per edit's weights), then threshold and brush (on every change);
3. the edited latent's pass from `prefix_layer` to the blend layer — redone when a strength changes
   (a threshold or brush change reuses it);
4. blending at the blend layer and the rest of the synthesis up to the output layer — redone on
   every change (the mask decides what the later layers see). A lower output layer gives a smaller
   image for less work: the RGB accumulated so far, which is what a live preview shows.

`apply_edits` (full resolution, no caching) is the same computation in one call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from ..models.stylegan2 import Generator, SynthesisState
from .blending import BlendLayer, blend_states, mix
from .edit import FeatEdit, composite_layer

EditChoice = tuple[FeatEdit, float | None]  # an edit and its strength (None: the edit's default)


def prefix_layer(first_entry: int) -> int | None:
    """The last layer whose synthesis state reads only W+ entries < `first_entry` (None if there is none).

    Layer k reads entry k; an even layer's toRGB also reads k + 1, so the state after an even layer
    depends on one entry more. The answer is the largest odd k with k < first_entry.
    """
    k = first_entry - 1 if first_entry % 2 == 0 else first_entry - 2
    return k if k >= 1 else None


@dataclass(frozen=True)
class EditPlan:
    """What a combination of edits needs from the generator."""

    layer: BlendLayer  # where their features blend (`composite_layer`), "rgb" if all blend the image
    attention_layers: tuple[int, ...]  # features of the original latent the masks read
    prefix: int | None  # the last layer the edits cannot change (`prefix_layer` of the first mapped entry)
    features: bool  # some edit blends features
    rgb: bool  # some edit blends the final RGB

    @classmethod
    def of(cls, edits: Sequence[EditChoice]) -> EditPlan:
        configs = [edit.config for edit, _ in edits]
        return cls(
            layer=composite_layer([c.blend_layer for c in configs]),
            attention_layers=tuple(sorted({k for c in configs for k in c.attention_layers})),
            prefix=prefix_layer(min(c.mapped_layers[0] for c in configs)),
            features=any(c.blend_layer != "rgb" for c in configs),
            rgb=any(c.blend_layer == "rgb" for c in configs),
        )

    @property
    def original_layers(self) -> tuple[int, ...]:
        """Layers whose original state the plan starts from (the prefix, the blend layer)."""
        layers = {self.prefix} if self.prefix is not None else set()
        if self.layer != "rgb":
            layers.add(int(self.layer))
        return tuple(sorted(layers))

    def output_layer(self, G: Generator, size: int) -> int:
        """The layer whose accumulated RGB is the image at `size` (or the smallest one past the blend
        layer, if that is later: a feature blend cannot be shown before it happens)."""
        layer = G.layer_at(size)
        if self.layer != "rgb" and layer < self.layer:
            layer = int(self.layer) + int(self.layer) % 2  # an odd layer's RGB comes with the next
        return layer


def original_pass(
    G: Generator,
    wplus: torch.Tensor,
    layers: Iterable[int],
    keep: Iterable[int],
    dtype: torch.dtype | None = None,
    start: SynthesisState | None = None,
) -> tuple[dict[int, torch.Tensor], dict[int, SynthesisState]]:
    """One synthesis pass of the original latent: the feature maps of `layers` and the states after
    each layer of `keep`, running only as far as the deepest of them; from `start` (the original's
    state at an earlier layer) when given."""
    wanted, kept = set(layers), set(keep)
    if start is not None and any(k <= start.layer for k in wanted | kept):
        raise ValueError(f"the pass from layer {start.layer} cannot give layers up to it")
    features: dict[int, torch.Tensor] = {}
    states: dict[int, SynthesisState] = {}
    state = start
    for k in sorted(wanted | kept):
        state = G.synthesize_until(wplus, k, dtype=dtype) if state is None else G.continue_to(state, wplus, k)
        if k in wanted:
            features[k] = state.feature
        if k in kept:
            states[k] = state
    return features, states


def edited_state(
    G: Generator,
    plan: EditPlan,
    wplus_edit: torch.Tensor,
    until: int,
    prefix: SynthesisState | None,
    dtype: torch.dtype | None = None,
) -> SynthesisState:
    """The edited latent's state after layer `until`, continuing from the original's `prefix` state
    (exact: the layers up to it read no entry an edit changes)."""
    if prefix is None:
        return G.synthesize_until(wplus_edit, until, dtype=dtype)
    if prefix.layer != plan.prefix:
        raise ValueError(f"the prefix state must be the original's at layer {plan.prefix}, got layer {prefix.layer}")
    return G.continue_to(prefix, wplus_edit, until)


def blended_image(
    G: Generator,
    wplus: torch.Tensor,
    original: SynthesisState,
    edited: SynthesisState,
    mask: torch.Tensor,
    output_layer: int,
) -> torch.Tensor:
    """Blend the edited state into the original at their layer through `mask`, then continue with the
    original styles up to `output_layer`: the RGB there (the image at that layer's resolution)."""
    return G.continue_to(blend_states(original, edited, mask), wplus, output_layer).skip.contiguous()


def mix_rgb(mask: torch.Tensor, edited: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """The RGB edits' final mix: `mask · edited + (1 − mask) · image` (both at one resolution)."""
    return mix(mask, edited.to(image.dtype), image)


__all__ = [
    "EditChoice",
    "EditPlan",
    "blended_image",
    "edited_state",
    "mix_rgb",
    "original_pass",
    "prefix_layer",
]
