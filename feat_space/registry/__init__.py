"""The edit registry: one validated YAML file per edit in edits/, drafts of edits being trained, and
publishing a trained edit (upload, then pin its YAML to the upload's commit)."""

from .drafts import entry_from_prompt, entry_yaml, read_draft, write_draft
from .publishing import PublishError, pin_in_registry, publish_edit
from .registry import EDITS_ENV, RegistryError, check, edits_dir, load_published_edit, load_registry
from .schema import EditEntry

__all__ = [
    "EDITS_ENV",
    "EditEntry",
    "PublishError",
    "RegistryError",
    "check",
    "edits_dir",
    "entry_from_prompt",
    "entry_yaml",
    "load_published_edit",
    "load_registry",
    "pin_in_registry",
    "publish_edit",
    "read_draft",
    "write_draft",
]
