"""The doctor's layout step: each checkpoint against what its loader expects (keys, shapes, dtypes),
read as tensors only and before any model is built, naming the first mismatch of each kind."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import CheckpointError, FeatError, first_line
from ..guidance.clip import ClipSpec, clip_architecture
from ..models.loading import layout_problems, read_checkpoint, state_problems
from ..weights.roles import ModelRole
from .findings import FAIL, OK, Finding

STEP = "layout"
_KINDS = {ModelRole.GENERATOR: "generator", ModelRole.ENCODER: "encoder", ModelRole.ARCFACE: "arcface"}
# safetensors' dtype names (the ones a checkpoint may hold)
_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def check_layouts(paths: dict[ModelRole, Path], clip: ClipSpec | None) -> list[Finding]:
    """One finding per model file present in `paths` (and CLIP when `clip` is given)."""
    findings = []
    for role, kind in _KINDS.items():
        if role in paths:
            findings.append(_finding(role.value, paths[role], lambda p=paths[role], k=kind: layout_problems(p, k)))
    if clip is not None:
        findings.append(_finding(ModelRole.CLIP.value, Path(clip.weights), lambda: clip_layout_problems(clip)))
    return findings


def clip_layout_problems(spec: ClipSpec) -> list[str]:
    """`spec`'s weights file against its open_clip architecture, without loading either's weights."""
    expected = clip_architecture(spec).state_dict()
    return state_problems(expected, _file_layout(Path(spec.weights)))


def _file_layout(path: Path) -> dict[str, torch.Tensor]:
    """A weights file's tensors as meta tensors of their shapes and dtypes (safetensors: header only)."""
    if path.suffix != ".safetensors":
        return {k: v.to("meta") for k, v in read_checkpoint(path).items() if isinstance(v, torch.Tensor)}
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = {k: (f.get_slice(k).get_shape(), f.get_slice(k).get_dtype()) for k in f.keys()}  # noqa: SIM118
    except Exception as e:  # not a safetensors file, truncated header, ...
        raise CheckpointError(f"Cannot read {path} as safetensors: {first_line(e)}. Download it again.") from None
    return {
        k: torch.empty(shape, dtype=_DTYPES.get(dtype, torch.float32), device="meta")
        for k, (shape, dtype) in shapes.items()
    }


def _finding(subject: str, path: Path, problems_of) -> Finding:
    try:
        problems = problems_of()
    except FeatError as e:
        return Finding(STEP, subject, FAIL, str(e), fix="use the official file: fix its source, or download it again")
    if problems:
        return Finding(
            STEP,
            subject,
            FAIL,
            f"{path.name} does not have the layout the loader expects: {'; '.join(problems)}",
            fix="this is not the expected checkpoint: point its source at the official file "
            "(feat_space/weights/sources.py) or download it again (`feat-space download --force`)",
        )
    return Finding(STEP, subject, OK, f"{path.name}: every key, shape and dtype as the loader expects")


__all__ = ["check_layouts", "clip_layout_problems"]
