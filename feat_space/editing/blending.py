"""Feature blending: the edit happens only where the mask says.

Synthesis runs for the original latent w and the edited w'. At the blend layer L the feature map and
the accumulated RGB become `m·f(w') + (1−m)·f(w)`; the layers after L use the *original* styles, so
outside the mask the image differs only within `blend_margin(G, L)` pixels of it. With L = "rgb" the
final images are blended, `m·img(w') + (1−m)·img(w)`, and outside the mask nothing changes at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
import torch.nn.functional as F

from ..models.stylegan2 import Generator, SynthesisState

BlendLayer = int | Literal["rgb"]


def resize_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    if mask.shape[-1] == size:
        return mask
    return F.interpolate(mask, size=(size, size), mode="bilinear", align_corners=False)


def mix(mask: torch.Tensor, edited: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """m·edited + (1−m)·original, with m resized to the tensors' resolution.

    This form is exact at both ends: where m == 0 it is `original` bit for bit, where m == 1 `edited`.
    """
    m = resize_mask(mask, original.shape[-1]).to(original.dtype)
    return m * edited + (1 - m) * original


def blend_states(state: SynthesisState, edited: SynthesisState, mask: torch.Tensor) -> SynthesisState:
    return state.replace(feature=mix(mask, edited.feature, state.feature), skip=mix(mask, edited.skip, state.skip))


def blended_synthesis(
    G: Generator,
    wplus: torch.Tensor,
    wplus_edit: torch.Tensor,
    mask: torch.Tensor,
    layer: BlendLayer,
    original: SynthesisState | torch.Tensor | None = None,
) -> torch.Tensor:
    """The edited image: w' blended into w at `layer` through `mask` [B, 1, r, r] (any r).

    `original` may pass the already computed original state at `layer` (or the original image for
    "rgb"), which a cached photo has, to skip recomputing it.
    """
    if layer == "rgb":
        if isinstance(original, SynthesisState):
            raise TypeError("blending the final RGB needs the original image, not a synthesis state")
        image = original if original is not None else G.synthesis(wplus)
        return mix(mask, G.synthesis(wplus_edit), image)
    if isinstance(original, torch.Tensor):
        raise TypeError(f"blending at layer {layer} needs the original synthesis state there, not an image")
    state = original if original is not None else G.synthesize_until(wplus, layer)
    edited = G.synthesize_until(wplus_edit, layer)
    return G.synthesize_from(blend_states(state, edited, mask), wplus)


def original_pass(
    G: Generator, wplus: torch.Tensor, layers: Iterable[int], until: int
) -> tuple[dict[int, torch.Tensor], SynthesisState]:
    """One synthesis pass of the original latent: the feature maps of `layers` (what the attention
    network reads) and the state after layer `until` (or after the deepest of `layers`, if later)."""
    wanted = set(layers)
    state: SynthesisState | None = None
    kept: SynthesisState | None = None
    features: dict[int, torch.Tensor] = {}
    for k in sorted(wanted | {until}):
        state = G.synthesize_until(wplus, k) if state is None else G.continue_to(state, wplus, k)
        if k in wanted:
            features[k] = state.feature
        if k == until:
            kept = state
    assert kept is not None  # `until` is among the layers run
    return features, kept


def original_inputs(
    G: Generator,
    wplus: torch.Tensor,
    layers: Iterable[int],
    layer: BlendLayer,
    features: dict[int, torch.Tensor] | None = None,
    original: SynthesisState | torch.Tensor | None = None,
) -> tuple[dict[int, torch.Tensor], SynthesisState | torch.Tensor]:
    """What an edit reads of the original latent — attention features and the blend-layer state (the
    image for "rgb") — computing only what was not given, in as few passes as possible."""
    layers = sorted(set(layers))
    if features is not None and original is not None:
        return features, original
    if features is not None:  # only the original is missing
        return features, G.synthesis(wplus) if layer == "rgb" else G.synthesize_until(wplus, layer)
    if original is not None:
        return G.features(wplus, layers), original
    if layer == "rgb":
        features, state = original_pass(G, wplus, layers, max(layers))
        return features, G.synthesize_from(state, wplus)
    return original_pass(G, wplus, layers, layer)


def blend_margin(G: Generator, layer: BlendLayer) -> int:
    """Output pixels beyond the mask's support that blending at `layer` can still change.

    Conservative, from the layers' supports: a 3x3 conv reaches 1 pixel further; an upsampling
    layer (stride-2 3x3 transposed conv + 4-tap blur) maps a reach of r to 2r + 3; the RGB skip's
    upsampling (4-tap) maps r to 2r + 2. The mask's own bilinear resize adds 1 pixel at each scale,
    counted by starting from 1.
    """
    if layer == "rgb":
        return 0
    reach = skip_reach = 1
    if layer % 2:  # the skip is still at half resolution: the next toRGB upsamples it (r -> 2r + 2)
        skip_reach = 2 * skip_reach + 2
    for k in range(layer + 1, G.num_layers):
        if k % 2:  # upsampling conv; the skip is upsampled by the toRGB of this block
            reach, skip_reach = 2 * reach + 3, 2 * skip_reach + 2
        else:
            reach += 1
            skip_reach = max(skip_reach, reach)  # this block's toRGB (1x1) adds the feature's reach
    return max(reach, skip_reach)
