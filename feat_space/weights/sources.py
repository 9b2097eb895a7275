"""Where every pretrained file comes from: the one place that names Hub repos, files, revisions and digests.

A source is *pinned* when it names a full 40-hex commit and the file's sha256: then the download is
reproducible and verified. Entries we could not check from a machine with Hub access are explicitly
unpinned (`pinned=False`); `python -m feat_space download` warns loudly about them, and
`python -m feat_space pin` resolves the commit and digest so a maintainer can fill them in here.

The real profile takes the generator from the e4e file: its `decoder.*` weights are the FFHQ config-f
generator e4e was trained against (kept frozen), so one 1.2 GB download serves both models and the
separate 381 MB `stylegan2-ffhq-config-f.pt` is only fetched on request (`download stylegan2-ffhq`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .roles import ModelRole

COMMIT = r"[0-9a-f]{40}"  # a full git commit hash, as the Hub and git name one (branches and tags can move)
_COMMIT = re.compile(COMMIT)
_SHA256 = re.compile(r"[0-9a-f]{64}")


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


# TODO(maintainers): fill in the unpinned entries from a machine with Hub access:
#   python -m feat_space pin --verify     # resolves commits, downloads, prints sha256 and sizes
SOURCES: dict[str, ModelSource] = {
    source.name: source
    for source in (
        ModelSource(
            name="e4e-ffhq",
            repo_id="akhaliq/JoJoGAN_e4e_ffhq_encode",
            filename="e4e_ffhq_encode.pt",
            revision="main",
            sha256=None,
            pinned=False,
            description="e4e encoder for FFHQ (omertov/encoder4editing); its decoder is the FFHQ config-f generator",
            provenance="UNPINNED: commit and sha256 not verifiable from the development machines (no Hub access).",
        ),
        ModelSource(
            name="arcface-ir-se50",
            repo_id="lithiumice/ArcFace_PyTorch",
            filename="InsightFace_Pytorch+model_ir_se50.pth",
            revision="086811ee76897fdfd94335ea4ff40ae074136022",
            sha256="a035c768259b98ab1ce0e646312f48b9e1e218197a0f80ac6765e88f8b6ddf28",
            pinned=True,
            size=175_367_323,
            description="IR-SE50 ArcFace (TreB1eN/InsightFace_Pytorch model_ir_se50.pth), for the identity loss",
            provenance=(
                "Commit and LFS sha256/size as shown on the repo's public Hub commit page; the same sha256 and size "
                "are listed for model_ir_se50.pth in the Spaces adirik/stylemc-demo and "
                "ethanNeuralImage/inversion_testing. Not downloaded from the development machines (no Hub access): "
                "the first real download verifies it."
            ),
        ),
        ModelSource(
            name="clip-vit-b-32-openai",
            repo_id="timm/vit_base_patch32_clip_224.openai",
            filename="open_clip_model.safetensors",
            revision="ab5b8ef490e86faa07d3523926b842c765de1de5",
            sha256=None,
            pinned=False,
            description="CLIP ViT-B/32, OpenAI weights, as open_clip resolves ViT-B-32 pretrained='openai'",
            provenance=(
                "Revision: the commit that added open_clip_model.safetensors, per the repo's public Hub tree page. "
                "UNPINNED: sha256 not known (no Hub access from the development machines)."
            ),
        ),
        ModelSource(
            name="stylegan2-ffhq",
            repo_id="akhaliq/jojogan-stylegan2-ffhq-config-f",
            filename="stylegan2-ffhq-config-f.pt",
            revision="main",
            sha256=None,
            pinned=False,
            description="StyleGAN2 FFHQ config-f generator, rosinality layout (optional: the e4e file holds the same)",
            provenance="UNPINNED: commit and sha256 not verifiable from the development machines (no Hub access).",
        ),
    )
}

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


__all__ = ["CLIP_MODEL_NAME", "COMMIT", "REAL_PROFILE", "SOURCES", "ModelSource", "required_sources"]
