"""The Train tab's form → a registry entry, and the words around the preset choice.

A typed prompt gets a suggested preset (`editing.preset_suggestion`); the visitor may pick another,
and then the suggestion no longer moves the choice. Each preset says what it changes where it is chosen.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from ..editing.preset_suggestion import suggest_preset
from ..editing.ranges import THRESHOLD
from ..editing.recipe import PRESETS
from ..errors import FeatError
from ..registry.drafts import entry_from_prompt, retrain_entry, with_settings
from ..registry.schema import EditEntry
from .context import AppContext


def recipe_label(entry: EditEntry) -> str:
    """The region choice that keeps a registry edit's own recipe."""
    return f"{entry.region} (recipe of {entry.name}.yaml)"


def region_choices(base: EditEntry | None = None) -> list[str]:
    presets = list(PRESETS)
    return [recipe_label(base), *presets] if base is not None else presets


def presets_table() -> str:
    """Every preset and what it changes, as a Markdown table (the accordion under the choice)."""
    rows = [f"| **{p.name}** | {p.changes} | {p.suits} |" for p in PRESETS.values()]
    return "\n".join(["| preset | what it changes | for |", "| --- | --- | --- |", *rows])


def preset_help(region: str, prompt: str) -> str:
    """What the chosen preset changes, and what the prompt's words suggest."""
    suggestion = suggest_preset(prompt) if (prompt or "").strip() else None
    if region in PRESETS:
        p = PRESETS[region]
        said = f"**{p.name}**: {p.changes}. For {p.suits}."
    else:
        said = f"**{region}**: the registry edit's own recipe."
    if suggestion is not None:
        if suggestion.preset == region:
            said += f" ✓ Suggested for this prompt ({suggestion.matched})."
        else:
            said += f" Suggested for this prompt: **{suggestion.preset}** ({suggestion.reason})."
    return said


def suggested_region(prompt: str, region: str, chosen_by_hand: bool) -> str:
    """The preset to show after the prompt changed: the suggestion, unless the visitor picked one."""
    if chosen_by_hand or region not in PRESETS:
        return region
    return suggest_preset(prompt).preset if (prompt or "").strip() else region


# "a face with", "a photo of a person wearing", ...: words every prompt starts with, which name nothing.
_PROMPT_LEAD = re.compile(
    r"^(?:(?:a|an|the)\s+)?(?:(?:photo|picture|portrait)\s+of\s+(?:a|an|the)\s+)?"
    r"(?:face|person|man|woman|girl|boy|portrait)\s+(?:with|wearing|having|that\s+has)\s+(?:(?:a|an|the|some)\s+)?",
    re.IGNORECASE,
)
_LINKING = {"a", "an", "the", "and", "or", "with", "of", "in", "on"}
NAME_WORDS = 4  # a default name longer than this reads as a sentence, not a name


def default_name(prompt: str) -> str:
    """The name an edit gets when the visitor gives none: the prompt's distinctive words, not the whole
    prompt ("a face with a big smile" → "Big smile")."""
    words = _PROMPT_LEAD.sub("", prompt.strip()).split()
    if words and words[0].lower() in ("a", "an", "the"):
        words = words[1:]
    words = words[:NAME_WORDS]
    while words and words[-1].lower() in _LINKING:  # "round glasses and a" → "round glasses"
        words.pop()
    name = " ".join(words).strip(" .,;:!?") or prompt.strip()
    return name[:1].upper() + name[1:]


def _problems(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())


def training_entry(
    ctx: AppContext,
    prompt: str,
    name: str | None,
    region: str,
    steps: int,
    base_name: str | None,
    threshold: float | None = None,
) -> EditEntry:
    """The registry entry a training run produces: the base registry edit's (same prompt), else a new one."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise FeatError("Write a prompt first, e.g. “a face with freckles”: it says what the edit should do.")
    if not 1 <= steps <= ctx.limits.max_steps:
        raise FeatError(f"Steps must be between 1 and {ctx.limits.max_steps} on this hardware.")
    threshold = THRESHOLD.check(THRESHOLD.default if threshold is None else threshold)
    base = ctx.registry.get(base_name) if base_name else None
    try:
        if base is None or base.prompt != prompt:
            name = (name or "").strip() or default_name(prompt)
            entry = entry_from_prompt(prompt, region, name=name, steps=steps, where="the feat-space app")
            return with_settings(entry, mask_threshold=threshold)
        if region == recipe_label(base):
            recipe, region_name = base.recipe, base.region
        elif region in PRESETS:
            recipe, region_name = PRESETS[region].recipe, region
        else:
            raise FeatError("Choose a region preset from the list.")
        return retrain_entry(base, recipe=recipe, region=region_name, steps=steps, mask_threshold=threshold, name=name)
    except ValidationError as e:
        raise FeatError(f"This edit cannot be set up: {_problems(e)}. Change the name or prompt.") from None
