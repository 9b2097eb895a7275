"""The models an edit session needs, by role: the one list of their names.

Profiles map each role to a file, the session loads each role once, the UI announces each by its
label. Roles are strings too (`ModelRole.GENERATOR == "generator"`), so `models={"generator": G}`
and `session.load(["clip"])` keep working.
"""

from __future__ import annotations

from enum import Enum


class ModelRole(str, Enum):
    GENERATOR = "generator"  # StyleGAN2 FFHQ (real profile: e4e's decoder)
    ENCODER = "encoder"  # e4e: photo -> W+
    ARCFACE = "arcface"  # IR-SE50: identity embeddings (training, evaluation)
    CLIP = "clip"  # ViT-B/32: text guidance (training, evaluation)

    def __str__(self) -> str:  # the plain name in messages and paths (str mixins print the member)
        return self.value

    @property
    def label(self) -> str:
        """What the model is called where a person reads it."""
        return _LABELS[self]


_LABELS = {
    ModelRole.GENERATOR: "StyleGAN2 generator",
    ModelRole.ENCODER: "e4e encoder",
    ModelRole.ARCFACE: "ArcFace (identity)",
    ModelRole.CLIP: "CLIP ViT-B/32",
}

ROLES: tuple[ModelRole, ...] = tuple(ModelRole)


def model_role(name: str) -> ModelRole:
    """`name` as a role; a ValueError naming the known roles otherwise."""
    try:
        return ModelRole(name)
    except ValueError:
        raise ValueError(f"Unknown model role {name!r}; one of {', '.join(ROLES)}") from None


__all__ = ["ROLES", "ModelRole", "model_role"]
