"""A region preset suggested for a typed prompt, from a keyword table (deterministic, and readable).

The table is the documentation: each rule names the words it looks for and the preset they point to;
rules are tried in order and the first whose words all appear wins, so "red hair" (colour + hair) is
decided before "hair" alone. A prompt no rule matches gets `recipe.DEFAULT_PRESET`, saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .recipe import COLOUR, DEFAULT_PRESET, FACE_FEATURES, HAIR, LOWER_FACE, PRESETS, SMALL_COLOUR

COLOURS = (
    "red|blond|blonde|black|brown|purple|pink|blue|green|grey|gray|white|silver|orange|golden|ginger|auburn|"
    "dyed|colou?r|colou?red"
)
# Colour words that name a hair colour without the word "hair".
HAIR_COLOURS = r"blond|blonde|brunette|redhead|red-haired|ginger|auburn|platinum"

# (pattern groups that must all match, preset). Patterns are whole words (regular expressions).
RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    ((r"lips?|lipstick|lip gloss",), SMALL_COLOUR),
    ((COLOURS, r"eyes?|iris(es)?"), SMALL_COLOUR),
    ((COLOURS, r"hair|haired"), COLOUR),
    ((HAIR_COLOURS,), COLOUR),  # "blonde" alone means the hair's colour
    (
        (r"freckles?|freckled|skin|tan|tanned|sunburn(t|ed)?|make-?up|blush|pale|rosy|wrinkles?|wrinkled|tattoos?",),
        COLOUR,
    ),
    ((r"beard(ed)?|moustache|mustache|stubble|goatee|jaw|chin|cheeks?|chubby",), LOWER_FACE),
    ((r"hair|haired|bald|curly|curls|bangs|fringe|ponytail|braids?|afro|mohawk|hairstyle",), HAIR),
    (
        (r"smil(e|es|ing)|mouth|teeth|grin|eyes?|eyebrows?|brows?|nose|frown(ing)?|surprised|angry|sad|wink",),
        FACE_FEATURES,
    ),
)
DEFAULT = DEFAULT_PRESET


@dataclass(frozen=True)
class Suggestion:
    preset: str
    matched: str | None  # the words that decided it, None when no rule matched
    reason: str


def suggest_preset(prompt: str) -> Suggestion:
    """The preset the keyword table picks for `prompt`, and why (shown beside the choice)."""
    text = (prompt or "").lower()
    for patterns, preset in RULES:
        found = [re.search(rf"\b(?:{p})\b", text) for p in patterns]
        if all(found):
            words = " + ".join(f"“{m.group(0)}”" for m in found if m)
            return Suggestion(preset, words, f"suggested for {words}: {PRESETS[preset].suits}")
    return Suggestion(DEFAULT, None, f"no keyword recognised: “{DEFAULT}” is the general shape preset")


__all__ = ["COLOURS", "DEFAULT", "HAIR_COLOURS", "RULES", "Suggestion", "suggest_preset"]
