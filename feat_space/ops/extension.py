"""The CUDA kernels of `feat_space.ops`, JIT-compiled on first CUDA use, with autograd wrappers.

`available()` is what the ops consult: True only with a CUDA device and an extension that built. The
first call on a CUDA machine compiles `cuda/*.cu` and `cuda/ops.cpp` with
`torch.utils.cpp_extension.load` (ninja + nvcc); torch caches the result under `TORCH_EXTENSIONS_DIR`
(default `~/.cache/torch_extensions`), so later processes only load it. When nvcc, CUDA_HOME or
ninja is missing, or the build fails, one `OpsFallbackWarning` says so, the failure is remembered
(no rebuild per call) and the ops run their PyTorch path.

Gradients flow to `x` and `bias` of `fused_bias_act` and to `x` of `upfirdn2d`, to any order (each
backward is again one of these ops). The FIR kernel of `upfirdn2d` gets no gradient: it is a fixed
buffer; `upfirdn2d.upfirdn2d` keeps a kernel that requires grad on the PyTorch path.

Environment: `CUDA_HOME`/`CUDA_PATH` (respected when set, even if wrong), `TORCH_CUDA_ARCH_LIST`
(without a GPU it defaults to `NO_GPU_ARCH_LIST`, so the build works on GPU-less CI machines),
`TORCH_EXTENSIONS_DIR`, `MAX_JOBS`, and `FEAT_SPACE_OPS_VERBOSE=1` to see the compiler's output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import torch

SOURCE_DIR = Path(__file__).parent / "cuda"
SOURCES = [SOURCE_DIR / "ops.cpp", SOURCE_DIR / "fused_bias_act.cu", SOURCE_DIR / "upfirdn2d.cu"]
NAME = "feat_space_ops"
# Targets when no GPU tells which to build for (compile checks on CI): Ampere and Hopper.
NO_GPU_ARCH_LIST = "8.0;9.0"
# No --use_fast_math: the kernels only add and multiply, and its flush-to-zero would make them
# differ from PyTorch on denormals for no speed-up.
EXTRA_CFLAGS = ["-O3"]
EXTRA_CUDA_CFLAGS = ["-O3"]


class OpsFallbackWarning(UserWarning):
    """The CUDA extension is unusable here; the slower PyTorch implementation of the ops is used."""


class ExtensionUnavailableError(RuntimeError):
    """A prerequisite of the build (a CUDA-enabled PyTorch, nvcc, ninja) is missing."""


_lock = threading.Lock()
_module: ModuleType | None = None
_failure: str | None = None  # why the build failed or cannot run, once it did
_warned = False


def available() -> bool:
    """True when CUDA is available and the extension is built (building it on the first call)."""
    return torch.cuda.is_available() and load() is not None


def load(force: bool = False) -> ModuleType | None:
    """The compiled extension, built on first use; None (after one warning) when it cannot be.

    Without `force`, nothing is built unless CUDA is available, and a failed build is not retried.
    With `force` (tests, CI), it builds even without a GPU, retries a failed build, and raises the
    build's error instead of warning, so the full compiler output is visible.
    """
    global _module, _failure
    if _module is not None:
        return _module
    with _lock:
        if _module is not None:
            return _module
        if not force:
            if _failure is None and not torch.cuda.is_available():
                return None
            if _failure is not None:
                _warn_once()
                return None
        try:
            _module = _build()
        except Exception as error:  # any build failure means: use the PyTorch path
            _failure = _describe(error)
            if force:
                raise
            _warn_once()
            return None
        _failure = None
        return _module


def failure() -> str | None:
    """Why the extension is unusable, once a build was attempted and failed; else None."""
    return _failure


def find_cuda_home() -> str | None:
    """The CUDA toolkit to build with: a directory holding bin/nvcc and include/cuda_runtime.h.

    CUDA_HOME (or CUDA_PATH) is respected when set, even when wrong. Otherwise torch's own guess is
    tried first, then /usr/local/cuda, then the toolkit of the `nvcc` on PATH. Torch's guess alone is
    not enough: from an `nvcc` wrapper script in /usr/local/bin it infers CUDA_HOME=/usr/local.
    """
    explicit = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if explicit:
        candidates = [explicit]
    else:
        candidates = [_torch_cuda_home(), "/usr/local/cuda"]
        nvcc = shutil.which("nvcc")
        if nvcc:
            candidates.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    for home in candidates:
        if home and _is_cuda_toolkit(home):
            return home
    return None


def _is_cuda_toolkit(home: str) -> bool:
    return os.path.isfile(os.path.join(home, "bin", "nvcc")) and os.path.isfile(
        os.path.join(home, "include", "cuda_runtime.h")
    )


def _torch_cuda_home() -> str | None:
    return _cpp_extension().CUDA_HOME


def _cpp_extension() -> ModuleType:
    """torch.utils.cpp_extension, imported on first need (it is slow to import).

    Its import logs its CUDA_HOME guess on GPU-less hosts ("No CUDA runtime is found, using
    CUDA_HOME='/usr/local'" here), which misleads since find_cuda_home() may choose another; hushed.
    """
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        from torch.utils import cpp_extension
    finally:
        logger.setLevel(level)
    return cpp_extension


def _describe(error: BaseException) -> str:
    if isinstance(error, ExtensionUnavailableError):
        return str(error)
    text = " ".join(str(error).split())
    if len(text) > 400:
        text = text[:400] + " ..."
    return f"building the CUDA extension failed ({type(error).__name__}: {text})"


def _warn_once() -> None:
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"feat_space.ops: {_failure}; using the slower PyTorch implementation of the ops. "
        "Run feat_space.ops.extension.load(force=True) to see the full error.",
        OpsFallbackWarning,
        stacklevel=4,
    )


def _build() -> ModuleType:
    cpp_extension = _cpp_extension()
    if torch.version.cuda is None:
        raise ExtensionUnavailableError("this PyTorch build has no CUDA support")
    missing = []
    cuda_home = find_cuda_home()
    if cuda_home is None:
        where = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
        missing.append(f"no CUDA toolkit at CUDA_HOME={where}" if where else "nvcc not found (set CUDA_HOME)")
    ninja_dir = _ninja_dir(cpp_extension)
    if ninja_dir is None:
        missing.append("ninja not found (pip install ninja)")
    if missing:
        raise ExtensionUnavailableError("; ".join(missing))
    arch_list = os.environ.get("TORCH_CUDA_ARCH_LIST") or (None if torch.cuda.is_available() else NO_GPU_ARCH_LIST)
    with _build_environment(cpp_extension, cuda_home, ninja_dir, arch_list):
        return cpp_extension.load(
            # The targets are part of the name: torch's cache key covers sources and flags, not them.
            name=f"{NAME}_{_arch_tag(arch_list)}",
            sources=[str(s) for s in SOURCES],
            extra_cflags=EXTRA_CFLAGS,
            extra_cuda_cflags=EXTRA_CUDA_CFLAGS,
            verbose=os.environ.get("FEAT_SPACE_OPS_VERBOSE") == "1",
        )


def _ninja_dir(cpp_extension: ModuleType) -> str | None:
    """'' when ninja is on PATH; the directory of the `ninja` pip package's binary; else None."""
    if cpp_extension.is_ninja_available():
        return ""
    try:  # A virtualenv's ninja is not on PATH when its python runs without activation.
        import ninja
    except ImportError:
        return None
    binary = Path(ninja.BIN_DIR) / "ninja"
    return str(binary.parent) if binary.exists() else None


def _arch_tag(arch_list: str | None) -> str:
    if arch_list is None:
        caps = sorted({torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})
        return "sm" + "_".join(f"{major}{minor}" for major, minor in caps)
    return "sm" + "_".join(re.sub(r"[^0-9a-zA-Z]", "", arch).lower() for arch in re.split(r"[;\s]+", arch_list) if arch)


@contextlib.contextmanager
def _build_environment(
    cpp_extension: ModuleType, cuda_home: str, ninja_dir: str, arch_list: str | None
) -> Iterator[None]:
    """Point torch's build at the toolkit, ninja and targets found here, for the build only."""
    saved_home = cpp_extension.CUDA_HOME
    saved_env = {key: os.environ.get(key) for key in ("TORCH_CUDA_ARCH_LIST", "PATH")}
    # torch reads CUDA_HOME from a module global set at import, not from the environment.
    cpp_extension.CUDA_HOME = cuda_home
    if arch_list is not None:
        os.environ["TORCH_CUDA_ARCH_LIST"] = arch_list
    if ninja_dir:
        os.environ["PATH"] = ninja_dir + os.pathsep + os.environ.get("PATH", "")
    try:
        yield
    finally:
        cpp_extension.CUDA_HOME = saved_home
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _ext() -> ModuleType:
    module = load()
    if module is None:
        raise RuntimeError(f"feat_space.ops CUDA extension unavailable: {_failure or 'CUDA is not available'}")
    return module


# ----------------------------------------------------------------------------------------------
# fused bias + leaky ReLU + gain


def fused_bias_act(x: torch.Tensor, bias: torch.Tensor | None, negative_slope: float, scale: float) -> torch.Tensor:
    """`leaky_relu(x + bias[dim 1], negative_slope) * scale` on CUDA; dtypes promote like `x + bias`."""
    if bias is not None and bias.dtype != x.dtype:
        dtype = torch.promote_types(x.dtype, bias.dtype)
        x, bias = x.to(dtype), bias.to(dtype)
    return _FusedBiasAct.apply(x, bias, float(negative_slope), float(scale))


class _FusedBiasAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bias, slope, scale):
        y = _ext().fused_bias_act(x, bias, slope, scale)
        # The backward needs the sign of x + bias. With slope >= 0 the output has it (scale > 0), so
        # x need not be kept alive; a negative slope flips signs, so then keep x and bias instead.
        if slope >= 0:
            ctx.save_for_backward(y, None)
        else:
            ctx.save_for_backward(x, bias)
        ctx.slope, ctx.scale = slope, scale
        return y

    @staticmethod
    def backward(ctx, grad):
        ref, ref_bias = ctx.saved_tensors
        grad_x = _FusedBiasActGrad.apply(grad, ref, ref_bias, ctx.slope, ctx.scale)
        grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_bias = grad_x.sum([d for d in range(grad_x.dim()) if d != 1])
        return grad_x, grad_bias, None, None


class _FusedBiasActGrad(torch.autograd.Function):
    """grad_x = grad * gain(ref): linear in grad, piecewise constant in ref, so its own backward
    (needed for double backward, e.g. an R1 penalty) is the same op applied to the incoming grad."""

    @staticmethod
    def forward(ctx, grad, ref, ref_bias, slope, scale):
        ctx.save_for_backward(ref, ref_bias)
        ctx.slope, ctx.scale = slope, scale
        return _ext().fused_bias_act_grad(grad, ref, ref_bias, slope, scale)

    @staticmethod
    def backward(ctx, grad_grad):
        ref, ref_bias = ctx.saved_tensors
        return _FusedBiasActGrad.apply(grad_grad, ref, ref_bias, ctx.slope, ctx.scale), None, None, None, None


# ----------------------------------------------------------------------------------------------
# upfirdn2d


def upfirdn2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    upx: int,
    upy: int,
    downx: int,
    downy: int,
    px0: int,
    px1: int,
    py0: int,
    py1: int,
) -> torch.Tensor:
    """upfirdn2d on CUDA, differentiable in `x` (not in `kernel`)."""
    return _UpFirDn2d.apply(x, kernel, (upx, upy, downx, downy, px0, px1, py0, py1))


class _UpFirDn2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel, params):
        upx, upy, downx, downy, px0, px1, py0, py1 = params
        y = _ext().upfirdn2d(x, kernel, upx, upy, downx, downy, px0, px1, py0, py1)
        ctx.save_for_backward(kernel)
        ctx.grad_params = _adjoint_params(params, kernel.shape, x.shape[2:], y.shape[2:])
        return y

    @staticmethod
    def backward(ctx, grad):
        (kernel,) = ctx.saved_tensors
        # The adjoint is upfirdn2d again (see _adjoint_params), so this backward is differentiable too.
        return _UpFirDn2d.apply(grad, torch.flip(kernel, [0, 1]), ctx.grad_params), None, None


def _adjoint_params(params, kernel_shape, in_shape, out_shape) -> tuple[int, ...]:
    """Arguments of the upfirdn2d that computes the gradient wrt x (the kernel flipped).

    Per axis, with up u, down d, pads p0, p1, K taps, input length H and output length G:
        y[n] = sum_i x[i] * k[K - 1 + n*d - p0 - i*u],
    so dL/dx[i] = sum_n g[n] * k[K - 1 + n*d - p0 - i*u] = sum_n g[n] * k'[K - 1 + i*u - p0' - n*d],
    which is upfirdn2d of g with up d, down u, the flipped kernel k'[t] = k[K - 1 - t], and
    p0' = K - 1 - p0. The trailing pad p1' = H*u - G*d + p0 - u + 1 makes its output exactly H long:
    (G*d + p0' + p1' - K) // u + 1 = (H*u - u) // u + 1 = H. Samples it crops never reach x.
    """
    upx, upy, downx, downy, px0, _, py0, _ = params
    kh, kw = kernel_shape
    h, w = in_shape
    oh, ow = out_shape
    return (
        downx, downy, upx, upy,
        kw - 1 - px0, w * upx - ow * downx + px0 - upx + 1,
        kh - 1 - py0, h * upy - oh * downy + py0 - upy + 1,
    )  # fmt: skip
