"""Model profiles: which weights the session loads. `real` (default) or `tiny`.

- `real`: the pretrained FFHQ StyleGAN2 (from the e4e file), e4e, IR-SE50 ArcFace and OpenAI's CLIP
  ViT-B/32, downloaded from the Hub once, pinned and verified (`weights.download`).
- `tiny`: small deterministic random-weight models of the same classes and file layouts, built
  locally in about a second (`weights.tiny`). For tests and offline smoke runs; untrained, so its
  `notice` must be shown wherever its output is.

Both hand the session file paths that go through the same loaders. Chosen by `FEAT_PROFILE` or the
CLI's `--profile`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import env
from ..errors import FeatError
from ..guidance.clip import ClipSpec
from .roles import ROLES, ModelRole, model_role

if TYPE_CHECKING:
    from .sources import ModelSource
    from .tiny import TinyFiles

PROFILE_ENV = env.PROFILE.name


class ProfileError(FeatError):
    """An unknown profile name."""


@dataclass(frozen=True)
class Profile:
    name: str
    trained: bool
    description: str
    notice: str | None  # what a person must be told wherever this profile's output is shown

    def model_file(self, role: ModelRole | str) -> Path:
        """Local path of the weights for `role`, fetched or built if needed."""
        raise NotImplementedError

    def clip_spec(self) -> ClipSpec:
        raise NotImplementedError

    def prefetch(self) -> list[Path]:
        """Make every file available locally (download or build); their paths."""
        paths = [self.model_file(role) for role in ROLES]
        spec = self.clip_spec()
        return list(dict.fromkeys([*paths, *([spec.config] if spec.config else [])]))


@dataclass(frozen=True)
class RealProfile(Profile):
    # The open_clip architecture of the CLIP file (default: sources.CLIP_MODEL_NAME) and, for one open_clip
    # does not ship, its config: a stand-in Hub serving small models in place of the real ones (tests).
    clip_model: str | None = None
    clip_config: Path | None = None

    def model_file(self, role: ModelRole | str) -> Path:
        from .download import fetch

        return fetch(self.source(role))

    def source(self, role: ModelRole | str) -> ModelSource:
        """Where `role`'s file comes from (`sources.SOURCES`, with the pins as they are now)."""
        from .sources import REAL_PROFILE, SOURCES

        return SOURCES[REAL_PROFILE[model_role(role)]]

    def clip_spec(self) -> ClipSpec:
        from .sources import CLIP_MODEL_NAME

        return ClipSpec(self.clip_model or CLIP_MODEL_NAME, self.model_file(ModelRole.CLIP), self.clip_config)


@dataclass(frozen=True)
class TinyProfile(Profile):
    root: Path | None = None  # where the tiny weights live; default <feat cache>/tiny

    def files(self) -> TinyFiles:
        """The tiny weight files, built on first use."""
        from .settings import feat_cache_dir
        from .tiny import tiny_files

        return tiny_files(self.root or feat_cache_dir() / "tiny")

    def model_file(self, role: ModelRole | str) -> Path:
        return self.files().path(model_role(role))

    def clip_spec(self) -> ClipSpec:
        from .tiny import CLIP_MODEL_NAME

        files = self.files()
        return ClipSpec(CLIP_MODEL_NAME, files.path(ModelRole.CLIP), files.clip_config)


def _tiny_notice() -> str:
    from .tiny import TINY_NOTICE

    return TINY_NOTICE


def get_profile(name: str | None = None, *, tiny_root: str | os.PathLike | None = None) -> Profile:
    """The profile called `name`, else the one `FEAT_PROFILE` names, else `real`."""
    name = (name or env.PROFILE.get() or str(env.PROFILE.default)).strip().lower()
    if name == "real":
        return RealProfile(
            name="real",
            trained=True,
            description="pretrained FFHQ StyleGAN2 + e4e, IR-SE50 ArcFace, OpenAI CLIP ViT-B/32 (from the Hub)",
            notice=None,
        )
    if name == "tiny":
        return TinyProfile(
            name="tiny",
            trained=False,
            description="small untrained random-weight models, built locally (tests, offline smoke runs)",
            notice=_tiny_notice(),
            root=Path(tiny_root) if tiny_root is not None else None,
        )
    raise ProfileError(f"Unknown model profile {name!r} (from {PROFILE_ENV} or --profile); choose 'real' or 'tiny'.")


PROFILES = ("real", "tiny")

__all__ = ["PROFILES", "PROFILE_ENV", "ROLES", "Profile", "ProfileError", "RealProfile", "TinyProfile", "get_profile"]
