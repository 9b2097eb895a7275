"""The tiny profile's stand-ins for registry edits: an *untrained random edit* per entry, built from its
recipe with a seed taken from its name, so the app and the command line show the same demo edit on
every run. Labelled as untrained wherever it is shown; never used with the real models."""

from __future__ import annotations

import zlib

from ..editing.edit import FeatEdit, untrained_edit
from ..models.stylegan2 import Generator
from .schema import EditEntry

DEMO_GAIN = 30.0  # an untrained mapper barely moves W+; scaled so the demo edit visibly changes something


def demo_edit(entry: EditEntry, generator: Generator) -> FeatEdit:
    """``entry``'s untrained demo edit for ``generator`` (on the CPU; move it where it runs)."""
    config = entry.recipe.config_for(generator, entry.prompt, strength=entry.defaults.strength)
    return untrained_edit(config, seed=zlib.crc32(entry.name.encode()), gain=DEMO_GAIN)
