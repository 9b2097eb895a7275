"""Where every pretrained file comes from: the one place that names Hub repos, files, revisions and digests.

A source is *pinned* when it names a full 40-hex commit and the file's sha256: then the download is
reproducible and verified. Entries we could not check from a machine with Hub access are explicitly
unpinned (`pinned=False`); `feat-space download` warns loudly about them, and `feat-space models pin`
resolves the commit and digest and writes them into the pins file (`pins.json` beside this module), which
this module reads: pinning is one command, not an edit by hand.

The real profile takes the generator from the e4e file: its `decoder.*` weights are the FFHQ config-f
generator e4e was trained against (kept frozen), so one 1.2 GB download serves both models and the
separate 381 MB `stylegan2-ffhq-config-f.pt` is only fetched on request (`download stylegan2-ffhq`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..env import PINS_FILE
from ..errors import FeatError, first_line
from .roles import ModelRole

PINS_ENV = PINS_FILE.name

COMMIT = r"[0-9a-f]{40}"  # a full git commit hash, as the Hub and git name one (branches and tags can move)
_COMMIT = re.compile(COMMIT)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PinsFileError(FeatError):
    """The pins file is missing or not valid JSON."""


@dataclass(frozen=True)
class ModelSource:
    """One file in one Hub model repository, at one revision, with its expected sha256."""

    name: str
    repo_id: str
    filename: str
    revision: str
    sha256: str | None
    pinned: bool
    size: int | None = None  # bytes, informative (progress, disk-space messages)
    description: str = ""
    provenance: str = ""  # where the pin came from, or what is still to do

    def __post_init__(self) -> None:
        if self.sha256 is not None and not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"{self.name}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if self.pinned and not (_COMMIT.fullmatch(self.revision) and self.sha256):
            raise ValueError(
                f"{self.name}: a pinned source needs a full 40-hex commit and a sha256 "
                f"(got revision {self.revision!r}, sha256 {self.sha256!r}); set pinned=False until both are known."
            )
        if not self.revision:
            raise ValueError(f"{self.name}: revision must be a commit hash or a branch name")

    @property
    def label(self) -> str:
        """`repo/file@revision`, as messages name it."""
        return f"{self.repo_id}/{self.filename}@{self.revision}"


# Where each file is: repo and file are code; revision, sha256, size and provenance are the pins, kept
# in `pins.json` beside this module (FEAT_PINS_FILE points elsewhere) and written by `feat-space models pin`.
CATALOGUE: tuple[tuple[str, str, str, str], ...] = (  # name, repo, file, description
    (
        "e4e-ffhq",
        "akhaliq/JoJoGAN_e4e_ffhq_encode",
        "e4e_ffhq_encode.pt",
        "e4e encoder for FFHQ (omertov/encoder4editing); its decoder is the FFHQ config-f generator",
    ),
    (
        "arcface-ir-se50",
        "lithiumice/ArcFace_PyTorch",
        "InsightFace_Pytorch+model_ir_se50.pth",
        "IR-SE50 ArcFace (TreB1eN/InsightFace_Pytorch model_ir_se50.pth), for the identity loss",
    ),
    (
        "clip-vit-b-32-openai",
        "timm/vit_base_patch32_clip_224.openai",
        "open_clip_model.safetensors",
        "CLIP ViT-B/32, OpenAI weights, as open_clip resolves ViT-B-32 pretrained='openai'",
    ),
    (
        "stylegan2-ffhq",
        "akhaliq/jojogan-stylegan2-ffhq-config-f",
        "stylegan2-ffhq-config-f.pt",
        "StyleGAN2 FFHQ config-f generator, rosinality layout (optional: the e4e file holds the same)",
    ),
)


def pins_file() -> Path:
    """Where the pins are: FEAT_PINS_FILE, else `pins.json` inside this package (a checkout's own file)."""
    return Path(PINS_FILE.get() or Path(__file__).with_name("pins.json"))


def read_pins(path: Path | None = None) -> dict[str, dict]:
    """The pins file as {source name: {revision, sha256, size, provenance}}."""
    path = path or pins_file()
    try:
        pins = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise PinsFileError(
            f"Cannot read the model pins {path}: {first_line(e)}. Restore it from git, or fix {PINS_ENV}."
        ) from None
    if not isinstance(pins, dict):
        raise PinsFileError(f"The model pins {path} must hold a JSON object of sources; restore it from git.")
    return pins


def load_sources(path: Path | None = None) -> dict[str, ModelSource]:
    """The catalogue with its pins from `path` (default `pins_file()`); a source without a pin entry
    follows its repo's main branch, unpinned."""
    pins = read_pins(path)
    found = {}
    for name, repo_id, filename, description in CATALOGUE:
        pin = pins.get(name) or {}
        revision = pin.get("revision") or "main"
        sha256 = pin.get("sha256")
        found[name] = ModelSource(
            name=name,
            repo_id=repo_id,
            filename=filename,
            revision=revision,
            sha256=sha256,
            pinned=bool(_COMMIT.fullmatch(revision) and sha256),
            size=pin.get("size"),
            description=description,
            provenance=pin.get("provenance") or "UNPINNED: no entry in the pins file yet.",
        )
    return found


SOURCES: dict[str, ModelSource] = load_sources()


def reload_sources() -> dict[str, ModelSource]:
    """Read the pins file again into `SOURCES` (in place: every importer sees the new pins)."""
    fresh = load_sources()
    SOURCES.clear()
    SOURCES.update(fresh)
    return SOURCES


# What the real profile loads each model from (the generator is e4e's decoder; see the module docstring).
REAL_PROFILE: dict[ModelRole, str] = {
    ModelRole.GENERATOR: "e4e-ffhq",
    ModelRole.ENCODER: "e4e-ffhq",
    ModelRole.ARCFACE: "arcface-ir-se50",
    ModelRole.CLIP: "clip-vit-b-32-openai",
}

# open_clip architecture for the CLIP weights above: the OpenAI checkpoints use QuickGELU.
CLIP_MODEL_NAME = "ViT-B-32-quickgelu"


def required_sources() -> list[ModelSource]:
    """The sources the real profile needs, each once."""
    return [SOURCES[name] for name in dict.fromkeys(REAL_PROFILE.values())]


__all__ = [
    "CATALOGUE",
    "CLIP_MODEL_NAME",
    "COMMIT",
    "PINS_ENV",
    "REAL_PROFILE",
    "SOURCES",
    "ModelSource",
    "PinsFileError",
    "load_sources",
    "pins_file",
    "read_pins",
    "reload_sources",
    "required_sources",
]
