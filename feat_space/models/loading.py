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

from ..errors import CheckpointError, first_line
from .arcface import IRSE50ArcFace
from .e4e import Encoder4Editing
from .irse import IRSE50_STAGES, Stages
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
            f"Cannot read checkpoint {path}: {first_line(e)}. The file may be truncated or not a PyTorch "
            "checkpoint; download it again."
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"Checkpoint {path} holds a {type(obj).__name__}, expected a dict of tensors.")
    return obj


def state_problems(expected: Mapping[str, torch.Tensor], state: Mapping[str, object]) -> list[str]:
    """How `state` differs from the `expected` state dict: missing and unexpected keys, wrong shapes,
    non-float tensors where floats belong; each kind names its first offending keys. Empty: it fits."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    present = [(k, v, state[k]) for k, v in expected.items() if k in state]
    wrong = [
        f"{k} {tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__} (expected {tuple(v.shape)})"
        for k, v, got in present
        if not isinstance(got, torch.Tensor) or got.shape != v.shape
    ]
    dtypes = [
        f"{k} {got.dtype} (expected floating point)"
        for k, v, got in present
        if isinstance(got, torch.Tensor) and v.is_floating_point() and not got.is_floating_point()
    ]
    problems = []
    for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)):
        if keys:
            problems.append(f"{what} {_few(keys)}")
    if dtypes:
        problems.append(f"wrong dtypes {_few(dtypes)}")
    return problems


def load_state_strict(module: nn.Module, state: Mapping[str, torch.Tensor], path: PathLike, what: str) -> None:
    """Copy `state` into `module`, refusing missing/unexpected keys, shape and dtype mismatches."""
    problems = state_problems(module.state_dict(), state)
    if problems:
        raise CheckpointError(
            f"{path} is not a valid {what} checkpoint: " + "; ".join(problems) + ". Use the official file."
        )
    # Official files are float32; other float dtypes are brought to the module's float32 here.
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
    config = {"size": size, "style_dim": style_dim, "n_mlp": n_mlp}
    narrow = _narrow_channels(state, n_rgb)
    if narrow is not None and size >= 64:
        # Not rosinality's table but a uniformly narrower one (small random test generators).
        return {**config, "channel_multiplier": 1, "channels": narrow}
    if size < 64 or multiplier < 1 or multiplier != int(multiplier):
        raise CheckpointError(
            f"{path}: unsupported generator (size {size}, {top_channels} channels at the top layer). "
            "Supported: sizes 64-1024 with channel multiplier 1 or 2."
        )
    return {**config, "channel_multiplier": int(multiplier)}


def _narrow_channels(state: Mapping[str, torch.Tensor], n_rgb: int) -> dict[int, int] | None:
    """Per-resolution widths read from the toRGB layers when the 4x4 block is narrower than the 512
    of every official config; None otherwise, leaving the file to rosinality's table."""
    try:
        widths = {4: state["to_rgb1.conv.weight"].shape[2]}
        widths.update({2 ** (i + 3): state[f"to_rgbs.{i}.conv.weight"].shape[2] for i in range(n_rgb)})
    except (KeyError, IndexError, AttributeError):
        return None
    return widths if widths[4] < 512 else None


def _latent_avg(value: object, style_dim: int, path: PathLike) -> torch.Tensor | None:
    """latent_avg as [style_dim]; e4e stores it repeated as [n_latent, style_dim]."""
    if value is None:
        return None
    if not isinstance(value, torch.Tensor) or value.shape[-1] != style_dim or value.dim() not in (1, 2):
        raise CheckpointError(f"{path}: latent_avg must be a tensor [{style_dim}] or [n, {style_dim}].")
    return value.float().mean(0) if value.dim() == 2 else value.float()


def _generator_parts(ckpt: dict, path: PathLike) -> tuple[Generator, dict[str, torch.Tensor], dict]:
    """The empty generator a file's shapes call for, and its state; `config` as inferred."""
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
    return _empty(lambda: Generator(**config)), state, config


def load_generator(path: PathLike) -> Generator:
    """StyleGAN2 generator from a rosinality file (`g_ema`) or an e4e file (`decoder.*`), in eval mode."""
    ckpt = read_checkpoint(path)
    G, state, config = _generator_parts(ckpt, path)
    load_state_strict(G, state, path, "StyleGAN2 generator")
    G.set_latent_avg(_latent_avg(ckpt.get("latent_avg"), config["style_dim"], path))
    return G.eval().requires_grad_(False)


def _encoder_parts(ckpt: dict, path: PathLike) -> tuple[Encoder4Editing, dict[str, torch.Tensor]]:
    state = ckpt.get("state_dict")
    if not isinstance(state, dict) or not any(k.startswith("encoder.") for k in state):
        raise CheckpointError(
            f"{path} is not an e4e checkpoint: expected 'state_dict' with 'encoder.*' keys; "
            f"top-level keys: {_few(sorted(map(str, ckpt)))}."
        )
    state = _strip(state, "encoder.")
    heads = [int(m.group(1)) for k in state if (m := re.match(r"styles\.(\d+)\.", k))]
    if not heads:
        raise CheckpointError(f"{path} is not an e4e checkpoint: it has no 'encoder.styles.*' heads.")
    stages = _body_stages(state)
    return _empty(lambda: Encoder4Editing(n_styles=1 + max(heads), stages=stages)), state


def load_encoder(path: PathLike) -> Encoder4Editing:
    """e4e encoder from `e4e_ffhq_encode.pt`; its output W+ includes the file's `latent_avg`."""
    ckpt = read_checkpoint(path)
    E, state = _encoder_parts(ckpt, path)
    n_styles = E.n_styles
    load_state_strict(E, state, path, "e4e encoder")
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is None:
        raise CheckpointError(f"{path} has no 'latent_avg'; e4e needs it to produce W+ codes.")
    if not isinstance(latent_avg, torch.Tensor) or latent_avg.shape not in ((512,), (n_styles, 512)):
        raise CheckpointError(f"{path}: latent_avg must be [512] or [{n_styles}, 512].")
    E.set_latent_avg(latent_avg.float())
    return E.eval().requires_grad_(False)


def _body_stages(state: Mapping[str, torch.Tensor]) -> Stages:
    """IR-SE body stages (in, depth, units) read from the units' conv shapes; a stage starts where the
    depth changes. A body as wide as IR-SE50's, or not of four stages, is taken for IR-SE50 itself, so
    strict loading names any missing or extra unit; only narrower bodies (small test models) differ."""
    units = []
    for i in range(len(state)):
        weight = state.get(f"body.{i}.res_layer.1.weight")
        if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
            break
        units.append((int(weight.shape[1]), int(weight.shape[0])))
    stages: list[list[int]] = []
    for in_channel, depth in units:
        if stages and stages[-1][1] == depth:
            stages[-1][2] += 1
        else:
            stages.append([in_channel, depth, 1])
    found = tuple((stage[0], stage[1], stage[2]) for stage in stages)
    official_widths = [stage[:2] for stage in IRSE50_STAGES]
    if len(found) != 4 or [stage[:2] for stage in found] == official_widths:
        return IRSE50_STAGES
    return found


def _arcface_parts(state: dict, path: PathLike) -> tuple[IRSE50ArcFace, dict[str, torch.Tensor]]:
    stages = _body_stages(state)
    return _empty(lambda: IRSE50ArcFace(stages=stages)), state


def load_arcface(path: PathLike) -> IRSE50ArcFace:
    """IR-SE50 ArcFace from `model_ir_se50.pth` (a plain state dict), in eval mode."""
    A, state = _arcface_parts(read_checkpoint(path), path)
    load_state_strict(A, state, path, "IR-SE50 ArcFace")
    return A.eval().requires_grad_(False)


def _parts(kind: str, ckpt: dict, path: PathLike) -> tuple[nn.Module, Mapping[str, torch.Tensor]]:
    if kind == "generator":
        G, state, _ = _generator_parts(ckpt, path)
        return G, state
    if kind == "encoder":
        return _encoder_parts(ckpt, path)
    if kind == "arcface":
        return _arcface_parts(ckpt, path)
    raise ValueError(f"unknown checkpoint kind {kind!r}: generator, encoder or arcface")


def layout_problems(path: PathLike, kind: str) -> list[str]:
    """Check a checkpoint's layout against what its loader (`kind`: generator, encoder, arcface) expects,
    without building the model's weights: keys, shapes and dtypes, each kind of mismatch naming its first
    keys. Empty when the file would load. A file the loader cannot even read raises `CheckpointError`."""
    module, state = _parts(kind, read_checkpoint(path), path)
    return state_problems(module.state_dict(), state)


__all__ = [
    "layout_problems",
    "load_arcface",
    "load_encoder",
    "load_generator",
    "load_state_strict",
    "read_checkpoint",
    "state_problems",
]
