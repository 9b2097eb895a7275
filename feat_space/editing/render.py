"""The FEAT renderer: one or several edits rendered in stages, the same stages for every caller.

`render` runs, for a combination of edits (`EditPlan`):

1. the original latent's pass (`original_pass`): the attention features, the state at the blend
   layer and the state at `prefix_layer` (the last layer no edit can change);
2. the masks: attention on those features (`FeatEdit.mask`), then `shape_mask` (threshold, brush);
3. the mapped pass: the edited latent's state at the blend layer, continued from the original's
   prefix state (`edited_state`);
4. blending at the blend layer and the rest of the synthesis, with the original styles, up to the
   output layer (`blended_image`): a lower one gives a smaller image for less work;
5. the RGB edits' mix of the edited latent's image into the result (`mix_rgb`).

Where the original pass comes from and which stages are kept is the `Stages` the caller hands in:
`OriginalPass` computes everything for one call (`FeatEdit.forward`, `apply_edits`, training), the
session's per-photo stages (`Session.stages`) cache them, so that a slider move redoes only what it
changes: a threshold or brush move reuses the mapped pass, a strength move reruns it from the prefix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

import torch

from ..models.stylegan2 import Generator, SynthesisState
from .blending import BlendLayer, blend_states, mix, resize_mask
from .brush import Brush, apply_brush

if TYPE_CHECKING:
    from .edit import EditConfig, FeatEdit

T = TypeVar("T")
EditChoice = tuple["FeatEdit", float | None]  # an edit and its strength (None: the edit's default)
Features = dict[int, torch.Tensor]
States = dict[int, SynthesisState]


# -- what a combination of edits needs ---------------------------------------------------------------


def prefix_layer(first_entry: int) -> int | None:
    """The last layer whose synthesis state reads only W+ entries < `first_entry` (None if there is none).

    Layer k reads entry k; an even layer's toRGB also reads k + 1, so the state after an even layer
    depends on one entry more. The answer is the largest odd k with k < first_entry.
    """
    k = first_entry - 1 if first_entry % 2 == 0 else first_entry - 2
    return k if k >= 1 else None


def composite_layer(layers: list[BlendLayer]) -> BlendLayer:
    """Where several edits blend their features: the latest of their feature layers, so every edit's
    mapped W+ entries still count ("rgb" when all of them blend the final image)."""
    numeric = [k for k in layers if k != "rgb"]
    return max(numeric) if numeric else "rgb"


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
        return cls.of_configs([edit.config for edit, _ in edits])

    @classmethod
    def of_configs(cls, configs: Sequence[EditConfig]) -> EditPlan:
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
        """The layer whose accumulated RGB is the image at `size` (or the first complete one past the
        blend layer, if that is later: a feature blend cannot be shown before it happens)."""
        layer = G.layer_at(size)
        if self.layer != "rgb" and layer < self.layer:
            layer = G.rgb_layer(int(self.layer))
        return layer


# -- the stages ------------------------------------------------------------------------------------


def original_pass(
    G: Generator,
    wplus: torch.Tensor,
    layers: Iterable[int],
    keep: Iterable[int],
    dtype: torch.dtype | None = None,
    start: SynthesisState | None = None,
) -> tuple[Features, States]:
    """One synthesis pass of the original latent: the feature maps of `layers` and the states after
    each layer of `keep`, running only as far as the deepest of them; from `start` (the original's
    state at an earlier layer) when given."""
    wanted, kept = set(layers), set(keep)
    if start is not None and any(k <= start.layer for k in wanted | kept):
        raise ValueError(f"the pass from layer {start.layer} cannot give layers up to it")
    features: Features = {}
    states: States = {}
    state = start
    for k in sorted(wanted | kept):
        state = G.synthesize_until(wplus, k, dtype=dtype) if state is None else G.continue_to(state, wplus, k)
        if k in wanted:
            features[k] = state.feature
        if k in kept:
            states[k] = state
    return features, states


def deepest_before(states: dict[int, SynthesisState], layer: int) -> SynthesisState | None:
    """The latest of `states` at or before `layer`, to continue a pass from (None if there is none)."""
    before = [k for k in states if k <= layer]
    return states[max(before)] if before else None


def threshold_mask(mask: torch.Tensor, threshold: float) -> torch.Tensor:
    """Zero the mask below `threshold` and rescale the rest to [0, 1], keeping soft edges."""
    if threshold <= 0:
        return mask
    if threshold >= 1:
        return torch.zeros_like(mask)
    return ((mask - threshold) / (1 - threshold)).clamp(0, 1)


def shape_mask(learned: torch.Tensor, threshold: float = 0.0, brush: Brush | None = None) -> torch.Tensor:
    """A learned mask as an edit applies it: thresholded, then brushed (`editing.brush`)."""
    return apply_brush(threshold_mask(learned, threshold), brush)


def combine_masks(masks: list[torch.Tensor], size: int) -> torch.Tensor:
    """Union of soft masks: 1 − Π(1 − m) (one mask: itself, bit for bit)."""
    if len(masks) == 1:
        return resize_mask(masks[0], size)
    keep = torch.ones_like(resize_mask(masks[0], size))
    for m in masks:
        keep = keep * (1 - resize_mask(m, size))
    return 1 - keep


def united_masks(
    edits: Sequence[EditChoice], masks: Sequence[torch.Tensor]
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
    """(union of the feature-blending edits' masks, union of the RGB-blending edits' masks, union of
    all), at the largest mask resolution; None for a kind no edit is."""
    size = max(m.shape[-1] for m in masks)
    kinds: dict[bool, list[torch.Tensor]] = {True: [], False: []}
    for (edit, _), m in zip(edits, masks, strict=True):
        kinds[edit.config.blend_layer == "rgb"].append(m)
    features = combine_masks(kinds[False], size) if kinds[False] else None
    rgb = combine_masks(kinds[True], size) if kinds[True] else None
    return features, rgb, combine_masks(list(masks), size)


def edited_latent(wplus: torch.Tensor, edits: Sequence[EditChoice]) -> torch.Tensor:
    """Each edit maps the previous edit's latent, at its own strength."""
    for edit, strength in edits:
        wplus = edit.edit_latent(wplus, strength)
    return wplus


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
    return G.continue_to(blend_states(original, edited, mask), wplus, output_layer).skip


def mix_rgb(mask: torch.Tensor, edited: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """The RGB edits' final mix: `mask · edited + (1 − mask) · image` (both at one resolution)."""
    return mix(mask, edited.to(image.dtype), image)


def blended_synthesis(
    G: Generator, wplus: torch.Tensor, wplus_edit: torch.Tensor, mask: torch.Tensor, layer: BlendLayer
) -> torch.Tensor:
    """The full image of `wplus_edit` blended into `wplus` at `layer` through `mask` [B, 1, r, r]
    (any r), with no edit module: the blending stages alone."""
    last = G.num_layers - 1
    if layer == "rgb":
        return mix_rgb(mask, G.synthesis(wplus_edit), G.synthesis(wplus))
    _, states = original_pass(G, wplus, (), (layer,))
    return blended_image(G, wplus, states[layer], G.synthesize_until(wplus_edit, layer), mask, last)


# -- where the stages come from ----------------------------------------------------------------------


class Stages(Protocol):
    """Where a render gets the original latent's pass and keeps its own stages."""

    def original_pass(self, layers: tuple[int, ...], keep: tuple[int, ...]) -> tuple[Features, States]:
        """The original latent's features at `layers` and states after each layer of `keep`."""
        ...

    def original_image(self, layer: int) -> torch.Tensor:
        """The original latent's RGB after `layer` (`Generator.rgb_layer` of it)."""
        ...

    def latest(self, slot: str, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, or its value kept from the last call with this `key` in `slot`."""
        ...

    def running(self) -> contextlib.AbstractContextManager[None]:
        """Where the edit's own stages run (the session's inference slot)."""
        ...


@dataclass
class OriginalPass:
    """Stages of one render call: the original latent's pass computed here (its states kept for this
    object's later calls, e.g. the original image training compares with), nothing else kept.

    `frozen`: the original pass runs without gradients (training: only the edit learns); a frozen pass is
    also reused by later renders through this object (the verdict renders one batch at several strengths).
    """

    G: Generator
    wplus: torch.Tensor
    dtype: torch.dtype | None = None
    frozen: bool = False
    _states: States = field(default_factory=dict, repr=False)
    _images: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)
    _passes: dict[tuple, tuple[Features, States]] = field(default_factory=dict, repr=False)

    def _grad(self) -> contextlib.AbstractContextManager[None]:
        return torch.no_grad() if self.frozen else contextlib.nullcontext()

    def original_pass(self, layers: tuple[int, ...], keep: tuple[int, ...]) -> tuple[Features, States]:
        if (layers, keep) in self._passes:
            return self._passes[layers, keep]
        with self._grad():
            # Every layer run is kept: an RGB edit's original image continues from the deepest of them.
            features, states = original_pass(self.G, self.wplus, layers, (*layers, *keep), self.dtype)
        self._states.update(states)
        result = features, {k: states[k] for k in keep}
        if self.frozen:  # without gradients nothing ties it to one backward
            self._passes[layers, keep] = result
        return result

    def original_image(self, layer: int) -> torch.Tensor:
        layer = self.G.rgb_layer(layer)
        if layer not in self._images:
            start = deepest_before(self._states, layer)
            with self._grad():
                if start is None:
                    state = self.G.synthesize_until(self.wplus, layer, dtype=self.dtype)
                else:
                    state = self.G.continue_to(start, self.wplus, layer)
            self._images[layer] = state.skip
        return self._images[layer]

    def latest(self, slot: str, key: Hashable, compute: Callable[[], T]) -> T:
        return compute()

    def running(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


# -- the renderer ------------------------------------------------------------------------------------


def weights_version(edit: FeatEdit) -> tuple[int, ...]:
    """Changes whenever the edit's weights change in place (an optimiser step, a load): part of the
    stages' keys, so a kept stage is never reused for other weights."""
    return tuple(p._version for p in edit.parameters())


@dataclass
class Rendered:
    image: torch.Tensor  # [B, 3, r, r] the RGB after `layer`, about [-1, 1], in the layout synthesis left it
    mask: torch.Tensor  # [B, 1, m, m] the union of the edits' masks (thresholded, brushed)
    masks: list[torch.Tensor]  # each edit's, as it applied
    wplus_edit: torch.Tensor  # the edited latent
    layer: int  # the output layer
    plan: EditPlan
    edited_rgb: torch.Tensor | None = None  # what RGB edits mixed in through their mask (None without any)


def render(
    G: Generator,
    wplus: torch.Tensor,
    edits: Sequence[EditChoice],
    *,
    threshold: float = 0.0,
    brush: Brush | None = None,
    size: int | None = None,
    stages: Stages | None = None,
    dtype: torch.dtype | None = None,
    wplus_edit: torch.Tensor | None = None,
    blend_mask: Callable[[torch.Tensor], torch.Tensor] | None = None,
    blend_edit: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Rendered:
    """`edits` (composed in order: each maps the previous edit's latent; every mask reads the original
    latent) rendered at `size` (default: the generator's; see `EditPlan.output_layer`).

    Feature edits blend together at `composite_layer` through the union of their masks; edits that
    blend the final RGB are then mixed in through the union of theirs, from the image of the fully
    edited latent. `stages` default to an `OriginalPass` of this call (features in `dtype`).
    `wplus_edit` passes the edited latent when the caller has it (training keeps its Δ);
    `blend_mask` is what blending sees of the masks (training normalises their gradient there), and
    `blend_edit` what it sees of the edited features or image (training weights their gradient there).
    """
    if not edits:
        raise ValueError("render needs at least one edit")
    plan = EditPlan.of(edits)
    out = plan.output_layer(G, G.size if size is None else size)
    stages = stages if stages is not None else OriginalPass(G, wplus, dtype)
    features, states = stages.original_pass(plan.attention_layers, plan.original_layers)
    original_image = None if plan.features else stages.original_image(out)
    key = tuple((edit, weights_version(edit), strength) for edit, strength in edits)
    with stages.running():
        # The attention masks depend on the edits' weights only: a threshold or brush change reuses them.
        learned = tuple((edit, weights_version(edit)) for edit, _ in edits)
        raw = stages.latest("masks", learned, lambda: [edit.mask(features) for edit, _ in edits])
        masks = [shape_mask(m, threshold, brush) for m in raw]
        feature_mask, rgb_mask, union = united_masks(edits, masks)
        if blend_mask is not None:
            feature_mask = None if feature_mask is None else blend_mask(feature_mask)
            rgb_mask = None if rgb_mask is None else blend_mask(rgb_mask)
        edit_latent = wplus_edit
        if edit_latent is None:
            edit_latent = stages.latest("edited latent", key, lambda: edited_latent(wplus, edits))
        prefix = states[plan.prefix] if plan.prefix is not None else None
        edited: SynthesisState | None = None
        if plan.features:
            assert feature_mask is not None and plan.layer != "rgb"
            blend = int(plan.layer)
            edited = stages.latest(
                "edited state", (key, blend), lambda: edited_state(G, plan, edit_latent, blend, prefix, dtype)
            )
            seen = edited
            if blend_edit is not None:
                seen = edited.replace(feature=blend_edit(edited.feature), skip=blend_edit(edited.skip))
            image = blended_image(G, wplus, states[blend], seen, feature_mask, out)
        else:
            assert original_image is not None
            image = original_image
        if plan.rgb:
            assert rgb_mask is not None
            start = edited if edited is not None else prefix  # the edited latent's deepest state

            def edited_rgb() -> torch.Tensor:
                if start is None:
                    return G.synthesize_until(edit_latent, out, dtype=dtype).skip
                return G.continue_to(start, edit_latent, out).skip

            edited_image = stages.latest(f"edited image {out}", key, edited_rgb)
            if blend_edit is not None:
                edited_image = blend_edit(edited_image)
            image = mix_rgb(rgb_mask, edited_image, image)
    return Rendered(
        image=image,
        mask=union,
        masks=masks,
        wplus_edit=edit_latent,
        layer=out,
        plan=plan,
        edited_rgb=edited_image if plan.rgb else None,
    )


__all__ = [
    "EditChoice",
    "EditPlan",
    "OriginalPass",
    "Rendered",
    "Stages",
    "blended_image",
    "blended_synthesis",
    "combine_masks",
    "composite_layer",
    "edited_latent",
    "edited_state",
    "mix_rgb",
    "original_pass",
    "prefix_layer",
    "render",
    "shape_mask",
    "threshold_mask",
    "united_masks",
]
