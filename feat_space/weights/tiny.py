"""The `tiny` profile's models: deterministic random weights, written in the official file layouts.

For tests and offline smoke runs of the whole pipeline. Their outputs are meaningless, and everything
shown to a person in this profile says so (`TINY_NOTICE`).

Each model keeps the real one's interface and class, only narrower, so the files load through the
same `load_generator` / `load_encoder` / `load_arcface` and open_clip paths as the downloaded ones:

- generator: StyleGAN2 at 1024² with 18 W+ entries (same layer indices as FFHQ config-f), 8-32
  channels instead of 32-512, 2 mapping layers; `stylegan2-tiny.pt` in rosinality's layout;
- encoder: e4e with a 4-unit IR-SE body 16-48 wide, 18 style heads → W+ [B, 18, 512];
  `e4e-tiny.pt` in e4e's layout, its `decoder.*` the generator above;
- ArcFace: the same narrow IR-SE body → 512-d embeddings; `arcface-tiny.pth`, a plain state dict;
- CLIP: a one-layer ViT / text transformer, 32 wide, with open_clip's real tokenizer (vocabulary of
  49408) and OpenAI's normalisation; `clip-tiny.safetensors` + its open_clip config `feat-tiny-clip.json`.

Files go to `<feat cache>/tiny/<version>-<spec digest>/`, built once (about a second) into a temporary
folder and moved into place whole, so concurrent builders never see half a set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from ..models import Encoder4Editing, Generator, IRSE50ArcFace
from .roles import ModelRole, model_role

TINY_NOTICE = (
    "Tiny profile (FEAT_PROFILE=tiny): every model here is UNTRAINED, with random weights, for tests and "
    "offline smoke runs. The pictures it produces are meaningless noise, not edits of your photo."
)

SEED = 20220206  # FEAT's arXiv date; any fixed number would do
VERSION = "v1"
GENERATOR_SIZE = 1024
GENERATOR_CHANNELS = {4: 32, 8: 32, 16: 32, 32: 32, 64: 16, 128: 16, 256: 8, 512: 8, 1024: 8}
MAPPING_LAYERS = 2
IRSE_STAGES = ((16, 16, 1), (16, 24, 1), (24, 32, 1), (32, 48, 1))
CLIP_MODEL_NAME = "feat-tiny-clip"
CLIP_CONFIG = {
    "embed_dim": 32,
    "quick_gelu": True,  # as OpenAI's ViT-B/32, so the activation code path is the real one
    "vision_cfg": {"image_size": 224, "layers": 1, "width": 32, "head_width": 16, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
_SPEC = {
    "seed": SEED,
    ModelRole.GENERATOR.value: [GENERATOR_SIZE, sorted(GENERATOR_CHANNELS.items()), MAPPING_LAYERS],
    "irse": IRSE_STAGES,
    ModelRole.CLIP.value: CLIP_CONFIG,
}
SPEC_DIGEST = hashlib.sha256(json.dumps(_SPEC, sort_keys=True).encode()).hexdigest()[:12]

FILES: dict[ModelRole, str] = {
    ModelRole.GENERATOR: "stylegan2-tiny.pt",
    ModelRole.ENCODER: "e4e-tiny.pt",
    ModelRole.ARCFACE: "arcface-tiny.pth",
    ModelRole.CLIP: "clip-tiny.safetensors",
}
CLIP_CONFIG_FILE = f"{CLIP_MODEL_NAME}.json"  # open_clip's model config beside the CLIP weights
_MANIFEST = "manifest.json"
_build_lock = threading.Lock()


@dataclass(frozen=True)
class TinyFiles:
    folder: Path

    def path(self, role: ModelRole | str) -> Path:
        """The weights file of `role`."""
        return self.folder / FILES[model_role(role)]

    @property
    def clip_config(self) -> Path:
        """open_clip's config of the tiny CLIP."""
        return self.folder / CLIP_CONFIG_FILE


def tiny_files(root: str | os.PathLike) -> TinyFiles:
    """The tiny weight files under `root`, built there first if missing or incomplete."""
    folder = Path(root) / f"{VERSION}-{SPEC_DIGEST}"
    if (folder / _MANIFEST).is_file():
        return TinyFiles(folder)
    with _build_lock:  # one builder per process; other processes race harmlessly (see _publish)
        if not (folder / _MANIFEST).is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=folder.parent))
            try:
                write_tiny_weights(staging)
                _publish(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return TinyFiles(folder)


def _publish(staging: Path, folder: Path) -> None:
    if folder.exists() and not (folder / _MANIFEST).is_file():
        shutil.rmtree(folder, ignore_errors=True)  # an interrupted older build
    try:
        os.rename(staging, folder)
    except OSError:
        if not (folder / _MANIFEST).is_file():  # not another process's complete build: a real failure
            raise


def write_tiny_weights(folder: Path) -> None:
    """Build every tiny model from `SEED` and write its file into `folder` (manifest last)."""
    from safetensors.torch import save_file

    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(SEED)
        G = Generator(GENERATOR_SIZE, n_mlp=MAPPING_LAYERS, channels=GENERATOR_CHANNELS).eval()
        with torch.no_grad():
            latent_avg = G.mapping(torch.randn(4096, G.style_dim)).mean(0)  # as rosinality's mean_latent
        generator_state = G.state_dict()
        torch.save({"g_ema": generator_state, "latent_avg": latent_avg}, folder / FILES[ModelRole.GENERATOR])

        E = Encoder4Editing(n_styles=G.n_latent, stages=IRSE_STAGES)
        torch.save(
            {
                "state_dict": {
                    **{f"encoder.{k}": v for k, v in E.state_dict().items()},
                    **{f"decoder.{k}": v for k, v in generator_state.items()},
                },
                "latent_avg": latent_avg.repeat(G.n_latent, 1),  # e4e stores one row per style
                "opts": {"encoder_type": "Encoder4Editing", "stylegan_size": GENERATOR_SIZE, "tiny": True},
            },
            folder / FILES[ModelRole.ENCODER],
        )

        torch.save(IRSE50ArcFace(stages=IRSE_STAGES).state_dict(), folder / FILES[ModelRole.ARCFACE])

        clip = _tiny_clip()
        save_file({k: v.contiguous() for k, v in clip.state_dict().items()}, folder / FILES[ModelRole.CLIP])
    (folder / CLIP_CONFIG_FILE).write_text(json.dumps(CLIP_CONFIG, indent=1))
    files = {**{role.value: name for role, name in FILES.items()}, "clip_config": CLIP_CONFIG_FILE}
    manifest = {role: _sha256(folder / name) for role, name in files.items()}
    (folder / _MANIFEST).write_text(json.dumps({"seed": SEED, "spec": SPEC_DIGEST, "sha256": manifest}, indent=1))


def _tiny_clip() -> torch.nn.Module:
    from open_clip.model import CLIP

    return CLIP(**CLIP_CONFIG)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


__all__ = ["CLIP_MODEL_NAME", "FILES", "SEED", "TINY_NOTICE", "TinyFiles", "tiny_files", "write_tiny_weights"]
