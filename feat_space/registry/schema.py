"""The schema of one `edits/<name>.yaml`: what contributors write in a pull request."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..editing.ranges import STRENGTH, THRESHOLD
from ..editing.recipe import Recipe
from ..training.settings import TrainingSettings
from ..weights.sources import COMMIT

NAME_PATTERN = r"^[a-z0-9_-]+$"
# Hub repo ids: "owner/name", each part letters, digits, '-', '_', '.', not starting/ending with '-'/'.'.
REPO_ID_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?/[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$"
COMMIT_PATTERN = rf"^{COMMIT}$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Published(_Strict):
    """A trained checkpoint on the Hub, pinned to one commit."""

    status: Literal["published"]
    repo: Annotated[str, StringConstraints(pattern=REPO_ID_PATTERN)] = Field(
        description="Hub model repo id, 'owner/name'"
    )
    revision: str = Field(description="full 40-character commit hash (branches and tags can move)")

    @field_validator("revision")
    @classmethod
    def _commit(cls, v: str) -> str:
        if not is_commit_hash(v):  # a branch or tag: the weights behind it could change after review
            raise ValueError(
                f"{v!r} is not a commit hash: pin the full 40-character commit the upload created (a branch or "
                "tag can move after review); `feat-space publish` writes it"
            )
        return v


class Unpublished(_Strict):
    """No checkpoint yet: the app offers to train this edit."""

    status: Literal["unpublished"]


class Defaults(_Strict):
    """What the app and the command line start from for this edit (ranges: `editing.ranges`)."""

    strength: float = Field(default=STRENGTH.default, ge=STRENGTH.low, le=STRENGTH.high)
    mask_threshold: float = Field(default=THRESHOLD.default, ge=THRESHOLD.low, le=THRESHOLD.high)


class EditEntry(_Strict):
    name: Annotated[str, StringConstraints(pattern=NAME_PATTERN)] = Field(description="equal to the file name's stem")
    title: Text
    description: Text
    prompt: Text = Field(description="the text CLIP steers toward")
    region: Text = Field(description="shown in the gallery, e.g. 'mouth', 'hair'")
    recipe: Recipe
    defaults: Defaults = Defaults()
    training: TrainingSettings = TrainingSettings()
    checkpoint: Published | Unpublished = Field(discriminator="status")

    @property
    def published(self) -> bool:
        return isinstance(self.checkpoint, Published)


def default_repo(owner: str, name: str) -> str:
    """The Hub repo an edit is published to unless a person names another: `<owner>/feat-<name>`."""
    return f"{owner}/feat-{name}"


def is_commit_hash(value: str) -> bool:
    return re.fullmatch(COMMIT_PATTERN, value) is not None
