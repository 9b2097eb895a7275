"""feat-space: text-driven local face editing after FEAT (Hou et al., 2022).

The names a user of the library starts from, importable from here (loaded on first use, so that
`import feat_space` and the command line stay quick):

```python
from feat_space import get_session, edit_photo, load_edit

result = edit_photo(get_session(), "me.jpg", [(load_edit("trained/smile"), 1.0)], threshold=0.2)
```

Layers, and where each concern lives: docs/architecture.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it (one layer each; see docs/architecture.md)
_EXPORTS = {
    "FeatError": "feat_space.errors",
    "load_generator": "feat_space.models",
    "load_encoder": "feat_space.models",
    "load_arcface": "feat_space.models",
    "align_face": "feat_space.alignment",
    "EditConfig": "feat_space.editing",
    "FeatEdit": "feat_space.editing",
    "REGION_PRESETS": "feat_space.editing",
    "apply_edits": "feat_space.editing",
    "evaluate_edit": "feat_space.editing",
    "load_edit": "feat_space.editing",
    "save_edit": "feat_space.editing",
    "load_registry": "feat_space.registry",
    "Trainer": "feat_space.training",
    "TrainingSettings": "feat_space.training",
    "Brush": "feat_space.session",
    "Session": "feat_space.session",
    "edit_photo": "feat_space.session",
    "get_session": "feat_space.session",
    "get_profile": "feat_space.weights",
    "edit_video": "feat_space.video",
}

if TYPE_CHECKING:
    from .alignment import align_face
    from .editing import REGION_PRESETS, EditConfig, FeatEdit, apply_edits, evaluate_edit, load_edit, save_edit
    from .errors import FeatError
    from .models import load_arcface, load_encoder, load_generator
    from .registry import load_registry
    from .session import Brush, Session, edit_photo, get_session
    from .training import Trainer, TrainingSettings
    from .video import edit_video
    from .weights import get_profile


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # once: later lookups do not come here
        return value
    raise AttributeError(f"module 'feat_space' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [  # the names of _EXPORTS (a test keeps them equal)
    "REGION_PRESETS",
    "Brush",
    "EditConfig",
    "FeatEdit",
    "FeatError",
    "Session",
    "Trainer",
    "TrainingSettings",
    "align_face",
    "apply_edits",
    "edit_photo",
    "edit_video",
    "evaluate_edit",
    "get_profile",
    "get_session",
    "load_arcface",
    "load_edit",
    "load_encoder",
    "load_generator",
    "load_registry",
    "save_edit",
]
