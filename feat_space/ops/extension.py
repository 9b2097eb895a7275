"""Building and loading the CUDA kernels of `feat_space.ops`: JIT-compiled on first CUDA use.

`available()` is what the ops consult: True only with a CUDA device and an extension that built. The
first call on a CUDA machine compiles `cuda/*.cu` and `cuda/ops.cpp` with
`torch.utils.cpp_extension.load` (ninja + nvcc); torch caches the result under `TORCH_EXTENSIONS_DIR`
(default `~/.cache/torch_extensions`), so later processes only load it. When nvcc, CUDA_HOME or
ninja is missing, or the build fails, one `OpsFallbackWarning` says so, the failure is remembered
(no rebuild per call) and the ops run their PyTorch path.

Only the build lives here (as in StyleGAN3's `custom_ops`); each op's autograd function sits beside
the op (`fused_act.py`, `upfirdn2d.py`) and calls the compiled functions through `kernels()`.

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
from typing import Any

import torch

from .. import env

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
    candidates: list[str | None]
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
    ninja_dir = find_ninja_dir(cpp_extension)
    if ninja_dir is None:
        missing.append("ninja not found (pip install ninja)")
    if missing or cuda_home is None or ninja_dir is None:
        raise ExtensionUnavailableError("; ".join(missing))
    arch_list = os.environ.get("TORCH_CUDA_ARCH_LIST") or (None if torch.cuda.is_available() else NO_GPU_ARCH_LIST)
    with build_environment(cpp_extension, cuda_home, ninja_dir, arch_list):
        return cpp_extension.load(
            # The targets are part of the name: torch's cache key covers sources and flags, not them.
            name=f"{NAME}_{arch_tag(arch_list)}",
            sources=[str(s) for s in SOURCES],
            extra_cflags=EXTRA_CFLAGS,
            extra_cuda_cflags=EXTRA_CUDA_CFLAGS,
            verbose=env.OPS_VERBOSE.get() == "1",
        )


def find_ninja_dir(cpp_extension: ModuleType) -> str | None:
    """'' when ninja is on PATH; the directory of the `ninja` pip package's binary; else None."""
    if cpp_extension.is_ninja_available():
        return ""
    try:  # A virtualenv's ninja is not on PATH when its python runs without activation.
        import ninja
    except ImportError:
        return None
    binary = Path(ninja.BIN_DIR) / "ninja"
    return str(binary.parent) if binary.exists() else None


def arch_tag(arch_list: str | None) -> str:
    """The build targets as a name suffix, e.g. sm80_90 (from TORCH_CUDA_ARCH_LIST, else the GPUs here)."""
    if arch_list is None:
        caps = sorted({torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})
        return "sm" + "_".join(f"{major}{minor}" for major, minor in caps)
    return "sm" + "_".join(re.sub(r"[^0-9a-zA-Z]", "", arch).lower() for arch in re.split(r"[;\s]+", arch_list) if arch)


@contextlib.contextmanager
def build_environment(cpp_extension: Any, cuda_home: str, ninja_dir: str, arch_list: str | None) -> Iterator[None]:
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


def kernels() -> ModuleType:
    """The compiled functions (`fused_bias_act`, `fused_bias_act_grad`, `upfirdn2d`); raises when unavailable."""
    module = load()
    if module is None:
        raise RuntimeError(f"feat_space.ops CUDA extension unavailable: {_failure or 'CUDA is not available'}")
    return module


def reset() -> None:
    """Forget the build, its failure and its warning, as in a fresh process (the next use builds again,
    or loads torch's cached build)."""
    global _module, _failure, _warned
    with _lock:
        _module, _failure, _warned = None, None, False


@contextlib.contextmanager
def substitute(module: object) -> Iterator[None]:
    """Use `module` (anything with the compiled functions) as the extension inside the block: the
    autograd wrappers can then be checked against PyTorch stand-ins on machines without CUDA."""
    global _module
    with _lock:
        saved, _module = _module, module  # type: ignore[assignment]
    try:
        yield
    finally:
        with _lock:
            _module = saved
