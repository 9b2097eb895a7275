"""Reading the official checkpoint files into the models — the only file I/O of `feat_space.models`.

Every file goes through `torch.load(..., weights_only=True)`, so a checkpoint can hold tensors and
plain containers but never code. Layouts are checked exactly: a missing or unexpected key or a wrong
shape is a `CheckpointError` naming the file and the first offending keys.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from ..errors import CheckpointError
from .arcface import IRSE50ArcFace
from .e4e import Encoder4Editing
from .stylegan2 import Generator

PathLike = str | os.PathLike
M = TypeVar("M", bound=nn.Module)

_SHOWN = 5  # how many offending keys an error lists


def read_checkpoint(path: PathLike) -> dict:
    """Load a `.pt`/`.pth` file as tensors and plain containers only; never runs pickled code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}. Check the path, or download the file again.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # weights_only admits tensors and plain containers; any other global means code would run.
        wanted = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if wanted:
            raise CheckpointError(
                f"Refusing to load {path}: it would import and run {wanted.group(1)}, and checkpoints may only "
                "hold tensors. Use the official checkpoint, or re-save it as a plain state dict."
            ) from None
        raise CheckpointError(
            f"Cannot read checkpoint {path}: it is not a PyTorch tensor file (wrong format or damaged). "
            "Download it again."
        ) from None
    except Exception as e:  # truncated zip, I/O error, ...
        raise CheckpointError(
            f"Cannot read checkpoint {path}: {_first_line(e)}. The file may be truncated or not a PyTorch "
            "checkpoint; download it again."
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"Checkpoint {path} holds a {type(obj).__name__}, expected a dict of tensors.")
    return obj


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def load_state_strict(module: nn.Module, state: Mapping[str, torch.Tensor], path: PathLike, what: str) -> None:
    """Copy `state` into `module`, refusing missing/unexpected keys and shape mismatches."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and (not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_few(unexpected)}")
    if wrong:
        problems.append(f"wrong shapes {_few(wrong)}")
    if problems:
        raise CheckpointError(
            f"{path} is not a valid {what} checkpoint: " + "; ".join(problems) + ". Use the official file."
        )
    # Official files are float32; anything else is brought to the module's float32 here.
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    module.load_state_dict(state, strict=True, assign=True)


def _empty(factory: Callable[[], M]) -> M:
    """Build a module without initialising its weights: they come from the checkpoint anyway
    (random init of the e4e encoder alone takes over a second)."""
    with torch.device("meta"):
        return factory()


def _few(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _strip(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _generator_config(state: Mapping[str, torch.Tensor], path: PathLike) -> dict:
    """Infer size, channel multiplier, style dim and mapping depth from tensor shapes."""
    try:
        n_rgb = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"to_rgbs\.(\d+)\.", k)))
        size = 2 ** (n_rgb + 2)
        style_dim = state["style.1.weight"].shape[1]
        n_mlp = max(int(m.group(1)) for k in state if (m := re.match(r"style\.(\d+)\.weight$", k)))
        top_channels = state[f"to_rgbs.{n_rgb - 1}.conv.weight"].shape[2]
    except (ValueError, KeyError) as e:
        raise CheckpointError(
            f"{path} does not look like a StyleGAN2 generator (rosinality layout): cannot find {e}. "
            "Use stylegan2-ffhq-config-f.pt or e4e_ffhq_encode.pt."
        ) from None
    # channels[size] = 16384 * channel_multiplier / size for sizes >= 64 (rosinality's table).
    multiplier = top_channels * size / 16384
    if size < 64 or multiplier < 1 or multiplier != int(multiplier):
        raise CheckpointError(
            f"{path}: unsupported generator (size {size}, {top_channels} channels at the top layer). "
            "Supported: sizes 64-1024 with channel multiplier 1 or 2."
        )
    return {"size": size, "style_dim": style_dim, "n_mlp": n_mlp, "channel_multiplier": int(multiplier)}


def _latent_avg(value: object, style_dim: int, path: PathLike) -> torch.Tensor | None:
    """latent_avg as [style_dim]; e4e stores it repeated as [n_latent, style_dim]."""
    if value is None:
        return None
    if not isinstance(value, torch.Tensor) or value.shape[-1] != style_dim or value.dim() not in (1, 2):
        raise CheckpointError(f"{path}: latent_avg must be a tensor [{style_dim}] or [n, {style_dim}].")
    return value.float().mean(0) if value.dim() == 2 else value.float()


def load_generator(path: PathLike) -> Generator:
    """StyleGAN2 generator from a rosinality file (`g_ema`) or an e4e file (`decoder.*`), in eval mode."""
    ckpt = read_checkpoint(path)
    if "g_ema" in ckpt:
        state = ckpt["g_ema"]
    elif isinstance(ckpt.get("state_dict"), dict) and any(k.startswith("decoder.") for k in ckpt["state_dict"]):
        state = _strip(ckpt["state_dict"], "decoder.")
    else:
        raise CheckpointError(
            f"{path} holds neither 'g_ema' (rosinality StyleGAN2) nor 'state_dict' with 'decoder.*' keys (e4e); "
            f"top-level keys: {_few(sorted(map(str, ckpt)))}."
        )
    config = _generator_config(state, path)
    G = _empty(lambda: Generator(**config))
    load_state_strict(G, state, path, "StyleGAN2 generator")
    G.set_latent_avg(_latent_avg(ckpt.get("latent_avg"), config["style_dim"], path))
    return G.eval().requires_grad_(False)


def load_encoder(path: PathLike) -> Encoder4Editing:
    """e4e encoder from `e4e_ffhq_encode.pt`; its output W+ includes the file's `latent_avg`."""
    ckpt = read_checkpoint(path)
    state = ckpt.get("state_dict")
    if not isinstance(state, dict) or not any(k.startswith("encoder.") for k in state):
        raise CheckpointError(
            f"{path} is not an e4e checkpoint: expected 'state_dict' with 'encoder.*' keys; "
            f"top-level keys: {_few(sorted(map(str, ckpt)))}."
        )
    state = _strip(state, "encoder.")
    n_styles = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"styles\.(\d+)\.", k)))
    E = _empty(lambda: Encoder4Editing(n_styles=n_styles))
    load_state_strict(E, state, path, "e4e encoder")
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is None:
        raise CheckpointError(f"{path} has no 'latent_avg'; e4e needs it to produce W+ codes.")
    if not isinstance(latent_avg, torch.Tensor) or latent_avg.shape not in ((512,), (n_styles, 512)):
        raise CheckpointError(f"{path}: latent_avg must be [512] or [{n_styles}, 512].")
    E.set_latent_avg(latent_avg.float())
    return E.eval().requires_grad_(False)


def load_arcface(path: PathLike) -> IRSE50ArcFace:
    """IR-SE50 ArcFace from `model_ir_se50.pth` (a plain state dict), in eval mode."""
    state = read_checkpoint(path)
    A = _empty(IRSE50ArcFace)
    load_state_strict(A, state, path, "IR-SE50 ArcFace")
    return A.eval().requires_grad_(False)


__all__ = ["load_arcface", "load_encoder", "load_generator", "load_state_strict", "read_checkpoint"]
