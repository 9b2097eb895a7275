"""The CUDA checks: the environment (torch, CUDA, the GPU, a matmul rate) and StyleGAN2's CUDA kernels
against their PyTorch paths and reference definitions (forward, gradients, a second-order gradient; fp32
and fp16; NCHW and channels-last), and that the public ops dispatch to them.

Shared by `feat-space doctor` (on a CUDA device) and `benchmarks/gpu_check.py` (which adds the session
paths and the timings). Each check takes the device and returns its metrics, raises `Skipped` saying
why it cannot run here, or raises on a failure. On the CPU the kernels are stood in by their PyTorch
definitions behind the ops' own autograd functions (`extension.substitute`), so the checks still run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Iterator
from typing import Any

import torch

from ..ops import extension, fused_leaky_relu, fused_leaky_relu_reference, upfirdn2d
from ..ops.fused_act import fused_bias_act_cuda
from ..ops.stand_in import UPFIRDN2D_CASES as UPFIRDN_CASES
from ..ops.stand_in import TorchKernels
from ..ops.upfirdn2d import upfirdn2d_cuda, upfirdn2d_params, upfirdn2d_reference

# (shape, channels_last, with_bias, slope)
FUSED_CASES = [
    ((4, 8), False, True, 0.2),
    ((2, 3, 5, 7), False, True, 0.2),
    ((2, 3, 5, 7), True, True, 0.2),
    ((2, 4, 6), False, True, 0.0),
    ((2, 3, 5, 7), False, False, 0.2),
    ((3, 5, 4, 4), False, True, -0.5),
]
# dtype -> error bound relative to the largest value compared (None: torch's default tolerances)
OPS_DTYPES = {torch.float32: None, torch.float16: 1e-2}


class Skipped(Exception):
    """A check that cannot run here (the reason is recorded)."""


def short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def full_fp32() -> Iterator[None]:
    """TF32 off for the comparisons (torch lets cuDNN convolutions use it by default)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@contextlib.contextmanager
def torch_ops_path() -> Iterator[None]:
    """Make the public ops take their PyTorch path even for CUDA tensors."""
    saved = extension.available
    extension.available = lambda: False
    try:
        yield
    finally:
        extension.available = saved


def check_environment(device: torch.device) -> dict[str, Any]:
    m: dict[str, Any] = {
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cuda_toolkit": extension.find_cuda_home(),
        "tf32_defaults": {
            "cudnn": torch.backends.cudnn.allow_tf32,
            "matmul": torch.backends.cuda.matmul.allow_tf32,
        },
    }
    try:
        import spaces  # noqa: F401

        m["spaces_importable"] = True
    except ImportError:
        m["spaces_importable"] = False
    n = 4096 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    sync(device)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        sync(device)
        times.append(time.perf_counter() - start)
    m[f"matmul_{n}_fp32_gflops"] = round(2 * n**3 / statistics.median(times) / 1e9, 1)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        m.update(
            gpu=props.name,
            capability=f"{props.major}.{props.minor}",
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            note=props.name,
        )
    else:
        m["note"] = "dry run on the CPU"
    return m


def stand_in_kernels() -> contextlib.AbstractContextManager:
    return extension.substitute(TorchKernels())


def kernels(device: torch.device) -> contextlib.AbstractContextManager:
    """The compiled kernels on CUDA; their PyTorch stand-ins in a dry run."""
    return contextlib.nullcontext() if device.type == "cuda" else stand_in_kernels()


def random_tensor(shape, seed, dtype=torch.float64, device="cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def forward_and_grads(fn, inputs, seed=99):
    """fn(*inputs), the gradients of <fn, g> wrt the inputs, and an R1-like second-order gradient."""
    inputs = [t.detach().requires_grad_(True) if t is not None else None for t in inputs]
    out = fn(*inputs)
    g = random_tensor(out.shape, seed, out.dtype, out.device)
    grads = torch.autograd.grad(out, [t for t in inputs if t is not None], g)
    w = random_tensor(out.shape, seed + 1, out.dtype, out.device).requires_grad_(True)
    (grad_x,) = torch.autograd.grad((fn(*inputs) * w).sum(), inputs[0], create_graph=True)
    (second,) = torch.autograd.grad(grad_x.square().sum(), w)
    return [out, *grads, second]


def compare(a: list[torch.Tensor], b: list[torch.Tensor], relative_to_max: float | None) -> float:
    """Max abs error over outputs, gradients and the second order; raises if beyond tolerance."""
    assert len(a) == len(b), f"{len(a)} tensors against {len(b)}"
    worst = 0.0
    for ta, tb in zip(a, b, strict=True):
        assert ta.shape == tb.shape and ta.dtype == tb.dtype, f"{ta.shape}/{ta.dtype} vs {tb.shape}/{tb.dtype}"
        worst = max(worst, (ta.double() - tb.double()).abs().max().item())
        if relative_to_max is None:
            torch.testing.assert_close(ta, tb)
        else:
            atol = relative_to_max * tb.abs().max().item()
            torch.testing.assert_close(ta.double(), tb.double(), rtol=0, atol=atol)
    return worst


def _cases_result(errors: dict[str, tuple[float, float]], failures: list[str], n: int, what: str) -> dict[str, Any]:
    """Metrics of a case table: errors[case] = (vs the PyTorch path, vs the reference definition)."""
    metrics = {
        "cases": n,
        "max_err": max((e[0] for e in errors.values()), default=0.0),
        "max_err_vs_reference": max((e[1] for e in errors.values()), default=0.0),
        "errors": errors,
    }
    if failures:
        raise AssertionError(f"{len(failures)}/{n} {what} cases differ: " + "; ".join(failures))
    return metrics


def check_extension(device: torch.device) -> dict[str, Any]:
    if device.type != "cuda":
        raise Skipped(
            "no CUDA: the kernels are not built in a dry run (CI compiles them with nvcc separately); "
            "the ops checks below drive the ops' CUDA autograd functions with PyTorch stand-in kernels"
        )
    start = time.perf_counter()
    module = extension.load(force=True)  # raises with the compiler's output if the build fails
    seconds = time.perf_counter() - start
    assert module is not None and extension.available(), "the extension built but available() is False"
    return {"build_or_load_s": round(seconds, 1), "module": module.__name__, "file": getattr(module, "__file__", None)}


def check_upfirdn2d(device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    errors: dict[str, tuple[float, float]] = {}
    failures: list[str] = []
    with kernels(device):
        for name, (up, down, pad, kernel_shape) in UPFIRDN_CASES.items():
            for channels_last in (False, True):
                case = f"{name}/{'channels_last' if channels_last else 'nchw'}"
                try:
                    params = upfirdn2d_params(up, down, pad)
                    x = layout(random_tensor((2, 3, 11, 9), 0, dtype, device), channels_last)
                    kernel = random_tensor(kernel_shape, 1, torch.float32, device)
                    fast = forward_and_grads(lambda t, k=kernel, p=params: upfirdn2d_cuda(t, k, *p), [x])
                    with torch_ops_path():
                        ref = forward_and_grads(
                            lambda t, k=kernel, u=up, d=down, p=pad: upfirdn2d(t, k, up=u, down=d, pad=p), [x]
                        )
                    reference = forward_and_grads(
                        lambda t, k=kernel, u=up, d=down, p=pad: upfirdn2d_reference(t, k, up=u, down=d, pad=p), [x]
                    )
                    tol = OPS_DTYPES[dtype]
                    errors[case] = (compare(fast, ref, tol), compare(fast, reference, tol))
                    if device.type == "cuda":  # the compiled kernel keeps the layout (the stand-in need not)
                        fmt = torch.channels_last if channels_last else torch.contiguous_format
                        assert fast[0].is_contiguous(memory_format=fmt), "output memory format not kept"
                except Exception as e:
                    failures.append(f"{case}: {type(e).__name__}: {short(str(e), 160)}")
    return _cases_result(errors, failures, 2 * len(UPFIRDN_CASES), "upfirdn2d")


def check_fused_bias_act(device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    errors: dict[str, tuple[float, float]] = {}
    failures: list[str] = []
    with kernels(device):
        for shape, channels_last, with_bias, slope in FUSED_CASES:
            case = f"{'x'.join(map(str, shape))}/{'cl' if channels_last else 'nchw'}/bias={with_bias}/slope={slope}"
            try:
                x = random_tensor(shape, 5, torch.float64, device)
                full_bias = random_tensor(shape[1], 6, torch.float64, device)
                # Away from the kink at 0, where rounding could pick different slopes in half precision.
                pre = x + (full_bias.view(1, -1, *[1] * (x.dim() - 2)) if with_bias else 0)
                x = layout((x + 0.05 * torch.sign(pre)).to(dtype), channels_last)
                bias = full_bias.to(dtype) if with_bias else None
                fast = forward_and_grads(lambda t, b=None, s=slope: fused_bias_act_cuda(t, b, s, 2**0.5), [x, bias])
                with torch_ops_path():
                    fn = fused_leaky_relu if slope >= 0 else fused_leaky_relu_reference
                    ref = forward_and_grads(lambda t, b=None, s=slope, f=fn: f(t, b, s, 2**0.5), [x, bias])
                reference = forward_and_grads(
                    lambda t, b=None, s=slope: fused_leaky_relu_reference(t, b, s, 2**0.5), [x, bias]
                )
                tol = OPS_DTYPES[dtype]
                errors[case] = (compare(fast, ref, tol), compare(fast, reference, tol))
            except Exception as e:
                failures.append(f"{case}: {type(e).__name__}: {short(str(e), 160)}")
    return _cases_result(errors, failures, len(FUSED_CASES), "fused_bias_act")


def check_dispatch(device: torch.device) -> dict[str, Any]:
    """The public ops pick the kernels for CUDA tensors; bf16 and mixed dtypes work there too."""
    if device.type != "cuda":
        raise Skipped("no CUDA: on the CPU the public ops take their PyTorch path by design")
    dev = device
    calls: list[str] = []
    module = extension.kernels()  # built by the first ops check; raises saying why when it is not

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(module, name)

    x = random_tensor((2, 8, 16, 16), 7, torch.float16, dev)
    bias = random_tensor(8, 9, torch.float32, dev)
    k1 = torch.tensor([1.0, 3.0, 3.0, 1.0], device=dev)
    kernel = k1.outer(k1)
    kernel = kernel / kernel.sum() * 4  # Upsample's kernel (gain 4), as tests/test_ops.py
    with extension.substitute(Spy()):
        out = fused_leaky_relu(x, bias)
        up = upfirdn2d(x.bfloat16(), kernel, up=2, pad=(2, 1))
        out_bf16 = fused_leaky_relu(x.bfloat16(), bias.bfloat16())
    assert {"fused_bias_act", "upfirdn2d"} <= set(calls), f"kernels called: {calls}"
    expected = fused_leaky_relu_reference(x, bias)
    assert out.dtype == expected.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(
        up.float(), upfirdn2d_reference(x.float(), kernel, up=2, pad=(2, 1)), atol=3e-2, rtol=2e-2
    )
    torch.testing.assert_close(out_bf16.float(), fused_leaky_relu_reference(x.float(), bias), atol=5e-2, rtol=2e-2)
    return {"kernels_called": sorted(set(calls))}


__all__ = [
    "FUSED_CASES",
    "OPS_DTYPES",
    "UPFIRDN_CASES",
    "Skipped",
    "check_dispatch",
    "check_environment",
    "check_extension",
    "check_fused_bias_act",
    "check_upfirdn2d",
    "compare",
    "forward_and_grads",
    "full_fp32",
    "kernels",
    "layout",
    "random_tensor",
    "short",
    "stand_in_kernels",
    "sync",
    "torch_ops_path",
]
