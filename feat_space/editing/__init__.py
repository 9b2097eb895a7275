"""FEAT editing: latent mapper + attention mask + feature blending, composed into edits.

`edit` (one edit: `EditConfig`, `FeatEdit`, `apply_edits`), `render` (the staged FEAT renderer every
caller runs), `mapper`, `attention`, `blending`,
`groups` (StyleCLIP's W+ groups), `recipe` (generator-independent setups, region presets),
`storage` (an edit's folder: config.json + model.safetensors; from a folder or the Hub) and
`evaluation` (the paper-style table of one edit).
"""

from .blending import BlendLayer, blend_margin
from .edit import EditConfig, EditOutput, FeatEdit, apply_edits, untrained_edit
from .evaluation import Evaluation, evaluate_edit
from .recipe import REGION_PRESETS, Recipe
from .storage import load_edit, load_edit_folder, save_edit

__all__ = [
    "REGION_PRESETS",
    "BlendLayer",
    "EditConfig",
    "EditOutput",
    "Evaluation",
    "FeatEdit",
    "Recipe",
    "apply_edits",
    "blend_margin",
    "evaluate_edit",
    "load_edit",
    "load_edit_folder",
    "save_edit",
    "untrained_edit",
]
