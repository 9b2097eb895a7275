"""Which floating-point precision inference runs in: `FEAT_PRECISION` = auto | fp32 | bf16 | fp16.

Checkpoints always load in fp32 and the generator's parameters stay fp32 (training uses them as they
are); the precision is the dtype of the synthesis features and of the encoder's inference copy.
`auto` (default) takes a half precision only where the hardware runs it natively *and* a quick
self-check at start agrees: on the CPU, bf16 when the CPU reports native bf16 instructions
(avx512_bf16 / amx_bf16; emulated bf16 is slower than fp32) and a small synthesis in bf16 matches
fp32; on CUDA, bf16 where the GPU supports it, else fp16, when the same synthesis matches. Anything
else runs fp32, and `Precision.reason` says why. An explicit `bf16` / `fp16` skips the capability
test, not the numerical one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import env
from ..errors import FeatError

logger = logging.getLogger(__name__)
PRECISION_ENV = env.PRECISION.name
CHOICES = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MAX_RELATIVE_ERROR = 0.02  # RMS error of the probe image relative to its RMS (bf16 gives ~0.5%)


@dataclass(frozen=True)
class Precision:
    name: str  # "fp32", "bf16" or "fp16"
    reason: str  # how it was chosen, for people (shown next to the device)

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


def cpu_has_native_bf16() -> bool:
    """Whether the CPU reports bf16 instructions (Linux /proc/cpuinfo flags; False where unknown)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return ("avx512_bf16" in flags or "amx_bf16" in flags) and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def probe_error(dtype: torch.dtype, device: torch.device) -> float:
    """Relative RMS error of a small random StyleGAN2 synthesis (32², the real layer types: modulated
    conv, transposed conv, blur, epilogue) in `dtype` against fp32 on `device`; inf if not finite."""
    from ..models.stylegan2 import Generator  # the probe is the code path it vouches for

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(0)
        G = Generator(32, style_dim=32, n_mlp=1, channels=dict.fromkeys((4, 8, 16, 32), 32)).to(device).eval()
        wplus = torch.randn(1, G.n_latent, 32, device=device)
    with torch.no_grad():
        reference = G.synthesis(wplus)
        image = G.synthesis(wplus, dtype=dtype)
    if not torch.isfinite(image).all():
        return float("inf")
    return float((image - reference).pow(2).mean().sqrt() / reference.pow(2).mean().sqrt().clamp_min(1e-12))


def _check(name: str, device: torch.device) -> str | None:
    """None if `name` computes correctly on `device`, else why not (an exception counts as a failure:
    e.g. a device that is not attached yet, as in ZeroGPU's main process)."""
    try:
        error = probe_error(DTYPES[name], device)
    except Exception as e:  # reported in the reason, and logged
        logger.warning("The %s self-check on %s raised %s: %s", name, device, type(e).__name__, e)
        return f"{name} self-check raised {type(e).__name__}: {e}"
    if error > MAX_RELATIVE_ERROR:
        return f"{name} self-check failed: relative error {error:.3g} vs fp32 (limit {MAX_RELATIVE_ERROR})"
    return None


def _auto(device: torch.device) -> Precision:
    if device.type == "cuda":
        candidates = (["bf16"] if torch.cuda.is_bf16_supported() else []) + ["fp16"]
        failures = []
        for name in candidates:
            problem = _check(name, device)
            if problem is None:
                return Precision(name, f"auto: {torch.cuda.get_device_name(device)}, self-check passed")
            failures.append(problem)
        return Precision("fp32", "auto: " + "; ".join(failures))
    if device.type != "cpu":
        return Precision("fp32", f"auto: no half-precision path known for {device.type}")
    if not cpu_has_native_bf16():
        return Precision("fp32", "auto: this CPU has no native bf16")
    problem = _check("bf16", device)
    if problem is not None:
        return Precision("fp32", f"auto: {problem}")
    return Precision("bf16", "auto: native bf16 CPU, self-check passed")


def _explicit(name: str, device: torch.device) -> Precision:
    if name == "fp32":
        return Precision("fp32", "asked for")
    if name == "fp16" and device.type != "cuda":
        raise FeatError(f"{PRECISION_ENV}=fp16 is for CUDA GPUs only; on {device.type} use bf16 or fp32 (or auto).")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise FeatError(f"This GPU does not support bf16; set {PRECISION_ENV}=fp16, fp32 or auto.")
    problem = _check(name, device)
    if problem is not None:
        raise FeatError(f"{problem} on {device}. Set {PRECISION_ENV}=fp32 (or auto) to run in full precision.")
    return Precision(name, "asked for, self-check passed")


_picked: dict[tuple[str, str], Precision] = {}
_lock = threading.Lock()


def pick_precision(choice: str | None, device: torch.device) -> Precision:
    """`choice`, else FEAT_PRECISION, else auto, resolved for `device` (once per process and device)."""
    raw = choice if choice is not None else env.PRECISION.get() or str(env.PRECISION.default)
    name = raw.strip().lower()
    if name not in CHOICES:
        raise FeatError(f"Unknown precision {raw!r} ({PRECISION_ENV} or precision=); use one of {', '.join(CHOICES)}.")
    key = (name, str(device))
    with _lock:
        if key not in _picked:
            _picked[key] = _auto(device) if name == "auto" else _explicit(name, device)
        return _picked[key]


__all__ = ["CHOICES", "PRECISION_ENV", "Precision", "cpu_has_native_bf16", "pick_precision", "probe_error"]
