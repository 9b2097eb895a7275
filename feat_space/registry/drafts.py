"""New registry entries for edits trained from a prompt (CLI or app), before they are published."""

from __future__ import annotations

import re

from ..editing.recipe import REGION_PRESETS
from ..errors import FeatError
from ..training.settings import TrainingSettings
from .schema import EditEntry


def slug(text: str) -> str:
    """A registry name from free text: lowercase, [a-z0-9-], at most 40 characters."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "edit"


def entry_from_prompt(
    prompt: str, region: str, *, name: str | None = None, steps: int | None = None, where: str = "feat-space"
) -> EditEntry:
    """An unpublished entry for `prompt` with the `region` preset's recipe and default training."""
    prompt = prompt.strip()
    if region not in REGION_PRESETS:
        raise FeatError(f"Unknown region {region!r}; choose one of: {', '.join(sorted(REGION_PRESETS))}.")
    training = TrainingSettings() if steps is None else TrainingSettings(steps=steps)
    return EditEntry(
        name=slug(name or prompt),
        title=(name or "").strip() or prompt[:1].upper() + prompt[1:40],
        description=f"Trained in {where} from the prompt “{prompt}”.",
        prompt=prompt,
        region=region,
        recipe=REGION_PRESETS[region],
        training=training,
        checkpoint={"status": "unpublished"},
    )
