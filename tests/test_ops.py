"""feat_space.ops: the PyTorch paths against direct definitions (everywhere), the CUDA kernels against
the PyTorch paths (where CUDA exists), the extension's build (where nvcc exists), and the fallback."""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings

import pytest
import torch

from feat_space.checks.cuda_ops import FUSED_CASES, compare
from feat_space.checks.cuda_ops import forward_and_grads as _forward_and_grads
from feat_space.checks.cuda_ops import layout as _layout
from feat_space.checks.cuda_ops import random_tensor as _random
from feat_space.ops import extension, fused_leaky_relu, fused_leaky_relu_reference, upfirdn2d, upfirdn2d_reference
from feat_space.ops.fused_act import fused_bias_act_cuda
from feat_space.ops.stand_in import UPFIRDN2D_CASES as UPFIRDN_CASES
from feat_space.ops.stand_in import TorchKernels
from feat_space.ops.upfirdn2d import _upfirdn2d_torch, adjoint_params, upfirdn2d_cuda, upfirdn2d_params

HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device: the CUDA kernels cannot run here")


def _assert_all_close(a, b, relative_to_max=None):
    """Default tolerances; or, for half precision, errors up to `relative_to_max` * max |b|."""
    compare(a, b, relative_to_max)


# ----------------------------------------------------------------------------------------------
# The reference definitions, pinned by hand-computed cases


@pytest.mark.parametrize("fn", [upfirdn2d_reference, upfirdn2d], ids=["reference", "upfirdn2d"])
@pytest.mark.parametrize(
    "x, kernel, up, down, pad, expected",
    [
        # A true convolution reproduces the kernel from an impulse in order (correlation reverses it).
        ([0, 0, 1, 0, 0], [1, 2, 3], 1, 1, (1, 1, 0, 0), [0, 1, 2, 3, 0]),
        # Zero insertion + box filter = nearest-neighbour upsampling.
        ([1, 10], [1, 1], 2, 1, (1, 0, 0, 0), [1, 1, 10, 10]),
        # Downsampling keeps every down-th sample starting at 0.
        ([1, 2, 3, 4, 5], [1], 1, 2, 0, [1, 3, 5]),
        # Negative padding crops.
        ([1, 2, 3, 4, 5], [1], 1, 1, (-1, -2, 0, 0), [2, 3]),
        # Up, filter, down: [1, 0, 2, 0, 3, 0] * [1, 1, 1] -> [3, 2, 5, 3], every 2nd from 0 -> [3, 5].
        ([1, 2, 3], [1, 1, 1], 2, 2, 0, [3, 5]),
    ],
)
def test_upfirdn2d_hand_computed(fn, x, kernel, up, down, pad, expected):
    x = torch.tensor(x, dtype=torch.float64).view(1, 1, 1, -1)
    kernel = torch.tensor(kernel, dtype=torch.float64).view(1, -1)
    expected = torch.tensor(expected, dtype=torch.float64).view(1, 1, 1, -1)
    torch.testing.assert_close(fn(x, kernel, up=(up, 1), down=(down, 1), pad=pad), expected)
    # The same along y: the kernel transposed, the pads of x moved to y.
    px0, px1 = upfirdn2d_params(pad=pad)[4:6]
    out_y = fn(x.transpose(2, 3), kernel.t(), up=(1, up), down=(1, down), pad=(0, 0, px0, px1))
    torch.testing.assert_close(out_y, expected.transpose(2, 3))


@pytest.mark.parametrize("fn", [fused_leaky_relu_reference, fused_leaky_relu], ids=["reference", "fused"])
def test_fused_leaky_relu_hand_computed(fn):
    x = torch.tensor([[-1.0, 2.0], [1.0, 4.0]], dtype=torch.float64)
    bias = torch.tensor([0.5, -3.0], dtype=torch.float64)
    # x + bias = [[-0.5, -1], [1.5, 1]]; negatives times 0.2, then everything times 2.
    expected = torch.tensor([[-0.2, -0.4], [3.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(fn(x, bias, 0.2, 2.0), expected)


# ----------------------------------------------------------------------------------------------
# The PyTorch paths against the reference definitions (CPU, everywhere)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("case", UPFIRDN_CASES.values(), ids=UPFIRDN_CASES.keys())
def test_upfirdn2d_torch_path_matches_reference(case, channels_last):
    up, down, pad, kernel_shape = case
    x = _layout(_random((2, 3, 7, 5), 0), channels_last)
    kernel = _random(kernel_shape, 1)  # not symmetric: a missing flip shows
    fast = _forward_and_grads(lambda t: upfirdn2d(t, kernel, up=up, down=down, pad=pad), [x])
    ref = _forward_and_grads(lambda t: upfirdn2d_reference(t, kernel, up=up, down=down, pad=pad), [x])
    _assert_all_close(fast, ref)


@pytest.mark.parametrize("case", UPFIRDN_CASES.values(), ids=UPFIRDN_CASES.keys())
@pytest.mark.parametrize("shape", [(2, 3, 7, 5), (1, 2, 6, 9)], ids=["7x5", "6x9"])
def test_upfirdn2d_adjoint_is_upfirdn2d(case, shape):
    """The CUDA backward's derivation, checked on the PyTorch path: the gradient wrt x is upfirdn2d of
    the output gradient with up/down swapped, the kernel flipped and the pads of adjoint_params."""
    up, down, pad, kernel_shape = case
    params = upfirdn2d_params(up, down, pad)
    x = _random(shape, 2).requires_grad_(True)
    kernel = _random(kernel_shape, 3)
    y = upfirdn2d_reference(x, kernel, up=up, down=down, pad=pad)
    g = _random(y.shape, 4)
    (expected,) = torch.autograd.grad(y, x, g)
    adjoint = adjoint_params(params, kernel.shape, x.shape[2:], y.shape[2:])
    grad_x = _upfirdn2d_torch(g, torch.flip(kernel, [0, 1]), *adjoint)
    torch.testing.assert_close(grad_x, expected)
    # The adjoint of the adjoint is the op itself (the trailing pads may differ by unused samples).
    again = adjoint_params(adjoint, kernel.shape, g.shape[2:], grad_x.shape[2:])
    assert again[:5] == params[:5] and again[6] == params[6]
    torch.testing.assert_close(_upfirdn2d_torch(x, kernel, *again), y)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "shape, channels_last, with_bias, slope",
    [
        ((4, 8), False, True, 0.2),  # after a linear layer
        ((2, 3, 5, 7), False, True, 0.2),
        ((2, 3, 5, 7), True, True, 0.2),
        ((2, 4, 6), False, True, 0.0),
        ((2, 3, 5, 7), False, False, 0.2),
        ((3, 5, 4, 4), False, True, -0.5),  # the in-place path must not be used here
    ],
)
def test_fused_leaky_relu_torch_path_matches_reference(shape, channels_last, with_bias, slope, dtype):
    x = _layout(_random(shape, 5, dtype), channels_last)
    bias = _random(shape[1], 6, dtype) if with_bias else None
    fast = _forward_and_grads(lambda t, b=None: fused_leaky_relu(t, b, slope, 2**0.5), [x, bias])
    ref = _forward_and_grads(lambda t, b=None: fused_leaky_relu_reference(t, b, slope, 2**0.5), [x, bias])
    _assert_all_close(fast, ref)


# ----------------------------------------------------------------------------------------------
# The autograd wiring of the CUDA path, with the kernels stood in by PyTorch (everywhere)


@pytest.fixture
def torch_kernels():
    with extension.substitute(TorchKernels()):
        yield


@pytest.mark.parametrize("case", UPFIRDN_CASES.values(), ids=UPFIRDN_CASES.keys())
def test_upfirdn2d_autograd_wiring(torch_kernels, case):
    up, down, pad, kernel_shape = case
    params = upfirdn2d_params(up, down, pad)
    x = _random((2, 3, 7, 5), 11)
    kernel = _random(kernel_shape, 12)
    wired = _forward_and_grads(lambda t: upfirdn2d_cuda(t, kernel, *params), [x])
    ref = _forward_and_grads(lambda t: upfirdn2d_reference(t, kernel, up=up, down=down, pad=pad), [x])
    _assert_all_close(wired, ref)


@pytest.mark.parametrize("slope", [0.2, 0.0, -0.5])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
def test_fused_bias_act_autograd_wiring(torch_kernels, slope, with_bias):
    x = _random((2, 3, 5, 4), 13)
    bias = _random(3, 14) if with_bias else None
    wired = _forward_and_grads(lambda t, b=None: fused_bias_act_cuda(t, b, slope, 2**0.5), [x, bias])
    ref = _forward_and_grads(lambda t, b=None: fused_leaky_relu_reference(t, b, slope, 2**0.5), [x, bias])
    _assert_all_close(wired, ref)
    # Mixed dtypes promote like `x + bias` does.
    if with_bias:
        out = fused_bias_act_cuda(x.float(), bias, slope, 2.0)
        assert out.dtype == fused_leaky_relu_reference(x.float(), bias, slope, 2.0).dtype == torch.float64


# ----------------------------------------------------------------------------------------------
# The CUDA kernels against the PyTorch paths (where CUDA exists)


@pytest.fixture(scope="module")
def cuda_ext():
    # Raises (and fails the test) if the build fails: a broken kernel must not hide behind the fallback.
    return extension.load(force=True)


# dtype -> error bound relative to the largest value compared (None: torch's default tolerances).
CUDA_DTYPES = {torch.float32: None, torch.float16: 1e-2}


@needs_cuda
@pytest.mark.parametrize("dtype", CUDA_DTYPES.keys(), ids=["fp32", "fp16"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("case", UPFIRDN_CASES.values(), ids=UPFIRDN_CASES.keys())
def test_upfirdn2d_cuda_matches_torch(cuda_ext, monkeypatch, case, channels_last, dtype):
    up, down, pad, kernel_shape = case
    params = upfirdn2d_params(up, down, pad)
    x = _layout(_random((2, 3, 11, 9), 0, dtype, "cuda"), channels_last)
    kernel = _random(kernel_shape, 1, torch.float32, "cuda")
    assert extension.available()
    cuda = _forward_and_grads(lambda t: upfirdn2d_cuda(t, kernel, *params), [x])
    with monkeypatch.context() as patch:
        patch.setattr(extension, "available", lambda: False)  # the public op's PyTorch path, on CUDA
        torch_path = _forward_and_grads(lambda t: upfirdn2d(t, kernel, up=up, down=down, pad=pad), [x])
    _assert_all_close(cuda, torch_path, CUDA_DTYPES[dtype])
    assert cuda[0].is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


@needs_cuda
def test_upfirdn2d_cuda_bfloat16_and_dispatch(cuda_ext):
    x = _random((2, 4, 16, 16), 7, torch.bfloat16, "cuda")
    kernel = torch.tensor([1.0, 3.0, 3.0, 1.0], device="cuda").outer(torch.tensor([1.0, 3.0, 3.0, 1.0], device="cuda"))
    kernel = kernel / kernel.sum()
    out = upfirdn2d(x, kernel * 4, up=2, pad=(2, 1))  # the public op picks the CUDA kernel here
    expected = upfirdn2d_reference(x.float(), kernel * 4, up=2, pad=(2, 1))
    torch.testing.assert_close(out.float(), expected, atol=3e-2, rtol=2e-2)


@needs_cuda
@pytest.mark.parametrize("dtype", CUDA_DTYPES.keys(), ids=["fp32", "fp16"])
@pytest.mark.parametrize(
    "shape, channels_last, with_bias, slope",
    FUSED_CASES,  # the doctor's and gpu_check's cases too
)
def test_fused_leaky_relu_cuda_matches_torch(cuda_ext, monkeypatch, shape, channels_last, with_bias, slope, dtype):
    x = _random(shape, 5, torch.float64, "cuda")
    bias = _random(shape[1], 6, torch.float64, "cuda") if with_bias else None
    # Keep x + bias away from the kink at 0, where rounding differences between the paths (in half
    # precision) could pick different slopes.
    pre = x + (bias.view(1, -1, *[1] * (x.dim() - 2)) if with_bias else 0)
    x = _layout((x + 0.05 * torch.sign(pre)).to(dtype), channels_last)
    bias = bias.to(dtype) if with_bias else None
    cuda = _forward_and_grads(lambda t, b=None: fused_bias_act_cuda(t, b, slope, 2**0.5), [x, bias])
    with monkeypatch.context() as patch:
        patch.setattr(extension, "available", lambda: False)  # the public op's PyTorch path, on CUDA
        # The reference where the PyTorch path cannot backpropagate (negative slopes, see above).
        fn = fused_leaky_relu if slope >= 0 else fused_leaky_relu_reference
        torch_path = _forward_and_grads(lambda t, b=None: fn(t, b, slope, 2**0.5), [x, bias])
    _assert_all_close(cuda, torch_path, CUDA_DTYPES[dtype])


@needs_cuda
def test_fused_leaky_relu_cuda_mixed_dtypes_and_dispatch(cuda_ext):
    x = _random((2, 8, 4, 4), 8, torch.float16, "cuda")
    bias = _random(8, 9, torch.float32, "cuda")
    out = fused_leaky_relu(x, bias)  # the public op picks the CUDA kernel here
    expected = fused_leaky_relu_reference(x, bias)
    assert out.dtype == expected.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    out_bf16 = fused_leaky_relu(x.bfloat16(), bias.bfloat16())
    torch.testing.assert_close(out_bf16.float(), fused_leaky_relu_reference(x.float(), bias), atol=5e-2, rtol=2e-2)


# ----------------------------------------------------------------------------------------------
# The build (where nvcc exists, GPU or not)


@pytest.mark.skipif(extension.find_cuda_home() is None, reason="no CUDA toolkit (nvcc) found")
@pytest.mark.skipif(torch.version.cuda is None, reason="this PyTorch build has no CUDA support")
def test_extension_compiles_and_loads():
    """Builds the kernels (cached by torch in TORCH_EXTENSIONS_DIR, so only the first run compiles)."""
    start = time.perf_counter()
    module = extension.load(force=True)
    elapsed = time.perf_counter() - start
    print(f"extension {module.__name__} built or loaded in {elapsed:.1f} s from {module.__file__}")
    for name in ("fused_bias_act", "fused_bias_act_grad", "upfirdn2d"):
        assert callable(getattr(module, name))
    assert extension.available() == HAS_CUDA
    # The bindings parse their arguments (None for no bias included) and check the device.
    with pytest.raises(RuntimeError, match="CUDA tensor"):
        module.fused_bias_act(torch.ones(2, 3), None, 0.2, 1.0)
    with pytest.raises(RuntimeError, match="CUDA tensor"):
        module.fused_bias_act_grad(torch.ones(2, 3), torch.ones(2, 3), torch.ones(3), 0.2, 1.0)
    with pytest.raises(RuntimeError, match="CUDA tensor"):
        module.upfirdn2d(torch.ones(1, 1, 4, 4), torch.ones(2, 2), 2, 2, 1, 1, 1, 0, 1, 0)


# ----------------------------------------------------------------------------------------------
# The fallback


@pytest.fixture
def fresh_extension():
    """The extension's state as before any build attempt, and again afterwards (no faked failure stays)."""
    extension.reset()
    yield extension
    extension.reset()


def _fallback_warnings(records):
    return [r for r in records if issubclass(r.category, extension.OpsFallbackWarning)]


def _build_must_not_run(*args, **kwargs):
    raise AssertionError("the extension must not be built here")


def test_without_cuda_nothing_is_built_and_ops_work(fresh_extension, monkeypatch):
    from torch.utils import cpp_extension

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(cpp_extension, "load", _build_must_not_run)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        assert not extension.available()
        assert extension.load() is None
        x = _random((1, 2, 4, 4), 10)
        upfirdn2d(x, torch.ones(2, 2), up=2, pad=(1, 0))
        fused_leaky_relu(x, torch.zeros(2, dtype=torch.float64))
    assert not _fallback_warnings(records)


def test_failed_build_warns_once_and_falls_back(fresh_extension, monkeypatch):
    from torch.utils import cpp_extension

    calls = []

    def failing_load(*args, **kwargs):
        calls.append(kwargs.get("name"))
        raise RuntimeError("Error building extension: nvcc fell over")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(extension, "find_cuda_home", lambda: "/opt/fake-cuda")
    monkeypatch.setattr(extension, "find_ninja_dir", lambda cpp_extension: "")
    monkeypatch.setattr(cpp_extension, "load", failing_load)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=extension.available) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not any(extension.available() for _ in range(3))
        assert extension.load() is None
    fallback = _fallback_warnings(records)
    assert len(fallback) == 1, [str(r.message) for r in fallback]
    message = str(fallback[0].message)
    assert "nvcc fell over" in message and "PyTorch" in message
    assert len(calls) == 1  # the failure is remembered, not retried per call
    # A forced build retries and raises the real error.
    with pytest.raises(RuntimeError, match="nvcc fell over"):
        extension.load(force=True)


def test_bogus_cuda_home_warns_once(fresh_extension, monkeypatch):
    from torch.utils import cpp_extension

    monkeypatch.setenv("CUDA_HOME", "/nonexistent/cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(cpp_extension, "load", _build_must_not_run)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        assert not any(extension.available() for _ in range(3))
    fallback = _fallback_warnings(records)
    assert len(fallback) == 1
    assert "CUDA_HOME=/nonexistent/cuda" in str(fallback[0].message)
    with pytest.raises(extension.ExtensionUnavailableError, match="CUDA_HOME"):
        extension.load(force=True)


def test_missing_ninja_warns_once(fresh_extension, monkeypatch):
    from torch.utils import cpp_extension

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(cpp_extension, "is_ninja_available", lambda: False)
    monkeypatch.setitem(sys.modules, "ninja", None)  # `import ninja` raises ImportError
    monkeypatch.setattr(cpp_extension, "load", _build_must_not_run)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        assert not any(extension.available() for _ in range(3))
    fallback = _fallback_warnings(records)
    assert len(fallback) == 1 and "ninja" in str(fallback[0].message)


def test_build_environment_is_restored(monkeypatch):
    """The build points torch at the toolkit and targets found here, and undoes it afterwards."""
    from torch.utils import cpp_extension

    monkeypatch.delenv("TORCH_CUDA_ARCH_LIST", raising=False)
    before_home, before_path = cpp_extension.CUDA_HOME, os.environ.get("PATH")
    with extension.build_environment(cpp_extension, "/opt/cuda-x", "/opt/ninja-bin", "8.0;9.0"):
        assert cpp_extension.CUDA_HOME == "/opt/cuda-x"
        assert os.environ["TORCH_CUDA_ARCH_LIST"] == "8.0;9.0"
        assert os.environ["PATH"].startswith("/opt/ninja-bin")
    assert (cpp_extension.CUDA_HOME, os.environ.get("PATH")) == (before_home, before_path)
    assert "TORCH_CUDA_ARCH_LIST" not in os.environ
    assert extension.arch_tag("8.0;9.0+PTX") == "sm80_90ptx"
